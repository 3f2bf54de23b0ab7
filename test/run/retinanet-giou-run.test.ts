// `alignc run` of a RetinaNet fine-tuning stage written with the GIoU form: pipelines/
// bccd-finetune-only.align with its L1 term replaced, as it is read, by
// `giou_loss(decode_deltas(out.anchors, out.deltas), m.targets, f32(m.positive),
// avg: m.num_positive), weight: 2.0` (mmdet reg_decoded_bbox + GIoULoss(loss_weight=2.0)), shrunk
// with --set overrides (a few BCCD images at 96×64, two steps) and run on the CPU reference: the
// run completes, both terms are logged under the plan's names and are finite, the GIoU term is in
// its range (2 × (1 − GIoU) ∈ [0, 4]) and the checkpoint records the regression form, so a resume
// with the L1 form would be refused; opt-in, the WebGPU executor's first step gives the CPU
// reference's terms. The numbers themselves are checked against mmdetection in
// retinanet-giou-loss.test.ts.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkFilesOrThrow } from '../../compiler/check/index.js';
import { readFromDisk } from '../../compiler/check/modules.js';
import { planProgram } from '../../compiler/lower/plan.js';
import { readRunLog } from '../../runtime/io/run-log-reader.js';
import { packageRoot } from '../../runtime/package-root.js';
import { runPipeline } from '../../runtime/run/executor.js';
import { applyOverrides } from '../../runtime/run/overrides.js';
import { cpuReferenceBackend, type Backend } from '../../runtime/tensor/backend.js';
import { listCheckpoints } from '../../runtime/train/checkpoint.js';

const root = packageRoot();
mkdirSync(join(root, '.cache'), { recursive: true });
const tmp = mkdtempSync(join(root, '.cache', 'run-giou-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const L1 = `loss reg = l1(
    out.deltas,
    encode_deltas(out.anchors, m.targets),
    f32(m.positive),
    avg: m.num_positive,
  ), weight: 1.0`;
const GIOU = `loss reg = giou_loss(
    decode_deltas(out.anchors, out.deltas),
    m.targets,
    f32(m.positive),
    avg: m.num_positive,
  ), weight: 2.0`;
const TINY = [
  'cells.fraction=2%',
  'cells_val.fraction=4%',
  'train_view.resize.short=[64]',
  'train_view.resize.max=96',
  'finetune.train.length=2iters',
];

/** Runs the edited pipeline's fine-tuning stage for two steps on `backend`; its run directory. */
async function runTiny(backend: Backend, backendName: string): Promise<string> {
  const path = join(root, 'pipelines', 'bccd-finetune-only.align');
  const original = readFromDisk(path) ?? '';
  expect(original).toContain(L1);
  const edited = original.replace(L1, GIOU);
  const file = relative(process.cwd(), path);
  const plan = applyOverrides(
    planProgram(checkFilesOrThrow([file], (p) => (p === path ? edited : readFromDisk(p)))),
    TINY,
  );
  const runDir = join(tmp, backendName);
  const outcome = await runPipeline({
    plan,
    pipelineText: edited,
    runDir,
    seed: 1,
    command: ['alignc', 'run', file, ...TINY.flatMap((s) => ['--set', s])],
    backend,
    backendName,
    out: () => undefined,
    progressSink: { write: () => true },
    handleSignals: false,
    quiet: true,
  });
  if (outcome.error !== undefined) throw outcome.error;
  expect(outcome.exitCode).toBe(0);
  return runDir;
}

describe('alignc run, RetinaNet fine-tuning with focal + GIoU', () => {
  it('runs two steps and logs finite focal and GIoU terms', async () => {
    const runDir = await runTiny(cpuReferenceBackend(), 'cpu-reference');
    const log = readRunLog(join(runDir, 'log.jsonl'));
    expect(log.end?.status).toBe('completed');
    expect(log.steps.map((s) => s.stage)).toEqual(['finetune', 'finetune']);
    for (const s of log.steps) {
      expect(Object.keys(s.losses).sort()).toEqual(['cls', 'reg']);
      expect(Number.isFinite(s.losses.cls)).toBe(true);
      expect(s.losses.reg).toBeGreaterThan(0);
      expect(s.losses.reg).toBeLessThanOrEqual(4);
    }
    const checkpoints = listCheckpoints(runDir).filter((c) => c.meta.stage === 'finetune');
    expect(checkpoints.length).toBeGreaterThan(0);
    expect(checkpoints[0].meta.setup).toMatchObject({ kind: 'finetune', regression: 'giou_loss' });
  });

  // Opt-in (ALIGNC_GIOU_WEBGPU=1; lavapipe compiles the step's kernels for a few minutes): the
  // WebGPU executor's first step (before any update) gives the CPU reference's two terms.
  it.runIf(process.env.ALIGNC_GIOU_WEBGPU === '1')(
    'gives the CPU reference’s first-step terms on the WebGPU executor',
    async () => {
      const cpu = readRunLog(join(tmp, 'cpu-reference', 'log.jsonl')).steps[0].losses;
      const { acquireGpu, releaseGpu } = await import('../../runtime/gpu/index.js');
      const gpu = await acquireGpu();
      try {
        const { webgpuBackend } = await import('../../runtime/webgpu/backend.js');
        const runDir = await runTiny(webgpuBackend(gpu), 'webgpu');
        const gpuLosses = readRunLog(join(runDir, 'log.jsonl')).steps[0].losses;
        for (const name of ['cls', 'reg'])
          expect(Math.abs(gpuLosses[name] - cpu[name]), name).toBeLessThan(1e-4 * cpu[name]);
      } finally {
        await releaseGpu(gpu);
      }
    },
    1_800_000,
  );
});
