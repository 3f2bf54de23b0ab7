// `alignc run` end to end on a tiny version of the default pipeline (pipelines/bccd-default.align
// with --set overrides: a handful of BCCD images at 96×64, two steps per stage): box-domain
// pre-training on selective-search proposals, fine-tuning initialised from it, COCO evaluation on
// a few val images. Checks the JSONL log, the checkpoints (fine-tuning starts from the pre-trained
// weights), the printed metrics against the log's eval record, and that resuming pre-training
// from its step-1 checkpoint ends at exactly the uninterrupted run's weights.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkFilesOrThrow } from '../../compiler/check/index.js';
import { planProgram } from '../../compiler/lower/plan.js';
import { AlignError } from '../../runtime/errors.js';
import { readRunLog } from '../../runtime/io/run-log-reader.js';
import { packageRoot } from '../../runtime/package-root.js';
import { runPipeline, type RunOptions } from '../../runtime/run/executor.js';
import { applyOverrides } from '../../runtime/run/overrides.js';
import { cpuReferenceBackend } from '../../runtime/tensor/backend.js';
import { listCheckpoints, loadCheckpoint } from '../../runtime/train/checkpoint.js';

const root = packageRoot();
mkdirSync(join(root, '.cache'), { recursive: true });
const tmp = mkdtempSync(join(root, '.cache', 'run-e2e-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const file = relative(process.cwd(), join(root, 'pipelines', 'bccd-default.align'));
const TINY = [
  'unlabelled.fraction=2%',
  'cells.fraction=2%',
  'cells_val.fraction=4%',
  'two_views.resize.short=[64]',
  'two_views.resize.max=96',
  'train_view.resize.short=[64]',
  'train_view.resize.max=96',
  'pretrain.train.length=2iters',
  'pretrain.checkpoint.every=1iters',
  'finetune.train.length=2iters',
];
const plan = applyOverrides(planProgram(checkFilesOrThrow([file])), TINY);

function options(runDir: string, out: string[], extra: Partial<RunOptions> = {}): RunOptions {
  return {
    plan,
    pipelineText: 'tiny',
    runDir,
    seed: 3,
    command: ['alignc', 'run', file],
    backend: cpuReferenceBackend(),
    backendName: 'cpu-reference',
    out: (line) => out.push(line),
    progressSink: { write: () => true },
    handleSignals: false,
    quiet: true,
    ...extra,
  };
}

describe('alignc run, tiny default pipeline', () => {
  const runDir = join(tmp, 'run');
  const printed: string[] = [];

  it('runs every stage and prints the evaluation', async () => {
    const outcome = await runPipeline(options(runDir, printed));
    if (outcome.error !== undefined) throw outcome.error;
    expect(outcome.exitCode).toBe(0);
    const log = readRunLog(join(runDir, 'log.jsonl'));
    expect(log.header.seed).toBe(3);
    expect(log.end?.status).toBe('completed');
    expect(log.steps.map((s) => `${s.stage}:${s.step}`)).toEqual([
      'pretrain:1',
      'pretrain:2',
      'finetune:1',
      'finetune:2',
    ]);
    expect(Object.keys(log.steps[0].losses).sort()).toEqual(['contrast', 'regression']);
    expect(Object.keys(log.steps[3].losses).sort()).toEqual(['cls', 'reg']);
    for (const s of log.steps) {
      for (const v of Object.values(s.losses)) expect(Number.isFinite(v)).toBe(true);
      // No stage of this pipeline clips, so no step computes a gradient norm.
      expect(s.gradNorm).toBeUndefined();
    }
    // pretrain: periodic checkpoints at 1 and 2 (2 is also the end), finetune: its end.
    expect(log.checkpoints.map((c) => `${c.stage}:${c.step}`)).toEqual([
      'pretrain:1',
      'pretrain:2',
      'finetune:2',
    ]);
    expect(log.evals).toHaveLength(1);
    const ev = log.evals[0];
    expect(ev).toMatchObject({ stage: 'finetune', step: 2, split: 'cells_val' });
    expect(ev.counts.images).toBe(outcome.evaluations[0].report.counts.images);
    const line = printed.find((l) => l.startsWith('finetune step 2: COCO bbox mAP'));
    expect(line).toBeDefined();
    expect(line).toContain(`mAP ${ev.stats.AP.toFixed(4)} (AP50 ${ev.stats.AP50.toFixed(4)}`);
    expect(line).toContain(`${ev.counts.images} images`);
  }, 120_000);

  it('starts fine-tuning from the pre-trained weights', () => {
    const all = listCheckpoints(runDir);
    const pre = loadCheckpoint(
      all.find((c) => c.meta.stage === 'pretrain' && c.meta.complete)!.path,
    );
    const ft = loadCheckpoint(
      all.find((c) => c.meta.stage === 'finetune' && c.meta.complete)!.path,
    );
    // The stem is frozen in fine-tuning (frozen_stages: 1), so it still holds the pre-trained values.
    const a = pre.groups.get('online_backbone.backbone.')!.get('backbone.conv1.weight')!;
    const b = ft.groups.get('detector_frozen.')!.get('backbone.conv1.weight')!;
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    expect(ft.groups.get('detector.')!.get('bbox_head.retina_cls.weight')!.shape).toEqual([
      27, 32, 3, 3,
    ]);
  });

  it('resumes pre-training from its step-1 checkpoint to the same weights', async () => {
    const all = listCheckpoints(runDir);
    const step1 = all.find((c) => c.meta.stage === 'pretrain' && c.meta.step === 1)!.path;
    const resumed = join(tmp, 'resumed');
    const outcome = await runPipeline(options(resumed, [], { resume: step1, stage: 'pretrain' }));
    if (outcome.error !== undefined) throw outcome.error;
    const end = (dir: string) =>
      loadCheckpoint(
        listCheckpoints(dir).find((c) => c.meta.stage === 'pretrain' && c.meta.complete)!.path,
      );
    const x = end(runDir);
    const y = end(resumed);
    expect(y.meta.step).toBe(2);
    for (const [prefix, group] of x.groups)
      for (const [name, t] of group)
        expect(Array.from(y.groups.get(prefix)!.get(name)!.data), prefix + name).toEqual(
          Array.from(t.data),
        );
    expect(readRunLog(join(resumed, 'log.jsonl')).steps.map((s) => s.step)).toEqual([2]);
  }, 60_000);

  it('runs one stage with --stage, fine-tuning from the pre-training checkpoint in the run dir', async () => {
    const printed2: string[] = [];
    const outcome = await runPipeline(
      options(join(tmp, 'resumed'), printed2, { stage: 'finetune' }),
    );
    if (outcome.error !== undefined) throw outcome.error;
    expect(printed2.some((l) => l.startsWith('finetune step 2: COCO bbox mAP'))).toBe(true);
    // The resumed pre-training ended with the same weights, and the seed is the same: so is the
    // fine-tuning, and so its evaluation.
    expect(printed2[0]).toBe(printed.find((l) => l.startsWith('finetune step 2')));
  }, 60_000);

  it("names the missing checkpoint when a stage's init has nothing to start from", async () => {
    const outcome = await runPipeline(options(join(tmp, 'empty'), [], { stage: 'finetune' }));
    expect(outcome.exitCode).toBe(1);
    const e = outcome.error as AlignError;
    expect(e.code).toBe('E_RUN_PLAN');
    expect(e.render()).toMatch(
      /^pipelines\/bccd-default\.align:\d+:3: error\[E_RUN_PLAN\]: init: stage pretrain has no finished checkpoint in /,
    );
  });
});
