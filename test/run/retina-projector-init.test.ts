// The init of a narrow RetinaNet head for box-domain pre-training (runtime/run/stage-runtime.ts,
// `widenNarrowProjector`; issue #9): only the projector `retina_cls` starts ×10. The towers and
// `retina_reg` keep mmdet's Normal(std 0.01), so the regression deltas are exactly those of the
// mmdet init (before the fix every head conv was ×10: deltas ×100, an L1 of 12.5 instead of 0.68 at
// step 1, and 10×-scale towers handed to fine-tuning), while the embeddings keep their directions
// (the contrastive loss is unchanged) and are 100× longer (two convs ×10, ReLU in between).

import { describe, expect, it } from 'vitest';
import { DenseDetector } from '../../runtime/models/detector.js';
import { RetinaHead } from '../../runtime/models/retina-head.js';
import { ParameterBinding } from '../../runtime/nn/binding.js';
import { moduleRetinaNet } from '../train/module-retinanet.js';
import { widenNarrowProjector } from '../../runtime/run/projector-widening.js';
import { Tensor, withTrace } from '../../runtime/tensor/tensor.js';
import { Trace } from '../../runtime/tensor/trace.js';

const DIM = 8;
const ANCHORS = 3;

function model(): DenseDetector<RetinaHead> {
  return moduleRetinaNet({ channels: 16, embedDim: DIM, seed: 5 });
}

/** FPN-shaped inputs with values in [-1, 1) from a fixed LCG. */
function levels(): { shape: number[]; values: Float32Array }[] {
  let s = 12345;
  const next = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648) * 2 - 1;
  };
  return [
    [1, 16, 4, 5],
    [1, 16, 2, 3],
  ].map((shape) => ({
    shape,
    values: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, next),
  }));
}

async function headOutputs(m: DenseDetector<RetinaHead>) {
  const trace = new Trace();
  const out = withTrace(trace, () =>
    m.head.forward(
      new ParameterBinding(trace),
      levels().map((l) => Tensor.of(l.shape, l.values)),
    ),
  );
  const cls = await Promise.all(out.map((o) => o.cls.data()));
  const reg = await Promise.all(out.map((o) => o.reg.data()));
  return { cls, reg };
}

function rms(values: Float32Array): number {
  return Math.sqrt(values.reduce((a, v) => a + v * v, 0) / values.length);
}

/** Each anchor's embedding at each location of `[1, A·D, H, W]`: its length and unit vector. */
function embeddings(t: { shape: readonly number[]; data: ArrayLike<number> }) {
  const [, , h, w] = t.shape;
  const out: { length: number; unit: number[] }[] = [];
  for (let a = 0; a < ANCHORS; a++)
    for (let p = 0; p < h * w; p++) {
      const v = Array.from({ length: DIM }, (_, d) => t.data[(a * DIM + d) * h * w + p]);
      const length = Math.hypot(...v);
      out.push({ length, unit: v.map((x) => x / length) });
    }
  return out;
}

describe('narrow RetinaNet head init for box-domain pre-training', () => {
  it("widens only the projector: regression deltas are mmdet's, embeddings 100× longer", async () => {
    const mmdet = model();
    const widened = model();
    widenNarrowProjector(widened.head, 'retina_cls.', 16);

    // mmdet's RetinaHead init (std 0.01) stays on every conv outside the projector.
    for (const { name, parameter } of widened.head.state())
      if (parameter.shape.length === 4) {
        const expected = name.startsWith('retina_cls.') ? 0.1 : 0.01;
        expect(rms(parameter.value!), name).toBeGreaterThan(expected * 0.8);
        expect(rms(parameter.value!), name).toBeLessThan(expected * 1.2);
      }

    const a = await headOutputs(mmdet);
    const b = await headOutputs(widened);
    for (let l = 0; l < a.reg.length; l++) {
      expect(rms(a.reg[l].data as Float32Array)).toBeGreaterThan(0);
      expect(Array.from(b.reg[l].data)).toEqual(Array.from(a.reg[l].data));
      const ea = embeddings(a.cls[l]);
      const eb = embeddings(b.cls[l]);
      for (let i = 0; i < ea.length; i++) {
        expect(eb[i].length / ea[i].length).toBeCloseTo(100, 3);
        for (let d = 0; d < DIM; d++) expect(eb[i].unit[d]).toBeCloseTo(ea[i].unit[d], 5);
      }
    }
  });

  it('leaves a head of 256 channels or more as mmdet initialises it', () => {
    const m = model();
    const before = m.head.state().map(({ parameter }) => Array.from(parameter.value!));
    widenNarrowProjector(m.head, 'retina_cls.', 256);
    expect(m.head.state().map(({ parameter }) => Array.from(parameter.value!))).toEqual(before);
  });
});
