// The multi-dispatch WGSL lowerings (compiler/wgsl/op-program.ts): random_bits, a concat of many
// operands, roi_align and its gradient, argsort / top_k (bitonic) and nms — run by the WebGPU
// executor and compared with the CPU reference interpreter (runtime/cpu): bit for bit for random
// bits, concat, sorts and nms; to f32 rounding for roi_align (the reference uses doubles). Sizes are
// odd, data has ties, NaNs, out-of-image ROIs and overlapping boxes. No group may fall back to the
// host.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder, type DType, type Graph, type NodeId } from '../../compiler/ir/index.js';
import { interpret } from '../../runtime/cpu/interpret.js';
import { tensorData, type TensorData } from '../../runtime/cpu/tensor-data.js';
import { acquireGpu, releaseGpu, type GpuContext } from '../../runtime/gpu/index.js';
import { GraphExecutor } from '../../runtime/webgpu/executor.js';
import { valueAndGrad } from '../../runtime/autodiff/grad.js';
import { cpuReferenceBackend } from '../../runtime/tensor/backend.js';
import { Tensor } from '../../runtime/tensor/tensor.js';
import { webgpuBackend } from '../../runtime/webgpu/backend.js';
import { seeded } from './reference.js';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await acquireGpu();
});
afterAll(async () => {
  if (ctx) await releaseGpu(ctx);
});

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Integers in [lo, hi] from a fixed linear congruential sequence. */
function ints(n: number, lo: number, hi: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + (s % (hi - lo + 1));
  });
}

/** Runs `graph` on the GPU (asserting no host group) and the CPU reference. */
async function both(graph: Graph, inputs: TensorData[]): Promise<[TensorData[], TensorData[]]> {
  const executor = await GraphExecutor.compile(ctx, graph);
  expect(executor.plan.groups.filter((g) => g.kind === 'host')).toEqual([]);
  return [await executor.run(inputs), interpret(graph, inputs)];
}

async function expectExact(graph: Graph, inputs: TensorData[]): Promise<void> {
  const [got, want] = await both(graph, inputs);
  got.forEach((g, k) => {
    expect(g.shape).toEqual(want[k].shape);
    expect(g.dtype).toBe(want[k].dtype);
    expect(Array.from(g.data), `output ${k}`).toEqual(Array.from(want[k].data));
  });
}

async function expectClose(graph: Graph, inputs: TensorData[], tolerance: number): Promise<void> {
  const [got, want] = await both(graph, inputs);
  got.forEach((g, k) => {
    expect(g.shape).toEqual(want[k].shape);
    for (let i = 0; i < g.data.length; i++) {
      const e = want[k].data[i];
      expect(Math.abs(g.data[i] - e), `output ${k} element ${i}`).toBeLessThanOrEqual(
        tolerance * Math.max(1, Math.abs(e)),
      );
    }
  });
}

describe('random_bits on the GPU', () => {
  it('draws the CPU reference bits exactly (Threefry-2x32-20, counter = element index)', async () => {
    const b = new GraphBuilder();
    const key = b.input('key', [2], 'u32');
    const bits = b.add({ op: 'random_bits', inputs: [key], shape: [7, 131], dtype: 'u32' });
    const one = b.add({ op: 'random_bits', inputs: [key], shape: [1], dtype: 'u32' });
    const graph = b.build([bits, one]);
    for (const k of [
      [0, 0],
      [0xffffffff, 0x12345678],
      [42, 7],
    ]) {
      await expectExact(graph, [tensorData([2], k, 'u32')]);
    }
  });
});

describe('concat of many operands', () => {
  it('copies each operand into its slice: any axis, empty operands, f32/i32/bool', async () => {
    const b = new GraphBuilder();
    const shapes = (axis: number, n: number) =>
      Array.from({ length: n }, (_, k) => {
        const s = [3, 2, 5];
        s[axis] = k % 4;
        return s;
      });
    const outputs: NodeId[] = [];
    const inputs: TensorData[] = [];
    for (const [axis, dtype, n] of [
      [0, 'f32', 9],
      [1, 'i32', 8],
      [2, 'bool', 17],
    ] as [number, DType, number][]) {
      const parts = shapes(axis, n).map((s, k) => {
        const values =
          dtype === 'f32' ? seeded(count(s), 100 * axis + k) : ints(count(s), -3, 3, 7 * k + axis);
        inputs.push(tensorData(s, dtype === 'bool' ? values.map((v) => +(v > 0)) : values, dtype));
        return b.input(`p${axis}_${k}`, s, dtype);
      });
      outputs.push(b.add({ op: 'concat', inputs: parts, axis }));
    }
    const graph = b.build(outputs);
    const executor = await GraphExecutor.compile(ctx, graph);
    expect(executor.plan.groups.filter((g) => g.kind === 'concat').length).toBe(3);
    await expectExact(graph, inputs);
  });
});

/** ROIs [k, 5]: batch index (one out of range), boxes inside, across and outside the image. */
function rois(k: number, batch: number, size: number, seed: number): TensorData {
  const r = ints(k * 4, -6, size + 6, seed);
  const values: number[] = [];
  for (let i = 0; i < k; i++) {
    const [a, b, c, d] = r.slice(i * 4, i * 4 + 4).map((v, j) => v + 0.37 * ((i + j) % 3));
    values.push(
      i === 3 ? batch : i % batch,
      Math.min(a, c),
      Math.min(b, d),
      Math.max(a, c) + 0.5,
      Math.max(b, d) + 1.25,
    );
  }
  return tensorData([k, 5], values);
}

describe('roi_align on the GPU', () => {
  const feat = [2, 3, 11, 13];
  for (const [aligned, samplingRatio, spatialScale] of [
    [true, 2, 0.5],
    [false, 0, 0.5],
    [true, 0, 1],
    [false, 3, 0.25],
  ] as [boolean, number, number][]) {
    const params = { outputSize: [3, 4] as [number, number], spatialScale, samplingRatio, aligned };
    const what = `${aligned ? 'aligned' : 'legacy'}, sampling ${samplingRatio || 'adaptive'}, scale ${spatialScale}`;

    it(`forward matches the reference (${what})`, async () => {
      const b = new GraphBuilder();
      const x = b.input('x', feat);
      const r = b.input('r', [9, 5]);
      const y = b.add({ op: 'roi_align', inputs: [x, r], ...params });
      await expectClose(
        b.build([y]),
        [tensorData(feat, seeded(count(feat), 3)), rois(9, 2, 24, 5)],
        2e-5,
      );
    });

    it(`gradient matches the reference (${what})`, async () => {
      const b = new GraphBuilder();
      const r = b.input('r', [9, 5]);
      const dy = b.input('dy', [9, 3, 3, 4]);
      const dx = b.add({
        op: 'roi_align_grad',
        inputs: [r, dy],
        shape: feat,
        dtype: 'f32',
        ...params,
      });
      await expectClose(
        b.build([dx]),
        [rois(9, 2, 24, 6), tensorData([9, 3, 3, 4], seeded(324, 8))],
        2e-5,
      );
    });
  }
});

/** Values from a few levels (ties) with NaNs and ±0 mixed in. */
function tiedWithNaN(n: number, seed: number): number[] {
  return ints(n, -3, 3, seed).map((v, i) =>
    i % 11 === 5 ? NaN : v === 0 ? (i % 2 ? -0 : 0) : v * 0.5,
  );
}

describe('argsort and top_k on the GPU (bitonic)', () => {
  it('argsort: every axis, both directions, ties and NaNs, odd lengths, i32 and u32', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [5, 13, 3]);
    const i = b.input('i', [37], 'i32');
    const u = b.input('u', [2, 100], 'u32');
    const outs = [
      ...[0, 1, 2].flatMap((axis) =>
        [false, true].map((descending) =>
          b.add({ op: 'routine', routine: { kind: 'argsort', axis, descending }, inputs: [x] }),
        ),
      ),
      b.add({
        op: 'routine',
        routine: { kind: 'argsort', axis: 0, descending: true },
        inputs: [i],
      }),
      b.add({
        op: 'routine',
        routine: { kind: 'argsort', axis: 1, descending: false },
        inputs: [u],
      }),
      // Padded to 1024: global passes and workgroup-memory stages, three lines.
      b.add({
        op: 'routine',
        routine: { kind: 'argsort', axis: 1, descending: true },
        inputs: [b.input('long', [3, 517])],
      }),
    ];
    await expectExact(b.build(outs), [
      tensorData([5, 13, 3], tiedWithNaN(195, 1)),
      tensorData([37], ints(37, -4, 4, 2), 'i32'),
      tensorData([2, 100], ints(200, 0, 0xffffffff, 3), 'u32'),
      tensorData([3, 517], tiedWithNaN(1551, 5)),
    ]);
  });

  it('top_k: largest first, ties by index, k = 1 and k = length, a 1-long row', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [4, 29]);
    const y = b.input('y', [3, 1]);
    const outs = [1, 5, 29].map((k) =>
      b.add({ op: 'routine', routine: { kind: 'top_k', k }, inputs: [x] }),
    );
    outs.push(b.add({ op: 'routine', routine: { kind: 'top_k', k: 1 }, inputs: [y] }));
    await expectExact(b.build(outs), [
      tensorData([4, 29], tiedWithNaN(116, 4)),
      tensorData([3, 1], [2, NaN, -1]),
    ]);
  });
});

/** Boxes [n, 4] in clusters (so many overlap), some duplicated and some degenerate. */
function boxes(n: number, seed: number): TensorData {
  const r = seeded(n * 4, seed);
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    const cx = 20 * (i % 5) + 6 * r[i * 4];
    const cy = 20 * (i % 3) + 6 * r[i * 4 + 1];
    const w = i % 17 === 0 ? 0 : 8 + 5 * r[i * 4 + 2];
    const h = 8 + 5 * r[i * 4 + 3];
    values.push(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2);
  }
  for (const i of [7, 30]) values.splice(i * 4, 4, ...values.slice(0, 4));
  return tensorData([n, 4], values);
}

describe('nms on the GPU', () => {
  it('keeps exactly the reference set, in order, padded with -1', async () => {
    const b = new GraphBuilder();
    const bx = b.input('boxes', [77, 4]);
    const sc = b.input('scores', [77]);
    const outs = [
      [0.5, 100],
      [0.3, 6],
      [0.7, 77],
      [0, 20],
    ].map(([iouThreshold, maxOutput]) =>
      b.add({ op: 'routine', routine: { kind: 'nms', iouThreshold, maxOutput }, inputs: [bx, sc] }),
    );
    const scores = ints(77, 0, 9, 9).map((v) => v / 10);
    await expectExact(b.build(outs), [boxes(77, 11), tensorData([77], scores)]);
  });

  it('a single box, and more boxes than one sweep step covers (300)', async () => {
    const b = new GraphBuilder();
    const b1 = b.input('b1', [1, 4]);
    const s1 = b.input('s1', [1]);
    const b2 = b.input('b2', [300, 4]);
    const s2 = b.input('s2', [300]);
    const nms = { kind: 'nms', iouThreshold: 0.45, maxOutput: 300 } as const;
    const outs = [
      b.add({ op: 'routine', routine: nms, inputs: [b1, s1] }),
      b.add({ op: 'routine', routine: nms, inputs: [b2, s2] }),
    ];
    await expectExact(b.build(outs), [
      tensorData([1, 4], [1, 2, 3, 4]),
      tensorData([1], [0.5]),
      boxes(300, 12),
      tensorData([300], seeded(300, 13)),
    ]);
  });
});

describe('a traced step using them all, on the WebGPU backend', () => {
  it('value and gradient match the CPU reference backend (random numbers, top-k picks)', async () => {
    // roi_align → × uniform noise (random_bits) → concat of 8 slices → top-k picks (routine) →
    // gather → sum; the backward adds roi_align_grad and scatter_add.
    const fn = (x: Tensor, rois: Tensor, key: Tensor): Tensor => {
      const pooled = x.roiAlign(rois, {
        outputSize: [3, 3],
        spatialScale: 0.5,
        samplingRatio: 0,
        aligned: true,
      });
      const noisy = pooled.mul(Tensor.uniform(key, pooled.shape)).reshape([6, 18]);
      const parts = Array.from({ length: 8 }, (_, k) =>
        noisy.slice([
          [0, 6],
          [k * 2, k * 2 + 2],
        ]),
      );
      const joined = Tensor.concat(parts, 1);
      return joined.gather(1, joined.topKIndices(5)).sum();
    };
    const args = [
      tensorData([2, 2, 9, 10], seeded(360, 21)),
      rois(6, 2, 18, 22),
      tensorData([2], [7, 0xdeadbeef], 'u32'),
    ];
    const want = await valueAndGrad(fn, { backend: cpuReferenceBackend(), wrt: [0] })(...args);
    const backend = webgpuBackend(ctx);
    const got = await valueAndGrad(fn, { backend, wrt: [0] })(...args);
    expect(got.value.data[0]).toBeCloseTo(want.value.data[0], 4);
    const [dx] = got.grads;
    dx.data.forEach((v, i) =>
      expect(Math.abs(v - want.grads[0].data[i]), `dx[${i}]`).toBeLessThanOrEqual(1e-5),
    );
  });
});

describe('empty tensors', () => {
  it('random bits, argsort along and across an empty axis, nms of no boxes', async () => {
    const b = new GraphBuilder();
    const key = b.input('key', [2], 'u32');
    const x = b.input('x', [0, 5]);
    const boxesIn = b.input('boxes', [0, 4]);
    const scores = b.input('scores', [0]);
    const outs = [
      b.add({ op: 'random_bits', inputs: [key], shape: [0], dtype: 'u32' }),
      b.add({
        op: 'routine',
        routine: { kind: 'argsort', axis: 0, descending: false },
        inputs: [x],
      }),
      b.add({
        op: 'routine',
        routine: { kind: 'argsort', axis: 1, descending: true },
        inputs: [x],
      }),
      b.add({
        op: 'routine',
        routine: { kind: 'nms', iouThreshold: 0.5, maxOutput: 3 },
        inputs: [boxesIn, scores],
      }),
    ];
    await expectExact(b.build(outs), [
      tensorData([2], [1, 2], 'u32'),
      tensorData([0, 5], []),
      tensorData([0, 4], []),
      tensorData([0], []),
    ]);
  });
});
