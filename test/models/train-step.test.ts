// A whole detector as a training step is traced: ResNet (frozen, under noGrad) → FPN → RetinaNet
// or FCOS head with every parameter a placeholder input (runtime/nn/binding.ts), a loss on the
// head outputs, and the backward pass appended by runtime/autodiff — one graph, as the GPU executor
// will compile it. Its gradient, along a random direction over all trainable parameters, is checked
// against a central finite difference in f64 on the CPU reference.
import { describe, expect, it } from 'vitest';
import { buildBackward } from '../../runtime/autodiff/backward.js';
import { interpret } from '../../runtime/cpu/interpret.js';
import type { TensorData } from '../../runtime/cpu/tensor-data.js';
import { withFloatPrecision } from '../../runtime/cpu/tensor-data.js';
import { placeholderBinding, placeholderValues } from '../../runtime/nn/binding.js';
import { DenseDetector } from '../../runtime/models/detector.js';
import { FcosHead } from '../../runtime/models/fcos-head.js';
import { Fpn } from '../../runtime/models/fpn.js';
import { ResNet } from '../../runtime/models/resnet.js';
import { RetinaHead } from '../../runtime/models/retina-head.js';
import { Rng } from '../../runtime/rng.js';
import { Tensor, withTrace } from '../../runtime/tensor/tensor.js';
import { Trace } from '../../runtime/tensor/trace.js';

function build(kind: 'retinanet' | 'fcos'): DenseDetector<RetinaHead | FcosHead> {
  const backbone = new ResNet({
    depth: 18,
    widthMultiplier: 0.0625,
    outIndices: [1, 2, 3],
    frozenStages: 4,
  });
  const neck = new Fpn({
    inChannels: backbone.outChannels,
    outChannels: 8,
    numOuts: 4,
    extraConvs: kind === 'retinanet' ? 'on_input' : 'on_output',
    reluBeforeExtraConvs: kind === 'fcos',
  });
  const head =
    kind === 'retinanet'
      ? new RetinaHead({
          inChannels: 8,
          stackedConvs: 1,
          numAnchors: 3,
          classifier: { kind: 'projector', dim: 2 },
        })
      : new FcosHead({
          inChannels: 8,
          stackedConvs: 1,
          strides: [8, 16, 32, 64],
          norm: { kind: 'gn', groups: 2 },
          classifier: { kind: 'logits', numClasses: 2 },
        });
  const det = new DenseDetector<RetinaHead | FcosHead>(backbone, neck, head);
  det.initialize(Rng.fromSeed(7));
  // Away from the init's zero biases and tiny weights, so every term has a sizeable gradient.
  const rng = Rng.fromSeed(8);
  for (const { parameter } of det.trainableParameters()) {
    parameter.value = Float32Array.from(parameter.value!, () => rng.uniformIn(-0.4, 0.4));
  }
  return det;
}

function f64(values: readonly TensorData[]): TensorData[] {
  return values.map((t) => withFloatPrecision(t, true));
}

describe('a traced detector step: gradient along a random direction vs finite differences', () => {
  for (const kind of ['retinanet', 'fcos'] as const) {
    it(`${kind}: frozen backbone gets no gradient, neck + head gradients are exact`, () => {
      const det = build(kind);
      const trace = new Trace();
      const { binding, placeholders } = placeholderBinding(det, trace);
      const rng = Rng.fromSeed(9);
      const image: TensorData = {
        shape: [1, 3, 32, 32],
        dtype: 'f32',
        data: Float32Array.from({ length: 3 * 32 * 32 }, () => rng.uniformIn(-1, 1)),
      };
      const loss = withTrace(trace, () => {
        const outs = det.forward(binding, Tensor.from(image, trace));
        let total = Tensor.full([], 0, 'f32', trace);
        for (const level of outs) {
          for (const t of Object.values(level) as Tensor[]) {
            const size = t.shape.reduce((a, b) => a * b, 1);
            const weights = Tensor.from(
              {
                shape: t.shape,
                dtype: 'f32',
                data: Float32Array.from({ length: size }, () => rng.uniformIn(-1, 1)),
              },
              trace,
            );
            total = total.add(t.tanh().mul(weights).sum());
          }
        }
        return total;
      });
      const trainable = placeholders.filter((p) => p.parameter.trainable);
      expect(trainable.some((p) => p.name.startsWith('backbone.'))).toBe(false);
      expect(trainable.length).toBeGreaterThan(10);
      const grads = buildBackward(
        trace.builder,
        loss.id,
        trainable.map((p) => p.tensor.id),
        { stopGradient: trace.stopGradient },
      );
      const { graph, bindings } = trace.extract(
        [loss.id, ...grads],
        placeholders.map((p) => p.tensor.id),
      );
      // One filter gradient per conv application: each neck conv once, each head conv once per
      // level (shared weights) — and none for the frozen backbone's 20 convs.
      const filterGrads = graph.nodes.filter((n) => n.op === 'conv2d_filter_grad').length;
      const convs = (prefix: string) =>
        trainable.filter((p) => p.name.startsWith(prefix) && p.parameter.shape.length === 4).length;
      expect(filterGrads).toBe(convs('neck.') + 4 * convs('bbox_head.'));

      const base = f64([...placeholderValues(placeholders), ...bindings]);
      const results = interpret(graph, base, { float64: true });
      const index = new Map(placeholders.map((p, i) => [p, i]));
      const dir = trainable.map((p) =>
        Float64Array.from({ length: p.parameter.size }, () => rng.uniformIn(-1, 1)),
      );
      let analytic = 0;
      trainable.forEach((_, k) => {
        const g = results[1 + k].data;
        for (let i = 0; i < g.length; i++) analytic += g[i] * dir[k][i];
      });
      const lossAt = (eps: number): number => {
        const inputs = base.slice();
        trainable.forEach((p, k) => {
          const at = index.get(p)!;
          const data = Float64Array.from(base[at].data, (v, i) => v + eps * dir[k][i]);
          inputs[at] = { ...base[at], data };
        });
        return interpret(graph, inputs, { float64: true, trusted: true })[0].data[0];
      };
      const eps = 1e-6;
      const numeric = (lossAt(eps) - lossAt(-eps)) / (2 * eps);
      expect(Math.abs(analytic)).toBeGreaterThan(0.1);
      expect(Math.abs(analytic - numeric) / Math.abs(numeric)).toBeLessThan(1e-6);
    });
  }
});
