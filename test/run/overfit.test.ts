// Issue #7's overfit check on real data: a small RetinaNet and a small FCOS (ResNet-18 at 1/8 width,
// 32-channel FPN P3–P5, one-conv heads), from random init, trained on 4 BCCD train images (64 px
// short side, no flip or colour) and scored by the real COCO evaluator on those same 4 images
// (test/fixtures/run/overfit.align). By default both reach issue #7's bar — COCO mAP ≥ 0.5 on the 4
// images, RetinaNet in 300 steps, FCOS in 200 — on the WebGPU executor (lavapipe here: ~6 min with a
// cold Mesa shader cache on a quiet 2-core machine, most of it LLVM compiling kernels the first
// time; ALIGNC_OVERFIT_WEBGPU=0 leaves it out). The CPU reference runs a bounded overfit that fits a
// test's time: QUICK_STEPS steps, after which the training loss has fallen and the mAP on the
// training images has left zero; its full claim is opt-in (ALIGNC_OVERFIT_FULL=1, ~10–30 min).
// ALIGNC_OVERFIT_STEPS overrides the step count of the full variants (docs/detectors.md).

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFilesOrThrow } from '../../compiler/check/index.js';
import { planProgram } from '../../compiler/lower/plan.js';
import type { GpuContext } from '../../runtime/gpu/device.js';
import { readRunLog } from '../../runtime/io/run-log-reader.js';
import { packageRoot } from '../../runtime/package-root.js';
import { runPipeline } from '../../runtime/run/executor.js';
import { applyOverrides } from '../../runtime/run/overrides.js';
import { cpuReferenceBackend, type Backend } from '../../runtime/tensor/backend.js';

const root = packageRoot();
mkdirSync(join(root, '.cache'), { recursive: true });
const tmp = mkdtempSync(join(root, '.cache', 'run-overfit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const file = relative(process.cwd(), join(root, 'test', 'fixtures', 'run', 'overfit.align'));
const QUICK_STEPS = 20;
// Measured at QUICK_STEPS, seed 0 (docs/detectors.md): RetinaNet mAP 0.0398, FCOS 0.0994; the bars
// are half of that.
const QUICK_MIN_AP: Readonly<Record<string, number>> = { retina_overfit: 0.02, fcos_overfit: 0.05 };
// Step counts measured to pass (docs/detectors.md): RetinaNet mAP 0.807 at 300, FCOS 0.639 at 200
// on the CPU reference; 0.828 and 0.674 on WebGPU (lavapipe).
const FULL_STEPS: Readonly<Record<string, number>> = {
  retina_overfit: Number(process.env.ALIGNC_OVERFIT_STEPS ?? 300),
  fcos_overfit: Number(process.env.ALIGNC_OVERFIT_STEPS ?? 200),
};
const FULL_TIMEOUT = 4 * 3_600_000;
// Cold Mesa cache, quiet machine: RetinaNet 278 s, FCOS 94 s (2026-11-27); a loaded CI box is slower.
const WEBGPU_TIMEOUT = 1_800_000;
const verbose = process.env.ALIGNC_OVERFIT_VERBOSE === '1';

interface Overfit {
  /** COCO mAP on the 4 training images after the last step. */
  readonly ap: number;
  /** Total loss of the first step and mean total loss of the last 5 steps. */
  readonly firstLoss: number;
  readonly lastLoss: number;
  /** Seconds from the run's start to the end of step 1 (compiles included), and the median step. */
  readonly firstStepSeconds: number;
  readonly medianStepSeconds: number;
}

async function overfit(
  stage: string,
  steps: number,
  backend: Backend,
  name: string,
): Promise<Overfit> {
  const plan = applyOverrides(planProgram(checkFilesOrThrow([file])), [
    `${stage}.train.length=${steps}iters`,
  ]);
  const runDir = join(tmp, `${stage}-${name}-${steps}`);
  const printed: string[] = [];
  const outcome = await runPipeline({
    plan,
    pipelineText: 'overfit',
    runDir,
    seed: 0,
    stage,
    command: ['alignc', 'run', file, '--stage', stage],
    backend,
    backendName: name,
    out: (line) => printed.push(line),
    progressSink: verbose
      ? { write: (s: string) => process.stderr.write(s.replace(/\r/g, '\n')) }
      : { write: () => true },
    progressIntervalSeconds: 0,
    handleSignals: false,
    quiet: true,
  });
  if (outcome.error !== undefined) throw outcome.error;
  if (verbose) console.log(printed.join('\n'));
  const [ev] = outcome.evaluations;
  expect(ev.report.counts.images).toBe(4);
  const records = readRunLog(join(runDir, 'log.jsonl')).steps;
  const totals = records.map((s) => Object.values(s.losses).reduce((a, b) => a + b, 0));
  const last = totals.slice(-5);
  const gaps = records
    .slice(1)
    .map((s, k) => s.wallSeconds - records[k].wallSeconds)
    .sort((a, b) => a - b);
  const result = {
    ap: ev.report.byName.AP,
    firstLoss: totals[0],
    lastLoss: last.reduce((a, b) => a + b, 0) / last.length,
    firstStepSeconds: records[0].wallSeconds,
    medianStepSeconds: gaps[Math.floor(gaps.length / 2)] ?? Number.NaN,
  };
  if (verbose) console.log(`${stage} on ${name}, ${records.length} steps:`, result);
  return result;
}

describe('detectors start to overfit 4 BCCD images in a bounded number of steps (CPU reference)', () => {
  it.each([
    ['RetinaNet', 'retina_overfit'],
    ['FCOS', 'fcos_overfit'],
  ])(
    '%s',
    async (_, stage) => {
      const r = await overfit(stage, QUICK_STEPS, cpuReferenceBackend(), 'cpu-reference');
      expect(r.lastLoss).toBeLessThan(0.7 * r.firstLoss);
      expect(r.ap).toBeGreaterThanOrEqual(QUICK_MIN_AP[stage]);
    },
    // Minutes on this shared 2-core machine under load (docs/detectors.md).
    900_000,
  );
});

describe.runIf(process.env.ALIGNC_OVERFIT_FULL === '1')(
  'detectors overfit 4 BCCD images to COCO mAP ≥ 0.5 (CPU reference, opt-in)',
  () => {
    it.each([
      ['RetinaNet', 'retina_overfit'],
      ['FCOS', 'fcos_overfit'],
    ])(
      '%s',
      async (_, stage) => {
        const r = await overfit(stage, FULL_STEPS[stage], cpuReferenceBackend(), 'cpu-reference');
        expect(r.ap).toBeGreaterThanOrEqual(0.5);
      },
      FULL_TIMEOUT,
    );
  },
);

describe.runIf(process.env.ALIGNC_OVERFIT_WEBGPU !== '0')(
  'detectors overfit 4 BCCD images to COCO mAP ≥ 0.5 (WebGPU)',
  () => {
    // Imported here, so ALIGNC_OVERFIT_WEBGPU=0 never loads Dawn.
    let gpu: GpuContext | undefined;
    let backend: Backend;
    beforeAll(async () => {
      gpu = await (await import('../../runtime/gpu/index.js')).acquireGpu();
      backend = (await import('../../runtime/webgpu/backend.js')).webgpuBackend(gpu);
    });
    afterAll(async () => {
      if (gpu !== undefined) await (await import('../../runtime/gpu/index.js')).releaseGpu(gpu);
    });
    it.each([
      ['RetinaNet', 'retina_overfit'],
      ['FCOS', 'fcos_overfit'],
    ])(
      '%s',
      async (_, stage) => {
        const r = await overfit(stage, FULL_STEPS[stage], backend, 'webgpu');
        expect(r.ap).toBeGreaterThanOrEqual(0.5);
      },
      WEBGPU_TIMEOUT,
    );
  },
);
