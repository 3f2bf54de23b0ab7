// `alignc run` end to end on a tiny version of pipelines/bccd-fcos.align (with --set overrides: a
// handful of BCCD images at 96×64, two steps per stage): FCOS box-domain pre-training on
// selective-search proposals, FCOS fine-tuning initialised from it without conv_cls / conv_reg /
// conv_centerness, COCO evaluation on a few val images. Checks the log's loss terms, that the
// surgery kept the towers and dropped the predictors, and the printed metrics against the log.

import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { parseArgs } from '../../cli/command.js';
import { evalCommand } from '../../cli/commands/eval.js';
import { checkFilesOrThrow } from '../../compiler/check/index.js';
import { planProgram } from '../../compiler/lower/plan.js';
import { AlignError } from '../../runtime/errors.js';
import { readRunLog } from '../../runtime/io/run-log-reader.js';
import { packageRoot } from '../../runtime/package-root.js';
import type { TensorData } from '../../runtime/cpu/tensor-data.js';
import { Rng } from '../../runtime/rng.js';
import { canvasFor, openDeclaredDataset, viewPlanOf } from '../../runtime/run/build-data.js';
import {
  detectCheckpointDetector,
  loadCheckpointDetector,
} from '../../runtime/run/evaluate-checkpoint.js';
import { groundTruthOf } from '../../runtime/run/evaluate.js';
import { evaluateBbox } from '../../runtime/eval/coco-eval.js';
import { runPipeline, stageSpecsOf } from '../../runtime/run/executor.js';
import { buildFcos, fcosPlanOf } from '../../runtime/run/fcos-detector.js';
import { detectFcos } from '../../runtime/run/fcos-evaluate.js';
import { Declarations } from '../../runtime/run/stage-runtime.js';
import { applyOverrides } from '../../runtime/run/overrides.js';
import { lrScheduleOf } from '../../runtime/run/stage-spec.js';
import { scheduleValue } from '../../runtime/optim/schedules.js';
import { cpuReferenceBackend } from '../../runtime/tensor/backend.js';
import { listCheckpoints, loadCheckpoint, saveCheckpoint } from '../../runtime/train/checkpoint.js';

const root = packageRoot();
mkdirSync(join(root, '.cache'), { recursive: true });
const tmp = mkdtempSync(join(root, '.cache', 'run-fcos-e2e-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
});

const file = relative(process.cwd(), join(root, 'pipelines', 'bccd-fcos.align'));
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

describe('alignc run, tiny FCOS pipeline', () => {
  it('reads both stages as FCOS stages with the plan’s settings', () => {
    const [pre, ft] = stageSpecsOf(plan);
    expect(pre).toMatchObject({
      kind: 'fcos_box_domain',
      online: 'online',
      momentum: 'momentum',
      ranges: [-1, 32, 64],
      sample: 256,
      tau: 0.5,
      lossNames: ['contrast', 'box', 'centerness'],
    });
    expect(ft).toMatchObject({
      kind: 'fcos_finetune',
      detector: 'finetuned',
      boxLoss: 'iou_loss',
      alpha: 0.25,
      gamma: 2,
      clipNorm: 35,
      lossNames: ['cls', 'box', 'centerness'],
      init: { drop: ['conv_cls', 'conv_reg', 'conv_centerness'] },
    });
  });

  it('refuses FCOS forms it does not run, at their file:line:col', () => {
    const refusal = (set: string) => {
      try {
        stageSpecsOf(applyOverrides(plan, [set]));
      } catch (e) {
        return (e as AlignError).render();
      }
      return 'not refused';
    };
    expect(refusal('pretrain.box.weight=2')).toMatch(
      /^pipelines\/bccd-fcos\.align:\d+:3: error\[E_RUN_UNSUPPORTED\]: stage pretrain: loss box has weight 2/,
    );
    expect(refusal('pretrain.mk.sample=128')).toMatch(
      /error\[E_RUN_UNSUPPORTED\]: match mk: the two views' fcos_assign\(…\) must have the same ranges and sample/,
    );
  });

  it('reads aligndet-fcos.align (COCO sizes) as FCOS stages, with its constant warmup', () => {
    const coco = relative(process.cwd(), join(root, 'pipelines', 'aligndet-fcos.align'));
    const [pre, ft] = stageSpecsOf(planProgram(checkFilesOrThrow([coco])));
    expect(pre).toMatchObject({
      kind: 'fcos_box_domain',
      sample: 2048,
      ranges: [-1, 64, 128, 256, 512],
    });
    expect(ft).toMatchObject({ kind: 'fcos_finetune', clipNorm: 35, boxLoss: 'iou_loss' });
    if (ft.kind !== 'fcos_finetune') throw new Error('not FCOS');
    // mmdet's constant warmup: lr × 1/3 for 500 iterations, then the step schedule.
    const lr = lrScheduleOf(ft.lr, 12000, 1000);
    expect(lr.warmup).toEqual({ iterations: 500, startFactor: 0.333, kind: 'constant' });
    expect(scheduleValue(lr.base, lr.schedule, 499, lr.warmup)).toBeCloseTo(0.015 * 0.333, 12);
    expect(scheduleValue(lr.base, lr.schedule, 500, lr.warmup)).toBeCloseTo(0.015, 12);
    expect(scheduleValue(lr.base, lr.schedule, 9000, lr.warmup)).toBeCloseTo(0.0015, 12);
  });

  const runDir = join(tmp, 'run');
  const printed: string[] = [];
  it('runs every stage and prints the evaluation', async () => {
    const outcome = await runPipeline({
      plan,
      pipelineText: 'tiny',
      runDir,
      seed: 5,
      // As `alignc run` records it: `alignc eval` reads the overrides back from here.
      command: ['alignc', 'run', file, ...TINY.flatMap((s) => ['--set', s])],
      backend: cpuReferenceBackend(),
      backendName: 'cpu-reference',
      out: (line) => printed.push(line),
      progressSink: { write: () => true },
      handleSignals: false,
      quiet: true,
    });
    if (outcome.error !== undefined) throw outcome.error;
    const log = readRunLog(join(runDir, 'log.jsonl'));
    expect(log.end?.status).toBe('completed');
    expect(log.steps.map((s) => `${s.stage}:${s.step}`)).toEqual([
      'pretrain:1',
      'pretrain:2',
      'finetune:1',
      'finetune:2',
    ]);
    expect(Object.keys(log.steps[0].losses).sort()).toEqual(['box', 'centerness', 'contrast']);
    expect(Object.keys(log.steps[3].losses).sort()).toEqual(['box', 'centerness', 'cls']);
    for (const s of log.steps)
      for (const v of Object.values(s.losses)) expect(Number.isFinite(v)).toBe(true);
    // Fine-tuning clips at 35, so its steps log the gradient norm before clipping; pre-training
    // does not clip and logs none.
    for (const s of log.steps)
      if (s.stage === 'finetune') expect(s.gradNorm).toBeGreaterThan(0);
      else expect(s.gradNorm).toBeUndefined();
    expect(log.evals).toHaveLength(1);
    const ev = log.evals[0];
    expect(ev).toMatchObject({ stage: 'finetune', step: 2, split: 'cells_val' });
    const line = printed.find((l) => l.startsWith('finetune step 2: COCO bbox mAP'));
    expect(line).toContain(`mAP ${ev.stats.AP.toFixed(4)} (AP50 ${ev.stats.AP50.toFixed(4)}`);
  }, 120_000);

  it('fine-tunes from the pre-trained towers, without the pre-training predictors', () => {
    const all = listCheckpoints(runDir);
    const pre = loadCheckpoint(
      all.find((c) => c.meta.stage === 'pretrain' && c.meta.complete)!.path,
    );
    const ft = loadCheckpoint(
      all.find((c) => c.meta.stage === 'finetune' && c.meta.complete)!.path,
    );
    const online = pre.groups.get('online_backbone.')!;
    const tuned = ft.groups.get('detector.')!;
    // The projector (conv_cls.*) of pre-training is not the classifier of fine-tuning.
    expect(online.get('bbox_head.conv_cls.0.weight')?.shape).toBeDefined();
    expect(tuned.get('bbox_head.conv_cls.weight')!.shape).toEqual([3, 32, 3, 3]);
    // The stem is frozen in fine-tuning (frozen_stages: 1): still the pre-training backbone's.
    const a = pre.groups.get('online_backbone.backbone.')!.get('backbone.conv1.weight')!;
    const b = ft.groups.get('detector_frozen.')!.get('backbone.conv1.weight')!;
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
  });

  /** `alignc eval ARGV…`'s stdout (its own code path: the CLI command). */
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
  interface EvalJson {
    checkpoint: string;
    stage: string;
    step: number;
    data: string;
    stats: Record<string, number>;
    counts: { images: number; detections: number };
  }

  it("alignc eval scores the run's FCOS checkpoint exactly as the run's evaluate clause did", async () => {
    const logged = readRunLog(join(runDir, 'log.jsonl')).evals;
    expect(logged).toHaveLength(1);
    const d = await loadCheckpointDetector(runDir);
    expect(d.family).toBe('fcos');
    const out = JSON.parse(await evalCli([runDir, '--json'])) as EvalJson;
    expect(out).toMatchObject({ stage: 'finetune', step: 2, data: 'cells_val' });
    expect(out.checkpoint).toMatch(/finetune-00000002\.safetensors$/);
    expect(out.stats).toEqual(logged[0].stats);
    expect(out.counts.images).toBe(logged[0].counts.images);
    expect(out.counts.detections).toBe(logged[0].counts.detections);
  }, 60_000);

  it('alignc eval scores an FCOS checkpoint with detections as the hand-assembled reference does', async () => {
    const ft = loadCheckpoint(
      listCheckpoints(runDir).find((c) => c.meta.stage === 'finetune' && c.meta.complete)!.path,
    );
    const boostedDir = join(tmp, 'boosted');
    mkdirSync(boostedDir);
    copyFileSync(join(runDir, 'log.jsonl'), join(boostedDir, 'log.jsonl'));
    const detector = new Map(ft.groups.get('detector.')!);
    const bias = detector.get('bbox_head.conv_cls.bias')!;
    detector.set('bbox_head.conv_cls.bias', {
      ...bias,
      data: new Float32Array(bias.data.length).fill(2),
    });
    const groups = new Map(ft.groups);
    groups.set('detector.', detector);
    saveCheckpoint(boostedDir, ft.meta, groups);

    const out = JSON.parse(await evalCli([boostedDir, '--json'])) as EvalJson;
    const decls = new Declarations(plan.declarations);
    const view = viewPlanOf(decls.get('train_view', 'view', ''));
    const dataset = await openDeclaredDataset(decls.get('cells_val', 'dataset', ''));
    const detections = await detectFcos({
      model: await buildFcos(fcosPlanOf(decls.get('finetuned', 'detector', '')), Rng.fromSeed(0)),
      weights: new Map<string, TensorData>([...groups.get('detector_frozen.')!, ...detector]),
      dataset,
      view,
      canvas: canvasFor(dataset, [view]),
      seed: 5,
      maxDets: 100,
      backend: cpuReferenceBackend(),
    });
    const reference = evaluateBbox(groundTruthOf(dataset), detections, {
      groundTruth: dataset.name,
    });
    expect(detections.length).toBeGreaterThan(100);
    expect(out.counts).toEqual(reference.counts);
    expect(out.stats).toEqual(reference.byName);
    // Untrained boxes score AP 0 however they are placed: the detections must be the reference's.
    const d = await loadCheckpointDetector(boostedDir);
    expect(await detectCheckpointDetector(d, dataset, cpuReferenceBackend())).toEqual(detections);
  }, 60_000);

  it('initialises an FCOS box-domain stage from an earlier stage (its frozen backbone)', async () => {
    const initFile = relative(
      process.cwd(),
      join(root, 'test', 'fixtures', 'run', 'fcos-init.align'),
    );
    const dir = join(tmp, 'init');
    const said: string[] = [];
    const outcome = await runPipeline({
      plan: planProgram(checkFilesOrThrow([initFile])),
      pipelineText: 'init',
      runDir: dir,
      seed: 2,
      command: ['alignc', 'run', initFile],
      backend: cpuReferenceBackend(),
      backendName: 'cpu-reference',
      out: () => {},
      progressSink: { write: (line: string) => (said.push(line), true) },
      handleSignals: false,
      quiet: true,
    });
    if (outcome.error !== undefined) throw outcome.error;
    expect(said.some((l) => /second: init b from stage first: \d+ tensors loaded/.test(l))).toBe(
      true,
    );
    const end = (stage: string) =>
      loadCheckpoint(
        listCheckpoints(dir).find((c) => c.meta.stage === stage && c.meta.complete)!.path,
      ).groups.get('online_backbone.backbone.')!;
    const [first, second] = [end('first'), end('second')];
    expect(second.size).toBeGreaterThan(0);
    // Both backbones are frozen: the second stage's is exactly the first stage's.
    for (const [name, t] of first)
      expect(Array.from(second.get(name)!.data), name).toEqual(Array.from(t.data));
  }, 120_000);
});
