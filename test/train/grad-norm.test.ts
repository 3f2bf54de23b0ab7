// The gradient norm a traced training step that clips reports (runtime/train/traced-step.ts, logged
// as each step record's `gradNorm`): the global L2 norm of all parameter gradients *before*
// clipping, as `torch.nn.utils.clip_grad_norm_` returns it, while the update uses the clipped ones.
// The loss is linear in the parameters, so the gradients are known exactly: ∂(Σ a·c + b·d)/∂a = c.

import { describe, expect, it } from 'vitest';
import type { TensorData } from '../../runtime/cpu/tensor-data.js';
import { cpuReferenceBackend } from '../../runtime/tensor/backend.js';
import { runTracedStep, traceStep, type TracedStepSpec } from '../../runtime/train/traced-step.js';

const f32 = (...values: number[]): TensorData => ({
  shape: [values.length],
  dtype: 'f32',
  data: Float32Array.from(values),
});
const type = (n: number) => ({ shape: [n], dtype: 'f32' as const });

// Gradients (3, 0) and (0, 4): global norm 5.
const c = f32(3, 0);
const d = f32(0, 4);

async function step(clipNorm?: number) {
  const spec: TracedStepSpec = {
    params: new Map([
      ['a', type(2)],
      ['b', type(2)],
    ]),
    frozen: new Map(),
    batch: new Map([
      ['c', type(2)],
      ['d', type(2)],
    ]),
    ema: false,
    optimizer: { kind: 'sgd', momentum: 0, weightDecay: 0 },
    ...(clipNorm === undefined ? {} : { clipNorm }),
    losses: (t) => ({
      linear: t.params
        .get('a')!
        .mul(t.batch.get('c')!)
        .sum()
        .add(t.params.get('b')!.mul(t.batch.get('d')!).sum()),
    }),
  };
  const zeros = f32(0, 0);
  return runTracedStep(
    traceStep(spec),
    spec,
    {
      params: new Map([
        ['a', f32(1, 1)],
        ['b', f32(1, 1)],
      ]),
      state: new Map([
        ['a.momentum_buffer', zeros],
        ['b.momentum_buffer', zeros],
      ]),
      ema: new Map(),
      frozen: new Map(),
      batch: new Map([
        ['c', c],
        ['d', d],
      ]),
      lr: 0.1,
      momentum: 0,
      step: 1,
    },
    cpuReferenceBackend(),
  );
}

describe('gradient norm of a traced step', () => {
  it('is not computed by a step that does not clip (it would cost a kernel per parameter)', async () => {
    const out = await step();
    expect(out.gradNorm).toBeUndefined();
    // a ← a − 0.1·c: the update used the gradients as they are.
    expect(Array.from(out.params.get('a')!.data)).toEqual([1 - 0.3, 1].map(Math.fround));
  });

  it('is the norm before clipping, while the update uses the clipped gradients', async () => {
    const out = await step(1);
    expect(out.gradNorm).toBeCloseTo(5, 5);
    // Clipped to norm 1: g = (3, 0)/5, so a ← 1 − 0.1·0.6.
    expect(out.params.get('a')!.data[0]).toBeCloseTo(1 - 0.06, 6);
    expect(out.params.get('b')!.data[1]).toBeCloseTo(1 - 0.08, 6);
  });
});
