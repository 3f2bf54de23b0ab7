// Graph passes and tools built on the core: simplifyGraph (dead-node + common-subexpression
// elimination) must keep results bit-identical, and checkGradients must both accept correct
// gradients and flag a gradient that disagrees with finite differences.
import { describe, expect, it } from 'vitest';
import { simplifyGraph, verifyGraph } from '../../compiler/ir/index.js';
import { checkGradients } from '../../runtime/autodiff/check-grad.js';
import { traceValueAndGrad } from '../../runtime/autodiff/grad.js';
import { interpret } from '../../runtime/cpu/interpret.js';
import { tensorData } from '../../runtime/cpu/tensor-data.js';
import type { Tensor } from '../../runtime/tensor/tensor.js';
import { fromFixture, loadGoldens } from './golden-cases.js';

function softmaxXent(logits: Tensor, target: Tensor): Tensor {
  const lse = logits.exp().sum(1, true).log();
  return logits.sub(lse).mul(target).sum().neg();
}

describe('simplifyGraph', () => {
  it('shrinks a traced forward+backward graph without changing its results', () => {
    const c = loadGoldens('composite').find((x) => x.name === 'small-cnn-xent');
    if (c === undefined) throw new Error('missing golden');
    const conv = (x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor) =>
      x
        .conv2d(w1, { padding: 1 })
        .add(b1.reshape([1, -1, 1, 1]))
        .relu()
        .maxPool2d(2)
        .reshape([2, -1])
        .matmul(w2)
        .add(b2)
        .square()
        .mean();
    const inputs = Object.values(c.inputs)
      .slice(0, 5)
      .map((t) => fromFixture(t));
    const { graph } = traceValueAndGrad(conv, inputs);
    const simple = simplifyGraph(graph);
    verifyGraph(simple);
    expect(simple.nodes.length).toBeLessThan(graph.nodes.length);
    const before = interpret(graph, inputs);
    const after = interpret(simple, inputs);
    after.forEach((t, i) => expect(Array.from(t.data)).toEqual(Array.from(before[i].data)));
  });
});

describe('checkGradients', () => {
  it('agrees with finite differences for a softmax cross-entropy', () => {
    const logits = tensorData([2, 3], [0.3, -1.2, 2.0, 0.1, 0.4, -0.7]);
    const target = tensorData([2, 3], [0, 0, 1, 0.5, 0.5, 0]);
    const r = checkGradients(softmaxXent, [logits, target], { wrt: [0] });
    expect(r.maxError).toBeLessThan(1e-7);
  });

  it('computes numeric gradients (d/dx Σx³ = 3x²)', () => {
    const x = tensorData([4], [0.5, -1, 2, 3]);
    const r = checkGradients((t) => t.mul(t).mul(t).sum(), [x]);
    Array.from(r.numeric[0]).forEach((g, i) => expect(g).toBeCloseTo(3 * x.data[i] ** 2, 6));
  });

  it('flags a gradient that finite differences contradict (floor at an integer)', () => {
    const x = tensorData([2], [1, 2.5]);
    const r = checkGradients((t) => t.floor().sum(), [x]);
    expect(r.maxError).toBeGreaterThan(0.5);
    expect(r.worst?.numeric).toBeGreaterThan(1e5);
    expect(r.worst?.index).toBe(0);
  });
});
