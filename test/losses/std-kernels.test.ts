// The std losses compiled to kernels: each loss with its gradients (one IR graph, autodiff
// appended) fuses into a small number of kernels — the counts are asserted, so a fusion regression
// fails here — and runs on the WebGPU adapter (lavapipe on CI) with the CPU reference's values.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planFusion } from '../../compiler/fuse/plan.js';
import { collectFunctions, stdModulePath } from '../../compiler/lower/functions.js';
import { declaredArgTypes, drawArguments, gradientGraph } from '../../compiler/lower/grad.js';
import { interpret } from '../../runtime/cpu/interpret.js';
import { withFloatPrecision } from '../../runtime/cpu/tensor-data.js';
import { acquireGpu, releaseGpu, type GpuContext } from '../../runtime/gpu/index.js';
import { Rng } from '../../runtime/rng.js';
import { GraphExecutor } from '../../runtime/webgpu/executor.js';

const { functions } = collectFunctions(stdModulePath(['std', 'losses']));
const dims = new Map([
  ['N', 96],
  ['M', 80],
  ['C', 6],
  ['D', 16],
]);

/** Kernels (non-input groups) of value + gradients; measured, kept as regression bounds. */
const KERNEL_BOUNDS: Record<string, number> = {
  l1: 8,
  smooth_l1: 8,
  iou_loss: 12,
  giou_loss: 14,
  diou_loss: 24,
  sigmoid_focal: 14,
  softmax_ce: 12,
  bce_with_logits: 8,
  centerness_loss: 10,
  box_infonce: 56,
};

function lossGraph(name: string) {
  const fn = functions.get(name)!;
  const { lowered, graph } = gradientGraph(fn, declaredArgTypes(fn, dims).types, functions);
  return { fn, lowered, graph };
}

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await acquireGpu();
});
afterAll(async () => {
  await releaseGpu(ctx);
});

describe('std losses as kernels', () => {
  for (const [name, bound] of Object.entries(KERNEL_BOUNDS)) {
    it(`${name}: value and gradients in at most ${bound} kernels, equal to the CPU reference`, async () => {
      const { fn, lowered, graph } = lossGraph(name);
      const kernels = planFusion(graph).groups.filter((g) => g.kind !== 'input').length;
      expect(kernels).toBeLessThanOrEqual(bound);
      const args = drawArguments(fn, Rng.fromSeed(7).child(name), dims);
      const inputs = lowered.params.map((p) => withFloatPrecision(args.get(p.name)!, false));
      const expected = interpret(graph, inputs);
      const executor = await GraphExecutor.compile(ctx, graph);
      const actual = await executor.run(inputs);
      actual.forEach((t, k) => {
        const want = expected[k].data;
        for (let i = 0; i < want.length; i++) {
          const scale = Math.max(1, Math.abs(want[i]));
          expect(Math.abs(t.data[i] - want[i]) / scale, `${name} output ${k}[${i}]`).toBeLessThan(
            2e-4,
          );
        }
      });
    });
  }
});
