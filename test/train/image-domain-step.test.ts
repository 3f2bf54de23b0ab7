// The image-domain (BYOL) step (runtime/train/image-domain-step.ts) against independent numbers:
// its first loss terms equal BYOL's formula 2 − 2·cos(p, z), computed in f64 loops from an eager
// forward of the same encoder (at step 1 the target is the online network); the target follows
// θk ← m·θk + (1 − m)·θq with m from the cosine schedule written out here; repeated steps on one
// fixed batch lower the loss; the checkpoint groups restore to the same state; BN with batch
// statistics leaves running statistics equal to eager forwards of the two views in order, for the
// online network and (at step 1, when it equals the online one) the target, and `norm_eval: true`
// leaves them alone.

import { describe, expect, it } from 'vitest';
import type { Batch } from '../../runtime/data/loader/batch.js';
import { applyBufferUpdates, ParameterBinding } from '../../runtime/nn/binding.js';
import { Rng } from '../../runtime/rng.js';
import { ImageEncoder, type EncoderPlan } from '../../runtime/run/image-domain-encoder.js';
import { cpuReferenceBackend } from '../../runtime/tensor/backend.js';
import { Tensor, withTrace } from '../../runtime/tensor/tensor.js';
import { Trace } from '../../runtime/tensor/trace.js';
import {
  GROUP_ENCODER,
  GROUP_ENCODER_FROZEN,
  GROUP_TARGET,
  GROUP_TARGET_BUFFERS,
  ImageDomainStep,
  type ImageDomainTerm,
} from '../../runtime/train/image-domain-step.js';
import { LoweredLoss } from '../../runtime/train/lowered-loss.js';
import { statisticBuffersOf } from '../../runtime/train/step-state.js';

const SIZE = 64;
const PLAN: EncoderPlan = {
  name: 'enc',
  at: 'test',
  depth: 18,
  widthMultiplier: 1 / 16,
  weights: undefined,
  frozenStages: 0,
  projector: { hidden: 16, out: 8 },
  predictor: { hidden: 16, out: 8 },
};
const TERMS: ImageDomainTerm[] = [
  {
    name: 'byol_12',
    weight: 1,
    online: { view: 0, field: 'prediction' },
    target: { view: 1, field: 'projection' },
  },
  {
    name: 'byol_21',
    weight: 0.5,
    online: { view: 1, field: 'prediction' },
    target: { view: 0, field: 'projection' },
  },
];

function views(): Float32Array[] {
  const rng = Rng.fromSeed(11);
  return [0, 1].map(() =>
    Float32Array.from({ length: 2 * 3 * SIZE * SIZE }, () => rng.uniform() * 2 - 1),
  );
}

function batch(images: Float32Array[]): Batch {
  const view = (data: Float32Array) => ({
    images: data,
    height: SIZE,
    width: SIZE,
    imageSizes: Int32Array.of(SIZE, SIZE, SIZE, SIZE),
    boxes: new Float32Array(2 * 4),
    boxMask: new Uint8Array(2),
    transforms: Float64Array.of(1, 0, 1, 0, 1, 0, 1, 0),
  });
  return {
    epoch: 0,
    index: 0,
    size: 2,
    maxBoxes: 1,
    sampleIndices: Int32Array.of(0, 1),
    imageIds: Int32Array.of(1, 2),
    instanceIds: Int32Array.of(-1, -1),
    present: new Uint8Array(2),
    labels: new Int32Array(2),
    numInstances: 0,
    truncatedBoxes: 0,
    views: images.map(view),
  };
}

function step(encoder: ImageEncoder, baseMomentum: number): ImageDomainStep {
  return new ImageDomainStep({
    network: encoder,
    terms: TERMS,
    loss: LoweredLoss.fromStd('losses', 'byol'),
    optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 1e-4 },
    baseMomentum,
    backend: cpuReferenceBackend(),
  });
}

const ctx = (k: number, total: number, lr = 0.05) => ({
  stage: 'image_domain',
  step: k,
  totalSteps: total,
  epoch: 0,
  lr,
  rng: Rng.fromSeed(1),
});

/** Rows of a [B, D] tensor. */
async function rows(t: Tensor): Promise<number[][]> {
  const d = await t.data();
  const [b, n] = d.shape;
  return Array.from({ length: b }, (_, i) => Array.from(d.data.subarray(i * n, (i + 1) * n)));
}

/** BYOL's loss in f64: mean over rows of 2 − 2 p·z / (|p| |z|). */
function byolLoss(p: number[][], z: number[][]): number {
  const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const per = p.map((pi, i) => {
    const dot = pi.reduce((s, x, d) => s + x * z[i][d], 0);
    return 2 - (2 * dot) / (norm(pi) * norm(z[i]));
  });
  return per.reduce((s, x) => s + x, 0) / per.length;
}

describe('image-domain step', () => {
  it('reports BYOL terms equal to the formula on an eager forward', async () => {
    const encoder = new ImageEncoder(PLAN).initialize(Rng.fromSeed(5));
    const imgs = views();
    const eager = await Promise.all(
      imgs.map(async (data) => {
        const trace = new Trace();
        const out = withTrace(trace, () =>
          encoder.forward(
            new ParameterBinding(trace),
            Tensor.from({ shape: [2, 3, SIZE, SIZE], dtype: 'f32', data }, trace),
          ),
        );
        return { projection: await rows(out.projection), prediction: await rows(out.prediction!) };
      }),
    );
    const s = step(encoder, 0.99);
    // frozen_stages 0: the stem is a constant, like every BN buffer.
    expect(s.frozen.has('backbone.conv1.weight')).toBe(true);
    expect(s.frozen.has('backbone.layer1.0.bn1.running_var')).toBe(true);
    expect(s.params.has('backbone.layer1.0.conv1.weight')).toBe(true);
    expect(s.params.has('predictor.2.weight')).toBe(true);
    const first = await s.run(batch(imgs), ctx(1, 4));
    const l12 = byolLoss(eager[0].prediction, eager[1].projection);
    const l21 = byolLoss(eager[1].prediction, eager[0].projection);
    expect(l12).toBeGreaterThan(0.01);
    expect(first.losses.byol_12).toBeCloseTo(l12, 4);
    expect(first.losses.byol_21).toBeCloseTo(0.5 * l21, 4);
  });

  it('moves the target along the cosine momentum schedule', async () => {
    const m0 = 0.9;
    const s = step(new ImageEncoder(PLAN).initialize(Rng.fromSeed(6)), m0);
    const b = batch(views());
    const name = 'projector.0.weight';
    const K = 3;
    for (let k = 1; k <= K; k++) {
      const before = Float32Array.from(s.target.get(name)!.data);
      await s.run(b, ctx(k, K));
      const online = s.params.get(name)!.data;
      const after = s.target.get(name)!.data;
      // BYOL eq. 1 with m = 1 − (1 − m0)(cos(π(k−1)/K) + 1)/2, k − 1 steps done before this one.
      const m = 1 - ((1 - m0) * (Math.cos((Math.PI * (k - 1)) / K) + 1)) / 2;
      let worst = 0;
      for (let i = 0; i < after.length; i++)
        worst = Math.max(worst, Math.abs(after[i] - (m * before[i] + (1 - m) * online[i])));
      expect(worst).toBeLessThan(1e-6);
      // The online weights did move, so the check is not vacuous.
      expect(online.some((v, i) => Math.abs(v - before[i]) > 1e-6)).toBe(true);
    }
  });

  it('lowers the loss on a fixed batch, and restores from its checkpoint groups', async () => {
    const s = step(new ImageEncoder(PLAN).initialize(Rng.fromSeed(7)), 0.99);
    const b = batch(views());
    const total = (l: Record<string, number>) => l.byol_12 + l.byol_21;
    const losses: number[] = [];
    for (let k = 1; k <= 4; k++) losses.push(total((await s.run(b, ctx(k, 4, 0.01))).losses));
    // One step on the batch lowers its loss, and so do the later ones (the target barely moves).
    expect(losses[1]).toBeLessThan(losses[0]);
    expect(Math.max(...losses.slice(1))).toBeLessThan(losses[0]);
    const copy = step(new ImageEncoder(PLAN).initialize(Rng.fromSeed(8)), 0.99);
    copy.restore(s.groups());
    expect(copy.groups().get(GROUP_ENCODER)).toEqual(s.groups().get(GROUP_ENCODER));
    expect(copy.groups().get(GROUP_TARGET)).toEqual(s.groups().get(GROUP_TARGET));
  });

  it('trains BN on batch statistics; each network keeps its own running statistics', async () => {
    const imgs = views();
    // Eager: the online network on view 1, then on view 2, each forward updating the statistics.
    const eager = new ImageEncoder(PLAN).initialize(Rng.fromSeed(9));
    for (const data of imgs) {
      const trace = new Trace();
      const binding = new ParameterBinding(trace);
      withTrace(trace, () =>
        eager.forward(
          binding,
          Tensor.from({ shape: [2, 3, SIZE, SIZE], dtype: 'f32', data }, trace),
        ),
      );
      await applyBufferUpdates(binding);
    }
    const expected = new Map(eager.state().map((e) => [e.name, e.parameter.value!]));
    const encoder = new ImageEncoder(PLAN).initialize(Rng.fromSeed(9));
    const names = statisticBuffersOf(encoder);
    expect(names).toContain('backbone.layer4.1.bn2.running_var');
    // frozen_stages 0: the stem's BN stays in eval mode.
    expect(names).not.toContain('backbone.bn1.running_var');
    const s = step(encoder, 0.99);
    const b = batch(views());
    await s.run(b, ctx(1, 4));
    const diff = (x: ArrayLike<number>, y: ArrayLike<number>) =>
      Math.max(...Array.from(x, (v, i) => Math.abs(v - y[i])));
    for (const n of names) {
      expect(diff(s.frozen.get(n)!.data, expected.get(n)!), n).toBeLessThan(1e-5);
      // At step 1 the target is the online network, run on the same views in the same order.
      expect(diff(s.targetBuffers.get(n)!.data, expected.get(n)!), n).toBeLessThan(1e-5);
    }
    expect(s.frozen.get('backbone.layer1.0.bn1.num_batches_tracked')!.data[0]).toBe(2);
    const var1 = s.frozen.get('backbone.layer2.0.bn1.running_var')!.data;
    expect(diff(var1, new Float32Array(var1.length).fill(1))).toBeGreaterThan(1e-3);
    expect(Array.from(s.frozen.get('backbone.bn1.running_var')!.data).every((v) => v === 1)).toBe(
      true,
    );
    // The checkpoint groups carry both networks' statistics.
    const groups = s.groups();
    expect(groups.get(GROUP_ENCODER_FROZEN)!.get(names[0])).toBe(s.frozen.get(names[0]));
    expect([...groups.get(GROUP_TARGET_BUFFERS)!.keys()]).toEqual(names);
    await s.run(b, ctx(2, 4));
    // Now the target's weights differ from the online ones, and so do its statistics.
    const n = 'backbone.layer4.1.bn2.running_mean';
    expect(diff(s.frozen.get(n)!.data, s.targetBuffers.get(n)!.data)).toBeGreaterThan(1e-7);
    expect(s.targetBuffers.get('backbone.layer1.0.bn1.num_batches_tracked')!.data[0]).toBe(4);
    const copy = step(new ImageEncoder(PLAN).initialize(Rng.fromSeed(8)), 0.99);
    copy.restore(groups);
    expect(copy.targetBuffers.get(n)).toEqual(groups.get(GROUP_TARGET_BUFFERS)!.get(n));
  });

  it('keeps the running statistics under norm_eval: true', async () => {
    const encoder = new ImageEncoder({ ...PLAN, normEval: true }).initialize(Rng.fromSeed(9));
    expect(statisticBuffersOf(encoder)).toEqual([]);
    const s = step(encoder, 0.99);
    const before = new Map(s.frozen);
    await s.run(batch(views()), ctx(1, 4));
    expect(s.frozen).toEqual(before);
    expect(s.groups().has(GROUP_TARGET_BUFFERS)).toBe(false);
  });
});
