// GPU convolution (implicit GEMM, runtime/webgpu/conv2d.ts) forward, input gradient and filter
// gradient against the plain-JS reference: odd sizes, stride, padding, dilation, groups.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { biasActivation } from '../../compiler/wgsl/epilogue.js';
import { acquireGpu, releaseGpu, type GpuContext } from '../../runtime/gpu/index.js';
import {
  contiguous4,
  conv2d,
  conv2dFilterGrad,
  conv2dInputGrad,
  convGeometry,
} from '../../runtime/webgpu/conv2d.js';
import { readFloats, upload, zeros } from './gpu-helpers.js';
import {
  conv2dFilterGradReference,
  conv2dInputGradReference,
  conv2dReference,
  convOutSize,
  maxRelError,
  seeded,
  type ConvShape,
} from './reference.js';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await acquireGpu();
});
afterAll(async () => {
  if (ctx) await releaseGpu(ctx);
});

const shapes: ConvShape[] = [
  {
    n: 1,
    c: 3,
    h: 5,
    w: 6,
    o: 4,
    kh: 3,
    kw: 3,
    stride: [1, 1],
    pad: [1, 1],
    dilation: [1, 1],
    groups: 1,
  },
  {
    n: 2,
    c: 5,
    h: 9,
    w: 7,
    o: 6,
    kh: 3,
    kw: 2,
    stride: [2, 1],
    pad: [1, 0],
    dilation: [1, 2],
    groups: 1,
  },
  {
    n: 1,
    c: 6,
    h: 8,
    w: 8,
    o: 4,
    kh: 3,
    kw: 3,
    stride: [2, 2],
    pad: [1, 1],
    dilation: [1, 1],
    groups: 2,
  },
  {
    n: 2,
    c: 4,
    h: 6,
    w: 5,
    o: 4,
    kh: 1,
    kw: 1,
    stride: [1, 1],
    pad: [0, 0],
    dilation: [1, 1],
    groups: 4,
  },
];

function setup(s: ConvShape) {
  const [oh, ow] = convOutSize(s);
  const geometry = convGeometry([s.n, s.c, s.h, s.w], [s.o, s.c / s.groups, s.kh, s.kw], {
    stride: s.stride,
    padding: s.pad,
    dilation: s.dilation,
    groups: s.groups,
  });
  expect([geometry.outHeight, geometry.outWidth]).toEqual([oh, ow]);
  const x = seeded(s.n * s.c * s.h * s.w, 11);
  const w = seeded((s.o * s.c * s.kh * s.kw) / s.groups, 12);
  const dy = seeded(s.n * s.o * oh * ow, 13);
  const xShape = [s.n, s.c, s.h, s.w] as const;
  const wShape = [s.o, s.c / s.groups, s.kh, s.kw] as const;
  const yShape = [s.n, s.o, oh, ow] as const;
  return { geometry, x, w, dy, xShape, wShape, yShape, oh, ow };
}

describe('conv2d on the GPU', () => {
  it.each(shapes)('forward %o', async (s) => {
    const { geometry, x, w, xShape, wShape, yShape } = setup(s);
    const size = yShape.reduce((a, b) => a * b, 1);
    const out = zeros(ctx, size);
    await conv2d(ctx, {
      geometry,
      input: { buffer: upload(ctx, x), strides: contiguous4(xShape) },
      weight: { buffer: upload(ctx, w), strides: contiguous4(wShape) },
      out: { buffer: out, strides: contiguous4(yShape) },
    });
    expect(maxRelError(await readFloats(ctx, out, size), conv2dReference(s, x, w))).toBeLessThan(
      1e-5,
    );
  });

  it.each(shapes)('input gradient %o', async (s) => {
    const { geometry, w, dy, xShape, wShape, yShape } = setup(s);
    const size = xShape.reduce((a, b) => a * b, 1);
    const out = zeros(ctx, size);
    await conv2dInputGrad(ctx, {
      geometry,
      gradOut: { buffer: upload(ctx, dy), strides: contiguous4(yShape) },
      weight: { buffer: upload(ctx, w), strides: contiguous4(wShape) },
      out: { buffer: out, strides: contiguous4(xShape) },
    });
    const want = conv2dInputGradReference(s, dy, w);
    expect(maxRelError(await readFloats(ctx, out, size), want)).toBeLessThan(1e-5);
  });

  it.each(shapes)('filter gradient %o', async (s) => {
    const { geometry, x, dy, xShape, yShape } = setup(s);
    const size = (s.o * s.c * s.kh * s.kw) / s.groups;
    const out = zeros(ctx, size);
    await conv2dFilterGrad(ctx, {
      geometry,
      input: { buffer: upload(ctx, x), strides: contiguous4(xShape) },
      gradOut: { buffer: upload(ctx, dy), strides: contiguous4(yShape) },
      out,
    });
    const want = conv2dFilterGradReference(s, x, dy);
    expect(maxRelError(await readFloats(ctx, out, size), want)).toBeLessThan(1e-5);
  });

  it.each([2, 3])('filter gradient with K split into %i chunks side by side', async (splitK) => {
    const s = shapes[1];
    const { geometry, x, dy, xShape, yShape } = setup(s);
    const size = (s.o * s.c * s.kh * s.kw) / s.groups;
    const out = upload(ctx, seeded(size, 15));
    await conv2dFilterGrad(ctx, {
      geometry,
      input: { buffer: upload(ctx, x), strides: contiguous4(xShape) },
      gradOut: { buffer: upload(ctx, dy), strides: contiguous4(yShape) },
      out,
      accumulate: true,
      splitK,
    });
    const before = seeded(size, 15);
    const want = conv2dFilterGradReference(s, x, dy).map((v, i) => v + before[i]);
    expect(maxRelError(await readFloats(ctx, out, size), want)).toBeLessThan(1e-5);
  });

  it('forward with a per-channel bias and relu', async () => {
    const s = shapes[2];
    const { geometry, x, w, xShape, wShape, yShape, oh, ow } = setup(s);
    const bias = seeded(s.o, 14);
    const size = yShape.reduce((a, b) => a * b, 1);
    const out = zeros(ctx, size);
    await conv2d(ctx, {
      geometry,
      input: { buffer: upload(ctx, x), strides: contiguous4(xShape) },
      weight: { buffer: upload(ctx, w), strides: contiguous4(wShape) },
      out: { buffer: out, strides: contiguous4(yShape) },
      epilogue: biasActivation('bn', 'relu'),
      epilogueResources: { bias: upload(ctx, bias) },
    });
    const want = conv2dReference(s, x, w).map((v, i) =>
      Math.max(0, v + bias[Math.floor(i / (oh * ow)) % s.o]),
    );
    expect(maxRelError(await readFloats(ctx, out, size), want)).toBeLessThan(1e-5);
  });
});
