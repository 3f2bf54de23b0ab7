// Checkpoint files (runtime/train/checkpoint.ts), the phase split of a traced step
// (phased-graph.ts) and the progress line (progress.ts): format round trip, atomic writes, which
// checkpoint a resume picks, pruning, refusing a resume that does not fit, and that running a graph
// in phases gives exactly what running it whole gives.

import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { interpret } from '../../runtime/cpu/interpret.js';
import type { TensorData } from '../../runtime/cpu/tensor-data.js';
import { tensorData } from '../../runtime/cpu/tensor-data.js';
import { packageRoot } from '../../runtime/package-root.js';
import { gradients } from '../../runtime/autodiff/grad.js';
import { cpuReferenceBackend } from '../../runtime/tensor/backend.js';
import { Tensor, withTrace } from '../../runtime/tensor/tensor.js';
import { Trace } from '../../runtime/tensor/trace.js';
import {
  CHECKPOINT_FORMAT,
  findResumeCheckpoint,
  listCheckpoints,
  loadCheckpoint,
  pruneCheckpoints,
  saveCheckpoint,
  type CheckpointMeta,
} from '../../runtime/train/checkpoint.js';
import { runPhases, splitPhases } from '../../runtime/train/phased-graph.js';
import { formatDuration, ProgressReporter, progressLine } from '../../runtime/train/progress.js';
import { extractDetectorWeights } from '../../runtime/io/checkpoint-surgery.js';
import { loadSafetensors } from '../../runtime/io/safetensors.js';
import { driveStage } from '../../runtime/train/run-driver.js';
import { runStage } from '../../runtime/train/stage-loop.js';
import { runTracedStep, traceStep, type TracedStepSpec } from '../../runtime/train/traced-step.js';
import { makeTinyStep } from './child-run.js';
import { syntheticSource } from './tiny-detector.js';

mkdirSync(join(packageRoot(), '.cache'), { recursive: true });
const tmp = mkdtempSync(join(packageRoot(), '.cache', 'train-ckpt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function meta(step: number, sequence: number, extra: Partial<CheckpointMeta> = {}): CheckpointMeta {
  return {
    format: CHECKPOINT_FORMAT,
    sequence,
    stage: 'box_domain',
    step,
    totalSteps: 10,
    epoch: 1,
    batchIndex: 2,
    complete: false,
    rng: { generator: 'philox4x32-10', seed: 3 },
    lr: { base: 0.01, schedule: { kind: 'step', milestones: [8], gamma: 0.1 } },
    momentum: { base: 0.996 },
    lastLr: 0.01,
    lastMomentum: 0.997,
    setup: { optimizer: { kind: 'sgd' } },
    groups: { 'a.': ['w', 'n'], 'b.': ['w'] },
    wallSeconds: 1.5,
    ...extra,
  };
}

const groups = new Map<string, Map<string, TensorData>>([
  [
    'a.',
    new Map([
      ['w', tensorData([2, 2], [1.5, -2, 3.25, Math.fround(0.1)])],
      ['n', tensorData([3], [7, -8, 9], 'i32')],
    ]),
  ],
  ['b.', new Map([['w', tensorData([1], [42])]])],
]);

describe('checkpoint files', () => {
  it('round-trip tensors and metadata, and are plain safetensors', () => {
    const dir = join(tmp, 'roundtrip');
    const path = saveCheckpoint(dir, meta(4, 1), groups);
    expect(path).toBe(join(dir, 'checkpoints', 'box_domain-00000004.safetensors'));
    const back = loadCheckpoint(path);
    expect(back.meta).toEqual(meta(4, 1));
    expect(Array.from(back.groups.get('a.')!.get('w')!.data)).toEqual([
      1.5,
      -2,
      3.25,
      Math.fround(0.1),
    ]);
    expect(back.groups.get('a.')!.get('n')!.dtype).toBe('i32');
    // The header is the safetensors layout: u64 length, JSON with dtype/shape/offsets, metadata.
    const bytes = readFileSync(path);
    const n = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
    expect(header['a.w']).toEqual({ dtype: 'F32', shape: [2, 2], data_offsets: expect.any(Array) });
    expect(Object.keys(header.__metadata__ as object)).toEqual(['alignc.train']);
    expect(readdirSync(join(dir, 'checkpoints'))).toEqual(['box_domain-00000004.safetensors']);
  });

  it('resume picks the newest by sequence, ignores temp files, and prune keeps the newest', () => {
    const dir = join(tmp, 'pick');
    saveCheckpoint(dir, meta(2, 1), groups);
    saveCheckpoint(dir, meta(4, 2), groups);
    saveCheckpoint(dir, meta(6, 3), groups);
    // A write killed half-way leaves only a temp file, which is never read.
    writeFileSync(join(dir, 'checkpoints', 'box_domain-00000008.safetensors.tmp-999'), 'torn');
    expect(findResumeCheckpoint(dir)).toMatch(/box_domain-00000006\.safetensors$/);
    expect(findResumeCheckpoint(join(dir, 'checkpoints'))).toMatch(/00000006/);
    pruneCheckpoints(dir, 'box_domain', 2);
    expect(listCheckpoints(dir).map((c) => c.meta.step)).toEqual([4, 6]);
    expect(() => findResumeCheckpoint(join(tmp, 'nowhere'))).toThrow(/does not exist/);
    const empty = join(tmp, 'empty');
    saveCheckpoint(empty, meta(1, 1), groups);
    rmSync(join(empty, 'checkpoints', 'box_domain-00000001.safetensors'));
    expect(() => findResumeCheckpoint(empty)).toThrow(/no checkpoint/);
  });

  it('rejects a damaged file and a resume that does not fit the run', async () => {
    const dir = join(tmp, 'damaged');
    const path = saveCheckpoint(dir, meta(2, 1), groups);
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 3));
    expect(() => loadCheckpoint(path)).toThrow(/E_SAFETENSORS|past the end|buffer|bytes/);

    const step = makeTinyStep(7);
    const runDir = join(tmp, 'mismatch');
    await runStage(step, syntheticSource(7, 2), {
      runDir,
      stage: 'box_domain',
      totalSteps: 1,
      checkpointEvery: 1,
      seed: 7,
      lr: { base: 0.01, schedule: { kind: 'constant' } },
    });
    const from = loadCheckpoint(findResumeCheckpoint(runDir));

    // Checkpoint surgery (spec §7.3) takes the fine-tuning weights straight from this file: the
    // online detector with its backbone, minus the projector and box regressor.
    const file = await loadSafetensors(from.path);
    const surgery = extractDetectorWeights(file.tensors, from.path);
    const kept = [...surgery.kept.keys()];
    expect(kept.filter((k) => k.startsWith('backbone.conv'))).toHaveLength(8);
    expect(kept).toContain('neck.lateral_convs.0.conv.weight');
    expect(kept).toContain('bbox_head.cls_convs.0.conv.weight');
    expect(kept.some((k) => k.includes('retina_'))).toBe(false);
    expect([...surgery.dropped].sort()).toEqual([
      'bbox_head.retina_cls.0.bias',
      'bbox_head.retina_cls.0.weight',
      'bbox_head.retina_cls.2.bias',
      'bbox_head.retina_cls.2.weight',
      'bbox_head.retina_reg.bias',
      'bbox_head.retina_reg.weight',
    ]);
    expect(
      surgery.ignored.every((k) => k.startsWith('target_backbone.') || k.startsWith('optimizer.')),
    ).toBe(true);
    await expect(
      runStage(makeTinyStep(7), syntheticSource(7, 2), {
        runDir,
        stage: 'box_domain',
        totalSteps: 2,
        checkpointEvery: 1,
        seed: 8,
        lr: { base: 0.01, schedule: { kind: 'constant' } },
        resumeFrom: from,
      }),
    ).rejects.toThrow(/made for 1 steps, not 2; its seed is 7, not 8/);

    // As a process: a --resume path with no checkpoint fails with E_RESUME and starts no log.
    const nowhere = join(tmp, 'no-run');
    const outcome = await driveStage(makeTinyStep(7), syntheticSource(7, 2), {
      runDir: nowhere,
      stage: 'box_domain',
      totalSteps: 1,
      checkpointEvery: 1,
      seed: 7,
      lr: { base: 0.01, schedule: { kind: 'constant' } },
      resume: nowhere,
      pipeline: 'x.align',
      pipelineText: '',
      command: ['test'],
      handleSignals: false,
    });
    expect(outcome.exitCode).toBe(1);
    expect((outcome.error as { code: string }).code).toBe('E_RESUME');
    expect(existsSync(nowhere)).toBe(false);
  });
});

describe('phases of a traced step', () => {
  it('give exactly the whole graph’s outputs, each phase timed', async () => {
    const trace = new Trace();
    const ph = (name: string, shape: number[]) =>
      new Tensor(trace, trace.input(undefined, shape, 'f32', name));
    const w = ph('w', [3, 2]);
    const x = ph('x', [4, 3]);
    const { loss, grad, update } = withTrace(trace, () => {
      const y = x.matmul(w).tanh();
      const l = y.square().mean();
      const [g] = gradients(l, [w]);
      return { loss: l, grad: g, update: w.sub(g.mul(0.5)) };
    });
    const { graph } = trace.extract([loss.id, update.id, grad.id], [w.id, x.id]);
    const phased = splitPhases(graph, [
      { name: 'forward', outputs: [0] },
      { name: 'backward', outputs: [2] },
      { name: 'update', outputs: [1] },
    ]);
    expect(phased.phases.map((p) => p.graph.nodes.filter((n) => n.op === 'matmul').length)).toEqual(
      [1, 1, 0],
    );
    const inputs = [
      tensorData([3, 2], [0.1, -0.2, 0.3, 0.4, -0.5, 0.6]),
      tensorData([4, 3], [1, 2, 3, -1, -2, -3, 0.5, 0.25, 0, 2, -1, 1]),
    ];
    const whole = interpret(graph, inputs);
    const run = await runPhases(phased, inputs, cpuReferenceBackend());
    run.outputs.forEach((t, i) => expect(Array.from(t.data)).toEqual(Array.from(whole[i].data)));
    expect(Object.keys(run.seconds)).toEqual(['forward', 'backward', 'update']);
  });
});

describe('a traced step without EMA', () => {
  it('sums named terms, updates by SGD and reports each term', async () => {
    // loss = (w·x − y)² + 0.5·w²: dL/dw = 2x(wx − y) + w. w = 2, x = 3, y = 1: L = 25 + 2, g = 32.
    const scalarType = { shape: [], dtype: 'f32' } as const;
    const spec: TracedStepSpec = {
      params: new Map([['w', scalarType]]),
      frozen: new Map([['x', scalarType]]),
      batch: new Map([['y', scalarType]]),
      ema: false,
      optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 0 },
      losses: ({ params, frozen, batch }) => {
        const w = params.get('w')!;
        return {
          fit: w.mul(frozen.get('x')!).sub(batch.get('y')!).square(),
          decay: w.square().mul(0.5),
        };
      },
    };
    const traced = traceStep(spec);
    const value = (v: number) => tensorData([], [v]);
    const out = await runTracedStep(
      traced,
      spec,
      {
        params: new Map([['w', value(2)]]),
        state: new Map([['w.momentum_buffer', value(0)]]),
        ema: new Map(),
        frozen: new Map([['x', value(3)]]),
        batch: new Map([['y', value(1)]]),
        lr: 0.01,
        momentum: 0,
        step: 1,
      },
      cpuReferenceBackend(),
    );
    expect(out.losses).toEqual({ fit: 25, decay: 2 });
    expect(out.params.get('w')!.data[0]).toBeCloseTo(2 - 0.01 * 32, 6);
    expect(out.state.get('w.momentum_buffer')!.data[0]).toBeCloseTo(32, 5);
    expect(out.ema.size).toBe(0);
    expect(() =>
      traceStep({ ...spec, losses: ({ params }) => ({ bad: params.get('w')!.reshape([1]) }) }),
    ).toThrow(/loss term 'bad' must be an f32 scalar/);
  });
});

describe('progress', () => {
  it('shows step/total, ETA, each loss term and images/s; redraws on a terminal', () => {
    const line = progressLine(
      {
        stage: 'box_domain',
        step: 5,
        totalSteps: 20,
        losses: { contrast: 4.5, reg_l1: 0.25 },
        imagesPerSecond: 3.14,
        stepSeconds: 2,
      },
      90,
    );
    expect(line).toBe(
      'box_domain  step  5/20  25%  ETA 1:30  loss 4.7500 (contrast 4.5000, reg_l1 0.2500)  3.1 img/s',
    );
    expect(formatDuration(3725)).toBe('1:02:05');
    let now = 100;
    const tty = {
      text: '',
      isTTY: true,
      write(s: string) {
        this.text += s;
      },
    };
    const p = new ProgressReporter(tty, 10, () => now);
    const u = { stage: 's', totalSteps: 3, losses: { a: 1 }, imagesPerSecond: 1, stepSeconds: 2 };
    p.update({ ...u, step: 1 });
    now += 2;
    p.update({ ...u, step: 2 });
    // Two steps took 4 s in all (the first counted from its own duration), one is left: ETA 0:02.
    expect(tty.text).toContain('\r\x1b[2Ks  step 2/3  67%  ETA 0:02');
    now += 2;
    p.update({ ...u, step: 3 });
    expect(tty.text.endsWith('\n')).toBe(true);
  });
});
