// `alignc eval RUN_DIR|CHECKPOINT` on a tiny run made like test/run/end-to-end.test.ts (the default
// pipeline with --set overrides, recorded in the run log's command line as `alignc run` records
// them): the detector rebuilt from the checkpoint must score exactly what the stage's own
// `evaluate` clause logged at the end of the run. Two fine-tuning steps leave every score under
// the 0.05 threshold (no detections), so a copy of the checkpoint with the class bias raised to +2
// is also scored and compared with a reference assembled here by hand from the overridden plan
// (detector, test view, data, seed): that one has hundreds of detections, and a wrong view or
// override would move them. Wrong checkpoints and data are refused.

import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseArgs } from '../../cli/command.js';
import { evalCommand } from '../../cli/commands/eval.js';
import { checkFilesOrThrow } from '../../compiler/check/index.js';
import { planProgram } from '../../compiler/lower/plan.js';
import { AlignError } from '../../runtime/errors.js';
import { readRunLog } from '../../runtime/io/run-log-reader.js';
import { packageRoot } from '../../runtime/package-root.js';
import {
  evaluateCheckpointDetector,
  evaluationDataset,
  loadCheckpointDetector,
  overridesOfCommand,
} from '../../runtime/run/evaluate-checkpoint.js';
import { canvasFor, openDeclaredDataset, viewPlanOf } from '../../runtime/run/build-data.js';
import { buildRetinaNet, retinaNetPlanOf } from '../../runtime/run/build-detector.js';
import { evaluateDetector } from '../../runtime/run/evaluate.js';
import { runPipeline } from '../../runtime/run/executor.js';
import { Declarations } from '../../runtime/run/stage-runtime.js';
import { Rng } from '../../runtime/rng.js';
import type { TensorData } from '../../runtime/cpu/tensor-data.js';
import { applyOverrides } from '../../runtime/run/overrides.js';
import { cpuReferenceBackend } from '../../runtime/tensor/backend.js';
import { listCheckpoints, loadCheckpoint, saveCheckpoint } from '../../runtime/train/checkpoint.js';

const root = packageRoot();
mkdirSync(join(root, '.cache'), { recursive: true });
const tmp = mkdtempSync(join(root, '.cache', 'run-eval-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
});

const file = relative(process.cwd(), join(root, 'pipelines', 'bccd-default.align'));
const TINY = [
  'unlabelled.fraction=2%',
  'cells.fraction=2%',
  'cells_val.fraction=4%',
  'two_views.resize.short=[64]',
  'two_views.resize.max=96',
  'train_view.resize.short=[64]',
  'train_view.resize.max=96',
  'pretrain.train.length=1iters',
  'finetune.train.length=2iters',
];
const runDir = join(tmp, 'run');

const program = applyOverrides(planProgram(checkFilesOrThrow([file])), TINY);

beforeAll(async () => {
  const outcome = await runPipeline({
    plan: program,
    pipelineText: 'tiny',
    runDir,
    seed: 5,
    command: ['alignc', 'run', file, ...TINY.flatMap((s) => ['--set', s])],
    backend: cpuReferenceBackend(),
    backendName: 'cpu-reference',
    out: () => {},
    progressSink: { write: () => true },
    handleSignals: false,
    quiet: true,
  });
  if (outcome.error !== undefined) throw outcome.error;
}, 120_000);

async function evalCli(argv: string[]): Promise<string> {
  let stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  expect(await evalCommand.run(parseArgs(argv, evalCommand.options))).toBe(0);
  return stdout;
}

async function failure(p: Promise<unknown>): Promise<AlignError> {
  const error: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AlignError);
  return error as AlignError;
}

describe('alignc eval RUN_DIR|CHECKPOINT', () => {
  it('reads the --set overrides of a recorded command line', () => {
    expect(
      overridesOfCommand([
        'alignc',
        'run',
        'x.align',
        '--set',
        'a.b=1',
        '--seed',
        '2',
        '--set=c=2 iters',
      ]),
    ).toEqual(['a.b=1', 'c=2 iters']);
  });

  it("scores the run directory's final checkpoint exactly as the run's evaluate clause did", async () => {
    const logged = readRunLog(join(runDir, 'log.jsonl')).evals;
    expect(logged).toHaveLength(1);
    const out = JSON.parse(await evalCli([runDir, '--json'])) as {
      checkpoint: string;
      step: number;
      data: string;
      statsList: number[];
      stats: Record<string, number>;
      counts: { images: number; detections: number };
    };
    expect(out.step).toBe(2);
    expect(out.data).toBe('cells_val');
    expect(out.checkpoint).toMatch(/finetune-00000002\.safetensors$/);
    expect(out.stats).toEqual(logged[0].stats);
    expect(out.counts.images).toBe(logged[0].counts.images);
    expect(out.counts.detections).toBe(logged[0].counts.detections);
  }, 60_000);

  it('scores a checkpoint with detections as the hand-assembled reference does', async () => {
    const ft = loadCheckpoint(
      listCheckpoints(runDir).find((c) => c.meta.stage === 'finetune' && c.meta.complete)!.path,
    );
    const boostedDir = join(tmp, 'boosted');
    mkdirSync(boostedDir);
    copyFileSync(join(runDir, 'log.jsonl'), join(boostedDir, 'log.jsonl'));
    const detector = new Map(ft.groups.get('detector.')!);
    const bias = detector.get('bbox_head.retina_cls.bias')!;
    detector.set('bbox_head.retina_cls.bias', {
      ...bias,
      data: new Float32Array(bias.data.length).fill(2),
    });
    const groups = new Map(ft.groups);
    groups.set('detector.', detector);
    saveCheckpoint(boostedDir, ft.meta, groups);

    const out = JSON.parse(await evalCli([boostedDir, '--json'])) as {
      stats: Record<string, number>;
      counts: { images: number; detections: number };
    };
    const decls = new Declarations(program.declarations);
    const plan = retinaNetPlanOf(decls.get('finetuned', 'detector', ''));
    const view = viewPlanOf(decls.get('train_view', 'view', ''));
    const dataset = await openDeclaredDataset(decls.get('cells_val', 'dataset', ''));
    const weights = new Map<string, TensorData>([...groups.get('detector_frozen.')!, ...detector]);
    const reference = await evaluateDetector({
      model: await buildRetinaNet(plan, Rng.fromSeed(0)),
      weights,
      anchors: plan.anchors,
      dataset,
      view,
      canvas: canvasFor(dataset, [view]),
      seed: 5,
      maxDets: 100,
      backend: cpuReferenceBackend(),
    });
    expect(reference.counts.detections).toBeGreaterThan(100);
    expect(out.counts).toEqual(reference.counts);
    expect(out.stats).toEqual(reference.byName);
  }, 60_000);

  it('evaluates a checkpoint file on another dataset of the pipeline, and prints the text report', async () => {
    const ft = listCheckpoints(runDir).find((c) => c.meta.stage === 'finetune')!.path;
    const text = await evalCli([ft, '--data', 'cells']);
    const d = await loadCheckpointDetector(ft);
    const cells = await evaluationDataset(d, 'cells');
    expect(text).toContain(`data          cells: ${cells.samples.length} images, 3 categories`);
    expect(text).toMatch(/ Average Precision {2}\(AP\) @\[ IoU=0\.50:0\.95 \| area= {3}all/);
    const report = await evaluateCheckpointDetector(d, cells, cpuReferenceBackend());
    expect(text).toContain(`detections    ${report.counts.detections}`);
  }, 60_000);

  it('refuses a pre-training checkpoint, unknown data and a missing path', async () => {
    const pre = listCheckpoints(runDir).find((c) => c.meta.stage === 'pretrain')!.path;
    const e1 = await failure(loadCheckpointDetector(pre));
    expect(e1.code).toBe('E_EVAL_CHECKPOINT');
    expect(e1.message).toContain('box-domain stage pretrain');
    const d = await loadCheckpointDetector(runDir);
    const e2 = await failure(evaluationDataset(d, 'cels_val'));
    expect(e2.message).toContain('--data cels_val is neither a dataset');
    expect(e2.hint).toContain('cells_val');
    const e3 = await failure(evalCli([join(tmp, 'nothing-here')]));
    expect(e3.code).toBe('E_EVAL_CHECKPOINT');
    const e4 = await failure(evalCli([runDir, '--gt', 'x.json']));
    expect(e4.code).toBe('E_USAGE');
  }, 60_000);
});
