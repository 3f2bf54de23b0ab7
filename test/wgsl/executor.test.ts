// The WebGPU executor (runtime/webgpu/executor.ts) against the CPU reference interpreter
// (runtime/cpu) on small graphs: fused elementwise chains with views, reductions, matmul, the three
// convolutions, and an op that falls back to the CPU. Also checks what fusion decided.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder, type Graph } from '../../compiler/ir/index.js';
import { interpret } from '../../runtime/cpu/interpret.js';
import { tensorData, type TensorData } from '../../runtime/cpu/tensor-data.js';
import { acquireGpu, releaseGpu, type GpuContext } from '../../runtime/gpu/index.js';
import { GraphExecutor } from '../../runtime/webgpu/executor.js';
import { cnnTrainingStep } from '../../bench/cnn-graph.js';
import { seeded } from './reference.js';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await acquireGpu();
});
afterAll(async () => {
  if (ctx) await releaseGpu(ctx);
});

function data(shape: number[], seed: number): TensorData {
  return tensorData(
    shape,
    seeded(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
  );
}

async function compare(
  graph: Graph,
  inputs: TensorData[],
  tolerance = 1e-5,
): Promise<GraphExecutor> {
  const executor = await GraphExecutor.compile(ctx, graph);
  const got = await executor.run(inputs);
  const want = interpret(graph, inputs);
  expect(got.length).toBe(want.length);
  got.forEach((g, k) => {
    expect(g.shape).toEqual(want[k].shape);
    expect(g.dtype).toBe(want[k].dtype);
    for (let i = 0; i < g.data.length; i++) {
      const e = want[k].data[i];
      expect(Math.abs(g.data[i] - e), `output ${k} element ${i}`).toBeLessThanOrEqual(
        tolerance * Math.max(1, Math.abs(e)),
      );
    }
  });
  return executor;
}

describe('GraphExecutor', () => {
  it('fuses an elementwise chain with broadcast and permute into one kernel', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3, 5]);
    const bias = b.input('bias', [1, 5]);
    const y = b.binary(
      'add',
      b.unary('exp', b.binary('mul', x, b.fill(0.5, [3, 5]))),
      b.broadcast(bias, [3, 5]),
    );
    const z = b.permute(b.unary('tanh', y), [1, 0]);
    const executor = await compare(b.build([z]), [data([3, 5], 1), data([1, 5], 2)]);
    expect(executor.fusedKernels.size).toBe(1);
  });

  it('vec4 path, compare/select/cast and bool outputs', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [4, 8]);
    const pos = b.compare('gt', x, b.fill(0, [4, 8]));
    const relu = b.select(pos, x, b.fill(0, [4, 8]));
    const asInt = b.cast(b.binary('mul', relu, b.fill(10, [4, 8])), 'i32');
    await compare(b.build([relu, pos, asInt]), [data([4, 8], 3)]);
  });

  it('slice, pad and reshape as index arithmetic', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [4, 6]);
    const s = b.add({ op: 'slice', inputs: [x], start: [1, 0], stop: [4, 6], step: [1, 2] });
    const p = b.add({ op: 'pad', inputs: [s], low: [1, 0], high: [0, 2], value: -1 });
    const r = b.reshape(p, [4, 5]);
    await compare(b.build([b.unary('neg', r)]), [data([4, 6], 4)]);
  });

  it('reductions: short and long, sum/max/min, with an inlined prologue', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3, 700]);
    const sq = b.binary('mul', x, x);
    const s = b.reduce('sum', b.unary('abs', x), [1]);
    const m = b.reduce('max', sq, [0]);
    const n = b.reduce('min', x, [0, 1]);
    await compare(b.build([s, m, n]), [data([3, 700], 5)], 1e-4);
  });

  it('matmul followed by a fused epilogue chain', async () => {
    const b = new GraphBuilder();
    const a = b.input('a', [2, 5, 7]);
    const w = b.input('w', [2, 7, 3]);
    const y = b.add({ op: 'matmul', inputs: [a, w] });
    const out = b.unary('sigmoid', y);
    await compare(b.build([out]), [data([2, 5, 7], 6), data([2, 7, 3], 7)]);
  });

  it('conv2d, conv_transpose2d and conv2d_filter_grad', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 3, 7, 6]);
    const w = b.input('w', [4, 3, 3, 3]);
    const params = {
      stride: [2, 1] as const,
      padding: [1, 1] as const,
      dilation: [1, 1] as const,
      groups: 1,
    };
    const y = b.add({ op: 'conv2d', inputs: [x, w], ...params });
    const dx = b.add({
      op: 'conv_transpose2d',
      inputs: [y, w],
      ...params,
      outputPadding: [0, 0] as const,
    });
    const dw = b.add({
      op: 'conv2d_filter_grad',
      inputs: [x, y],
      ...params,
      kernelSize: [3, 3] as const,
    });
    await compare(b.build([y, dx, dw]), [data([2, 3, 7, 6], 8), data([4, 3, 3, 3], 9)], 1e-4);
  });

  it('matmul + bias + relu: the chain becomes the GEMM epilogue', async () => {
    const b = new GraphBuilder();
    const a = b.input('a', [9, 6]);
    const w = b.input('w', [6, 11]);
    const bias = b.input('bias', [1, 11]);
    const y = b.add({ op: 'matmul', inputs: [a, w] });
    const z = b.binary('max', b.binary('add', y, b.broadcast(bias, [9, 11])), b.fill(0, [9, 11]));
    const executor = await compare(b.build([z]), [
      data([9, 6], 11),
      data([6, 11], 12),
      data([1, 11], 13),
    ]);
    expect(executor.steps.filter((s) => s.epilogue).length).toBe(1);
    expect(executor.fusedKernels.size).toBe(0);
  });

  it('conv2d + per-channel bias + relu fuses; a second use of the conv blocks fusion', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 3, 6, 5]);
    const w = b.input('w', [6, 1, 3, 3]);
    const bias = b.input('bias', [1, 6, 1, 1]);
    const params = {
      stride: [1, 1] as const,
      padding: [1, 1] as const,
      dilation: [1, 1] as const,
      groups: 3,
    };
    const y = b.add({ op: 'conv2d', inputs: [x, w], ...params });
    const z = b.unary('sigmoid', b.binary('add', y, b.broadcast(bias, [2, 6, 6, 5])));
    const inputs = [data([2, 3, 6, 5], 14), data([6, 1, 3, 3], 15), data([1, 6, 1, 1], 16)];
    const fused = await compare(b.build([z]), inputs, 1e-4);
    expect(fused.steps.filter((s) => s.epilogue).length).toBe(1);
    const unfused = await compare(b.build([z, y]), inputs, 1e-4);
    expect(unfused.steps.filter((s) => s.epilogue).length).toBe(0);
  });

  it('a whole CNN training step (fwd + autodiff bwd + SGD) matches the CPU reference', async () => {
    const spec = { batch: 2, size: 9, channels: [3, 4, 6], classes: 3, learningRate: 0.1 };
    const { graph } = cnnTrainingStep(spec);
    const inputs = graph.inputs.map((id, k) => data([...graph.nodes[id].shape], 20 + k));
    await compare(graph, inputs, 1e-4);
  });

  it('dead nodes (left behind by autodiff) are not run', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [4]);
    b.unary('exp', x);
    const y = b.unary('neg', x);
    const executor = await compare(b.build([y]), [data([4], 30)]);
    expect(executor.steps.map((s) => s.group.node)).toEqual([x, y]);
  });

  it('a routine between fused kernels runs as an op program, not on the host', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3, 4]);
    // top-k is a bitonic sort program (compiler/wgsl/sort.ts) reading a fused kernel's output.
    const top = b.add({
      op: 'routine',
      routine: { kind: 'top_k', k: 2 },
      inputs: [b.unary('exp', x)],
    });
    const executor = await compare(b.build([top]), [data([3, 4], 10)]);
    expect(executor.plan.groups.map((g) => g.kind)).toEqual(['input', 'elementwise', 'routine']);
  });
});
