// The Tensor front end (runtime/tensor) and autodiff entry points (runtime/autodiff/grad.ts):
// whole losses written with the Tensor API against PyTorch values and gradients
// (test/fixtures/core/composite.json), eager tape gradients, noGrad, gradient accumulation over
// several uses, and lazy realization.
import { describe, expect, it } from 'vitest';
import { printGraph, verifyGraph } from '../../compiler/ir/index.js';
import { gradients, noGrad, traceValueAndGrad, valueAndGrad } from '../../runtime/autodiff/grad.js';
import { cpuReferenceBackend } from '../../runtime/tensor/backend.js';
import { Tensor, withTrace } from '../../runtime/tensor/tensor.js';
import { Trace } from '../../runtime/tensor/trace.js';
import type { TensorData } from '../../runtime/cpu/tensor-data.js';
import type { FixtureTensor } from './golden-cases.js';
import { fromFixture, loadGoldens } from './golden-cases.js';

function close(actual: TensorData, expected: FixtureTensor, tol: number, what: string): void {
  expect(actual.shape, what).toEqual(expected.shape);
  expected.data.forEach((e, i) => {
    const a = actual.data[i];
    if (!(Math.abs(a - e) <= tol * (1 + Math.abs(e))))
      throw new Error(`${what}[${i}]: got ${a}, expected ${e}`);
  });
}

/** Cross-entropy of logits [B, K] with i32 labels [B], mean over the batch (max-shifted logsumexp). */
function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  const shift = noGrad(() => logits.max(1, true));
  const lse = logits.sub(shift).exp().sum(1, true).log().add(shift);
  const picked = logits.gather(1, labels.reshape([-1, 1]));
  return lse.sub(picked).mean();
}

function smallCnn(
  x: Tensor,
  w1: Tensor,
  b1: Tensor,
  w2: Tensor,
  b2: Tensor,
  labels: Tensor,
): Tensor {
  const h = x
    .conv2d(w1, { padding: 1 })
    .add(b1.reshape([1, -1, 1, 1]))
    .relu()
    .maxPool2d(2);
  const logits = h.reshape([2, -1]).matmul(w2).add(b2);
  return crossEntropy(logits, labels);
}

function column(t: Tensor, i: number): Tensor {
  return t.slice([null, [i, i + 1]]).reshape([-1]);
}

function giouSmoothL1(p: Tensor, t: Tensor): Tensor {
  const area = (b: Tensor) =>
    column(b, 2)
      .sub(column(b, 0))
      .mul(column(b, 3).sub(column(b, 1)));
  const ltx = column(p, 0).maximum(column(t, 0));
  const lty = column(p, 1).maximum(column(t, 1));
  const rbx = column(p, 2).minimum(column(t, 2));
  const rby = column(p, 3).minimum(column(t, 3));
  const inter = rbx.sub(ltx).maximum(0).mul(rby.sub(lty).maximum(0));
  const union = area(p).add(area(t)).sub(inter);
  const iou = inter.div(union);
  const ew = column(p, 2)
    .maximum(column(t, 2))
    .sub(column(p, 0).minimum(column(t, 0)));
  const eh = column(p, 3)
    .maximum(column(t, 3))
    .sub(column(p, 1).minimum(column(t, 1)));
  const enclose = ew.mul(eh);
  const giou = iou.sub(enclose.sub(union).div(enclose));
  const d = p.sub(t).abs();
  const sl1 = Tensor.where(d.lt(1), d.mul(d).mul(0.5), d.sub(0.5)).sum();
  return giou.neg().add(1).sum().add(sl1.mul(0.1));
}

describe('Tensor API + valueAndGrad against PyTorch', () => {
  const cases = new Map(loadGoldens('composite').map((c) => [c.name, c]));
  const fns: Record<string, (...a: Tensor[]) => Tensor> = {
    'small-cnn-xent': smallCnn,
    'giou-smooth-l1': giouSmoothL1,
  };
  for (const [name, fn] of Object.entries(fns)) {
    for (const float64 of [false, true]) {
      it(`${name} (${float64 ? 'f64' : 'f32'})`, async () => {
        const c = cases.get(name);
        if (c === undefined) throw new Error(`missing golden ${name}`);
        const args = Object.values(c.inputs).map((t) => fromFixture(t, float64));
        const vg = valueAndGrad(fn, { backend: cpuReferenceBackend({ float64 }) });
        const { value, grads } = await vg(...args);
        const tol = float64 ? 1e-7 : 1e-4;
        close(value, c.output, tol, `${name} value`);
        const gradNames = Object.keys(c.grads ?? {});
        gradNames.forEach((n, k) => close(grads[k], (c.grads ?? {})[n], tol, `${name} d/d${n}`));
      });
    }
  }

  it('traces forward + backward into one verified graph', () => {
    const c = cases.get('small-cnn-xent');
    if (c === undefined) throw new Error('missing golden');
    const types = Object.values(c.inputs).map((t) => ({ shape: t.shape, dtype: t.dtype }));
    const { graph, constants } = traceValueAndGrad(smallCnn, types);
    verifyGraph(graph);
    expect(constants).toEqual([]);
    expect(graph.outputs.length).toBe(1 + 5);
    const text = printGraph(graph);
    expect(text).toContain('conv_transpose2d');
    expect(text).toContain('conv2d_filter_grad');
    expect(text).toContain('max_pool2d_grad');
  });
});

describe('front-end errors', () => {
  it('names both shapes when broadcasting fails', () => {
    withTrace(new Trace(), () => {
      const a = Tensor.full([7, 13], 1);
      const b = Tensor.full([7, 12], 1);
      expect(() => a.add(b)).toThrow(/shapes \[7,13\] and \[7,12\] do not broadcast/);
    });
  });

  it('refuses second-order gradients of backward-only primitives', () => {
    withTrace(new Trace(), () => {
      const x = Tensor.full([1, 1, 4, 4], 1);
      const w = Tensor.full([1, 1, 3, 3], 1);
      const [dw] = gradients(x.conv2d(w).sum(), [w]);
      expect(() => gradients(dw.sum(), [x])).toThrow(/conv2d_filter_grad has no gradient rule/);
    });
  });
});

describe('eager tensors and the tape', () => {
  it('computes lazily and reuses realized values', async () => {
    await withTrace(new Trace(), async () => {
      const x = Tensor.of([2, 3], [1, 2, 3, 4, 5, 6]);
      const y = x.mul(2).add(Tensor.of([3], [10, 20, 30]));
      expect(await y.toArray()).toEqual([12, 24, 36, 18, 30, 42]);
      expect(await y.sum(0).toArray()).toEqual([30, 54, 78]);
      expect(
        await x
          .transpose()
          .slice([[1, 3], null])
          .toArray(),
      ).toEqual([2, 5, 3, 6]);
      expect(await x.argmax(1).toArray()).toEqual([2, 2]);
    });
  });

  it('accumulates the gradient of a value used several times', async () => {
    await withTrace(new Trace(), async () => {
      const x = Tensor.of([3], [0.5, -1, 2]);
      const y = x.mul(x).add(x).add(x.exp()).sum(); // dy/dx = 2x + 1 + e^x
      const [dx] = gradients(y, [x]);
      const got = await dx.toArray();
      [0.5, -1, 2].forEach((v, i) => expect(got[i]).toBeCloseTo(2 * v + 1 + Math.exp(v), 5));
    });
  });

  it('noGrad regions are constants for autodiff', async () => {
    await withTrace(new Trace(), async () => {
      const x = Tensor.of([2], [3, -4]);
      const frozen = noGrad(() => x.mul(2));
      const y = x.mul(frozen).sum(); // d/dx with frozen = 2x treated as constant: 2x
      const [dx] = gradients(y, [x]);
      expect(await dx.toArray()).toEqual([6, -8]);
      const [dxAll] = gradients(x.mul(x.mul(2)).sum(), [x]); // without noGrad: 4x
      expect(await dxAll.toArray()).toEqual([12, -16]);
    });
  });

  it('gives zeros for inputs the output does not depend on', async () => {
    await withTrace(new Trace(), async () => {
      const x = Tensor.of([2], [1, 2]);
      const z = Tensor.of([2], [5, 5]);
      const [dz] = gradients(x.sum(), [z]);
      expect(await dz.toArray()).toEqual([0, 0]);
    });
  });

  it('draws uniform numbers in [0, 1) from random bits', async () => {
    await withTrace(new Trace(), async () => {
      const key = Tensor.of([2], [42, 7], 'u32');
      const u = await Tensor.uniform(key, [1000]).toArray();
      expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...u)).toBeLessThan(1);
      const mean = u.reduce((a, b) => a + b, 0) / u.length;
      expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
    });
  });
});
