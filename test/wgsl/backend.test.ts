// The WebGPU executor as a Tensor Backend (runtime/webgpu/backend.ts): the same values as the CPU
// reference backend, and a graph compiled once is replayed — also when the same structure comes
// back as a new Graph object (a re-extracted trace).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/index.js';
import { tensorData } from '../../runtime/cpu/tensor-data.js';
import { acquireGpu, releaseGpu, type GpuContext } from '../../runtime/gpu/index.js';
import { cpuReferenceBackend } from '../../runtime/tensor/backend.js';
import { webgpuBackend } from '../../runtime/webgpu/backend.js';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await acquireGpu();
});
afterAll(async () => {
  await releaseGpu(ctx);
});

function graph() {
  const b = new GraphBuilder();
  const x = b.input('x', [5, 7]);
  const w = b.input('w', [7, 3]);
  const y = b.add({ op: 'matmul', inputs: [x, w] });
  const s = b.reduce('sum', b.unary('tanh', y), [1]);
  return b.build([y, s]);
}

describe('webgpu backend', () => {
  it('matches the CPU reference and compiles a structure once', async () => {
    const backend = webgpuBackend(ctx);
    const inputs = [
      tensorData(
        [5, 7],
        Array.from({ length: 35 }, (_, i) => Math.sin(i)),
      ),
      tensorData(
        [7, 3],
        Array.from({ length: 21 }, (_, i) => Math.cos(i)),
      ),
    ];
    const expected = await cpuReferenceBackend().run(graph(), inputs);
    for (let round = 0; round < 3; round++) {
      const actual = await backend.run(graph(), inputs);
      actual.forEach((t, k) => {
        expect(t.shape).toEqual(expected[k].shape);
        t.data.forEach((v, i) => expect(v).toBeCloseTo(expected[k].data[i], 4));
      });
    }
    // Capture happens on a graph's second run (a one-off graph keeps no arena): run 3 replays.
    expect(backend.stats()).toMatchObject({ compiled: 1, reused: 2, captured: 1, replays: 1 });
  });
});
