// The AlignDet box-domain step (runtime/train/box-domain-step.ts) against PyTorch goldens
// (scripts/make-train-goldens.py: losses, SGD update and EMA of two steps), and the properties the
// spec requires: a step lowers the contrastive loss on a fixed batch, the EMA momentum follows the
// cosine from 0.996 to 1 per iteration, the backbone is frozen and shared, each view is matched
// against its own boxes with instance ids running across the batch.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TensorData } from '../../runtime/cpu/tensor-data.js';
import type { Batch } from '../../runtime/data/loader/batch.js';
import { boxCount, overlapMatrix } from '../../runtime/detect/boxes.js';
import { cosineMomentum } from '../../runtime/optim/schedules.js';
import { packageRoot } from '../../runtime/package-root.js';
import { Rng } from '../../runtime/rng.js';
import { cpuReferenceBackend } from '../../runtime/tensor/backend.js';
import {
  BoxDomainStep,
  GROUP_BACKBONE,
  GROUP_MOMENTUM,
  LOSS_CONTRAST,
  LOSS_REGRESSION,
  type BoxDomainConfig,
} from '../../runtime/train/box-domain-step.js';
import { canvasAnchors, type ViewTargets } from '../../runtime/train/box-targets.js';
import { LoweredLoss } from '../../runtime/train/lowered-loss.js';
import type { StepContext } from '../../runtime/train/stage-loop.js';
import {
  initHead,
  initParams,
  syntheticBatch,
  tinyBackboneShapes,
  tinyDetector,
  TINY_ANCHORS,
  TINY_MATCHING,
} from './tiny-detector.js';

interface Flat {
  shape: number[];
  data: number[];
}
interface GoldenCase {
  lr: number;
  clipNorm: number | null;
  steps: { contrast: number; reg_l1: number; momentum: number }[];
  expected: Record<'online' | 'momentum' | 'optimizer', Record<string, Flat>>;
}
interface Golden {
  tau: number;
  baseMomentum: number;
  totalSteps: number;
  backbone: Record<string, Flat>;
  online: Record<string, Flat>;
  views: Flat[];
  labels1: number[];
  sampled1: number[];
  labels2: number[];
  sampled2: number[];
  regTargets: number[];
  regWeights: number[];
  numPositives: number;
  cases: { sgd: GoldenCase; adamw_clip: GoldenCase };
}

const golden = JSON.parse(
  readFileSync(join(packageRoot(), 'test/fixtures/train/box-step.json'), 'utf8'),
) as Golden;

function tensors(rec: Record<string, Flat>): Map<string, TensorData> {
  return new Map(
    Object.entries(rec).map(([k, v]) => [
      k,
      { shape: v.shape, dtype: 'f32', data: Float32Array.from(v.data) },
    ]),
  );
}

let contrastive: LoweredLoss;
let regression: LoweredLoss;
beforeAll(() => {
  contrastive = LoweredLoss.fromStd('losses', 'box_infonce', new Map([['tau', golden.tau]]));
  regression = LoweredLoss.fromStd('losses', 'l1');
});

function config(overrides: Partial<BoxDomainConfig> = {}): BoxDomainConfig {
  return {
    detector: tinyDetector,
    matching: TINY_MATCHING,
    optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 1e-4 },
    baseMomentum: 0.996,
    contrastive,
    regression,
    backend: cpuReferenceBackend(),
    ...overrides,
  };
}

function ctx(step: number, totalSteps: number, lr: number): StepContext {
  return {
    stage: 'box_domain',
    step,
    totalSteps,
    epoch: 0,
    lr,
    rng: Rng.fromSeed(5).child('step', step),
  };
}

/** The step with the golden's matching targets instead of its own (matching is tested below). */
class GoldenTargetsStep extends BoxDomainStep {
  override targets(): [ViewTargets, ViewTargets] {
    const n1 = golden.labels1.length / 2;
    const n2 = golden.labels2.length / 2;
    const view = (labels: number[], sampled: number[], n: number): ViewTargets => ({
      anchorsPerImage: n,
      labels: Int32Array.from(labels),
      sampled: Uint8Array.from(sampled),
      regTargets: Float32Array.from(n === n1 ? golden.regTargets : new Array(8 * n).fill(0)),
      regWeights: Float32Array.from(n === n1 ? golden.regWeights : new Array(2 * n).fill(0)),
      numPositives: n === n1 ? golden.numPositives : 0,
    });
    return [view(golden.labels1, golden.sampled1, n1), view(golden.labels2, golden.sampled2, n2)];
  }
}

function goldenBatch(): Batch {
  const views = golden.views.map((v) => ({
    images: Float32Array.from(v.data),
    height: v.shape[2],
    width: v.shape[3],
    imageSizes: new Int32Array(4),
    boxes: new Float32Array(0),
    boxMask: new Uint8Array(0),
    transforms: new Float64Array(8),
  }));
  return { ...syntheticBatch(1, 0), views };
}

function expectClose(actual: TensorData, expected: Flat, tol: number, what: string): void {
  expect(actual.shape, what).toEqual(expected.shape);
  let worst = 0;
  for (let i = 0; i < expected.data.length; i++)
    worst = Math.max(worst, Math.abs(actual.data[i] - expected.data[i]));
  expect(worst, what).toBeLessThan(tol);
}

describe('box-domain step against PyTorch', () => {
  const cases: [string, keyof Golden['cases'], Partial<BoxDomainConfig>][] = [
    ['SGD', 'sgd', {}],
    [
      'AdamW with gradient clipping',
      'adamw_clip',
      {
        optimizer: { kind: 'adamw', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 },
        clipNorm: 0.5,
      },
    ],
  ];
  it.each(cases)('%s: same losses, update and EMA over two steps', async (_, key, overrides) => {
    const c = golden.cases[key];
    const step = new GoldenTargetsStep(
      config(overrides),
      tensors(golden.backbone),
      tensors(golden.online),
    );
    const batch = goldenBatch();
    for (let s = 1; s <= 2; s++) {
      const r = await step.run(batch, ctx(s, golden.totalSteps, c.lr));
      const want = c.steps[s - 1];
      expect(r.losses[LOSS_CONTRAST]).toBeCloseTo(want.contrast, 4);
      expect(r.losses[LOSS_REGRESSION]).toBeCloseTo(want.reg_l1, 4);
      expect(step.momentumAt(ctx(s, golden.totalSteps, c.lr))).toBeCloseTo(want.momentum, 12);
      // Every phase ran and was timed.
      expect(r.seconds.forward).toBeGreaterThan(0);
      expect(r.seconds.backward).toBeGreaterThan(0);
      expect(r.seconds.optimizer).toBeGreaterThan(0);
    }
    for (const [name, want] of Object.entries(c.expected.online))
      expectClose(step.online.get(name)!, want, 2e-6, `online ${name}`);
    for (const [name, want] of Object.entries(c.expected.momentum))
      expectClose(step.momentum.get(name)!, want, 2e-6, `momentum ${name}`);
    for (const [name, want] of Object.entries(c.expected.optimizer))
      expectClose(step.optimizerState.get(name)!, want, 2e-6, `optimizer ${name}`);
  });
});

function tinyStep(): BoxDomainStep {
  return new BoxDomainStep(config(), initParams(tinyBackboneShapes(), 11, 0.3), initHead(12));
}

describe('box-domain step properties', () => {
  it('one step on a fixed batch lowers the contrastive loss', async () => {
    const batch = syntheticBatch(21, 0);
    const first = tinyStep();
    const before = (await first.run(batch, ctx(1, 10, 0.01))).losses[LOSS_CONTRAST];
    // The same batch, targets and momentum keys, with the updated online detector and lr 0.
    const after = tinyStep();
    after.restore(new Map(first.groups()).set(GROUP_MOMENTUM, tinyStep().momentum));
    const again = (await after.run(batch, ctx(1, 10, 0))).losses[LOSS_CONTRAST];
    expect(Number.isFinite(before)).toBe(true);
    expect(again).toBeLessThan(before - 1e-3);
  });

  it('updates the momentum detector by the cosine schedule from 0.996 to 1, each iteration', async () => {
    const total = 3;
    const step = tinyStep();
    const batch = syntheticBatch(22, 0);
    for (let s = 1; s <= total; s++) {
      const prev = new Map(step.momentum);
      await step.run(batch, ctx(s, total, 0.01));
      // m(k) = 1 − (1 − m0)(cos(πk/K) + 1)/2 with k = s − 1, written out here independently.
      const m = 1 - ((1 - 0.996) * (Math.cos((Math.PI * (s - 1)) / total) + 1)) / 2;
      for (const [name, online] of step.online) {
        const got = step.momentum.get(name)!.data;
        const old = prev.get(name)!.data;
        for (let i = 0; i < got.length; i++)
          expect(Math.abs(got[i] - (m * old[i] + (1 - m) * online.data[i]))).toBeLessThan(1e-6);
      }
    }
    expect(cosineMomentum(0.996, 0, 100)).toBeCloseTo(0.996, 15);
    expect(cosineMomentum(0.996, 50, 100)).toBeCloseTo(0.998, 15);
    expect(cosineMomentum(0.996, 25, 100)).toBeCloseTo(1 - (0.004 * (Math.SQRT1_2 + 1)) / 2, 15);
    expect(cosineMomentum(0.996, 100, 100)).toBe(1);
  });

  it('keeps one frozen backbone shared by both branches', async () => {
    const step = tinyStep();
    const frozen = new Map([...step.backbone].map(([k, t]) => [k, Float32Array.from(t.data)]));
    await step.run(syntheticBatch(23, 0), ctx(1, 2, 0.1));
    for (const [k, t] of step.backbone) expect(Float32Array.from(t.data)).toEqual(frozen.get(k));
    const groups = step.groups();
    expect([...groups.get(GROUP_MOMENTUM)!.keys()].some((k) => k.startsWith('conv'))).toBe(false);
    expect([...groups.get(GROUP_BACKBONE)!.keys()]).toEqual(tinyBackboneShapes().map(([n]) => n));
  });

  it('matches each view against its own boxes, with instance ids across the batch', async () => {
    const batch = syntheticBatch(24, 0, 2, 3);
    const step = tinyStep();
    const targets = step.targets(batch, ctx(1, 2, 0));
    const k = batch.maxBoxes;
    for (let v = 0; v < 2; v++) {
      const t = targets[v];
      const view = batch.views[v];
      const anchors = canvasAnchors(TINY_ANCHORS, [
        { height: Math.ceil(view.height / 8), width: Math.ceil(view.width / 8) },
        { height: Math.ceil(view.height / 16), width: Math.ceil(view.width / 16) },
      ]);
      expect(boxCount(anchors, 'anchors')).toBe(t.anchorsPerImage);
      for (let i = 0; i < batch.size; i++) {
        const ids = new Map<number, Float32Array>();
        for (let r = 0; r < k; r++)
          if (batch.present[i * k + r])
            ids.set(
              batch.instanceIds[i * k + r],
              view.boxes.slice((i * k + r) * 4, (i * k + r) * 4 + 4),
            );
        const seen = new Set<number>();
        for (let a = 0; a < t.anchorsPerImage; a++) {
          const id = t.labels[i * t.anchorsPerImage + a];
          if (id < 0) continue;
          // Only this image's instances, and the anchor overlaps this view's copy of the box.
          expect(ids.has(id)).toBe(true);
          seen.add(id);
          const anchor = anchors.slice(a * 4, a * 4 + 4);
          const own = overlapMatrix(ids.get(id)!, anchor, 'iou')[0];
          const best = Math.max(...overlapMatrix(ids.get(id)!, anchors, 'iou'));
          expect(own >= 0.5 || own === best).toBe(true);
        }
        // Low-quality matching gives every box at least one positive in every view.
        expect([...seen].sort()).toEqual([...ids.keys()].sort());
      }
    }
    // Ids run across the batch: image 1's start after image 0's.
    expect(Array.from(batch.instanceIds.slice(0, k)).filter((x) => x >= 0)).toEqual([
      ...Array(batch.instanceIds.slice(0, k).filter((x) => x >= 0).length).keys(),
    ]);
  });
});
