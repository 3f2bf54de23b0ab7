// The WGSL lowerings of gather, concat, argmax, pool2d, max_pool2d_grad and scatter_add
// (compiler/wgsl/expression.ts, argmax.ts, pool.ts, scatter-add.ts) run by the WebGPU executor
// against the CPU reference interpreter (runtime/cpu), on odd sizes, out-of-range indices, ties
// and duplicate indices. Also checks that none of them falls back to the host any more.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder, type Graph } from '../../compiler/ir/index.js';
import { interpret } from '../../runtime/cpu/interpret.js';
import { tensorData, type TensorData } from '../../runtime/cpu/tensor-data.js';
import { acquireGpu, releaseGpu, type GpuContext } from '../../runtime/gpu/index.js';
import { GraphExecutor } from '../../runtime/webgpu/executor.js';
import { seeded } from './reference.js';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await acquireGpu();
});
afterAll(async () => {
  if (ctx) await releaseGpu(ctx);
});

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function floats(shape: number[], seed: number): TensorData {
  return tensorData(shape, seeded(count(shape), seed));
}

/** Integers in [lo, hi] from a fixed linear congruential sequence. */
function ints(shape: number[], lo: number, hi: number, seed: number): TensorData {
  let s = seed >>> 0;
  const values = Array.from({ length: count(shape) }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + (s % (hi - lo + 1));
  });
  return tensorData(shape, values, 'i32');
}

/** Values drawn from a few levels, so windows and rows have ties. */
function tied(shape: number[], seed: number): TensorData {
  const t = ints(shape, -2, 2, seed);
  return tensorData(
    shape,
    Array.from(t.data, (v) => v * 0.5),
  );
}

async function compare(graph: Graph, inputs: TensorData[], tolerance = 1e-5): Promise<void> {
  const executor = await GraphExecutor.compile(ctx, graph);
  expect(executor.plan.groups.filter((g) => g.kind === 'host')).toEqual([]);
  const got = await executor.run(inputs);
  const want = interpret(graph, inputs);
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
}

describe('WGSL lowerings of the structural ops', () => {
  it('gather along each axis, out-of-range indices read 0, inlined into its consumer', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [5, 7]);
    const i0 = b.input('i0', [3, 7], 'i32');
    const i1 = b.input('i1', [5, 9], 'i32');
    const g0 = b.add({ op: 'gather', inputs: [b.unary('exp', x), i0], axis: 0 });
    const g1 = b.add({ op: 'gather', inputs: [x, i1], axis: 1 });
    const y = b.binary('mul', g1, b.fill(2, [5, 9]));
    const graph = b.build([g0, y]);
    const executor = await GraphExecutor.compile(ctx, graph);
    // exp is inlined under g0's load; the gather g1 is inlined into the multiply.
    expect(executor.fusedKernels.size).toBe(2);
    await compare(graph, [floats([5, 7], 1), ints([3, 7], -2, 6, 2), ints([5, 9], -3, 9, 3)]);
  });

  it('gather of i32 and bool data', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [4, 3], 'i32');
    const idx = b.input('idx', [4, 5], 'i32');
    const g = b.add({ op: 'gather', inputs: [x, idx], axis: 1 });
    const pos = b.compare('gt', b.input('f', [4, 3]), b.fill(0, [4, 3]));
    const gb = b.add({ op: 'gather', inputs: [pos, idx], axis: 1 });
    await compare(b.build([g, gb]), [
      ints([4, 3], -50, 50, 4),
      ints([4, 5], -1, 3, 5),
      floats([4, 3], 6),
    ]);
  });

  it('concat of 4 operands (one empty, one a view) along a middle axis, and along the last', async () => {
    const b = new GraphBuilder();
    const a = b.input('a', [2, 3, 5]);
    const c = b.input('c', [2, 1, 5]);
    const d = b.input('d', [5, 4, 2]);
    const dt = b.permute(d, [2, 1, 0]);
    const empty = b.input('empty', [2, 0, 5]);
    const cat = b.add({ op: 'concat', inputs: [a, empty, c, dt], axis: 1 });
    const last = b.add({ op: 'concat', inputs: [a, b.unary('neg', a)], axis: 2 });
    await compare(b.build([b.unary('abs', cat), last]), [
      floats([2, 3, 5], 7),
      floats([2, 1, 5], 8),
      floats([5, 4, 2], 9),
      floats([2, 0, 5], 0),
    ]);
  });

  it('a concat of many operands (more than a kernel should bind) copies each operand', async () => {
    const b = new GraphBuilder();
    const parts = Array.from({ length: 8 }, (_, k) => b.input(`p${k}`, [2, k % 3]));
    const cat = b.add({ op: 'concat', inputs: parts, axis: 1 });
    const graph = b.build([b.unary('neg', cat)]);
    const executor = await GraphExecutor.compile(ctx, graph);
    expect(executor.plan.groups.filter((g) => g.kind === 'concat').map((g) => g.node)).toEqual([
      cat,
    ]);
    const inputs = Array.from({ length: 8 }, (_, k) => floats([2, k % 3], 40 + k));
    const [got] = await executor.run(inputs);
    expect(Array.from(got.data)).toEqual(Array.from(interpret(graph, inputs)[0].data));
  });

  it('argmax: first maximum on ties, every axis, long rows, inlined i32/u32 operands', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3, 5, 7]);
    const long = b.input('long', [2, 601]);
    const outs = [0, 1, 2].map((axis) => b.add({ op: 'argmax', inputs: [x], axis }));
    outs.push(b.add({ op: 'argmax', inputs: [long], axis: 1 }));
    outs.push(b.add({ op: 'argmax', inputs: [b.cast(x, 'i32')], axis: 2 }));
    const positive = b.cast(b.compare('gt', x, b.fill(0, [3, 5, 7])), 'u32');
    outs.push(b.add({ op: 'argmax', inputs: [positive], axis: 1 }));
    const graph = b.build(outs);
    // The casts and compares are inlined: one kernel per argmax, none for their operands.
    const executor = await GraphExecutor.compile(ctx, graph);
    expect(executor.fusedKernels.size).toBe(outs.length);
    await compare(graph, [tied([3, 5, 7], 10), floats([2, 601], 11)]);
  });

  it('pool2d max and avg with padding, stride and odd sizes', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 3, 7, 6]);
    const geometry = [
      { kernel: [3, 3], stride: [2, 2], padding: [1, 1] },
      { kernel: [2, 3], stride: [1, 2], padding: [0, 1] },
      { kernel: [2, 2], stride: [2, 2], padding: [0, 0] },
    ] as const;
    const outs = geometry.flatMap((g) =>
      (['max', 'avg'] as const).map((fn) => b.add({ op: 'pool2d', inputs: [x], fn, ...g })),
    );
    // All-negative input: a padded position (0) must never win a max.
    const neg = b.binary('sub', b.unary('abs', x), b.fill(5, [2, 3, 7, 6]));
    outs.push(b.add({ op: 'pool2d', inputs: [neg], fn: 'max', ...geometry[0] }));
    await compare(b.build(outs), [floats([2, 3, 7, 6], 12)]);
  });

  it('max_pool2d_grad: overlapping windows, ties go to the first maximal element', async () => {
    const geometry = [
      { kernel: [3, 3], stride: [2, 2], padding: [1, 1] },
      { kernel: [3, 2], stride: [1, 1], padding: [1, 0] },
      { kernel: [2, 2], stride: [3, 2], padding: [0, 1] },
    ] as const;
    for (const [k, g] of geometry.entries()) {
      const b = new GraphBuilder();
      const x = b.input('x', [2, 2, 7, 5]);
      const y = b.add({ op: 'pool2d', inputs: [x], fn: 'max', ...g });
      const dy = b.input('dy', [...b.shape(y)]);
      const dx = b.add({ op: 'max_pool2d_grad', inputs: [x, dy], ...g });
      await compare(b.build([dx]), [tied([2, 2, 7, 5], 13 + k), floats([...b.shape(y)], 20 + k)]);
    }
  });

  it('scatter_add: duplicate and out-of-range indices, f32 and i32, along each axis', async () => {
    const b = new GraphBuilder();
    const base = b.input('base', [4, 6]);
    const idx0 = b.input('idx0', [9, 6], 'i32');
    const src0 = b.input('src0', [9, 6]);
    const idx1 = b.input('idx1', [4, 11], 'i32');
    const src1 = b.input('src1', [4, 11]);
    const s0 = b.add({ op: 'scatter_add', inputs: [base, idx0, src0], axis: 0 });
    const s1 = b.add({ op: 'scatter_add', inputs: [base, idx1, src1], axis: 1 });
    const ibase = b.input('ibase', [4, 6], 'i32');
    const isrc = b.input('isrc', [4, 11], 'i32');
    const s2 = b.add({ op: 'scatter_add', inputs: [ibase, idx1, isrc], axis: 1 });
    await compare(
      b.build([s0, s1, s2]),
      [
        floats([4, 6], 30),
        ints([9, 6], -1, 4, 31),
        floats([9, 6], 32),
        ints([4, 11], -2, 7, 33),
        floats([4, 11], 34),
        ints([4, 6], -9, 9, 35),
        ints([4, 11], -100, 100, 36),
      ],
      1e-5,
    );
  });
});
