// The direct convolution-gradient kernels against the plain-JS reference: the input gradient by
// stride phase (runtime/webgpu/conv2d-input-grad.ts) and the implicit-GEMM filter gradient
// (runtime/webgpu/conv2d-filter-grad.ts) on odd sizes, strides 1–3, padding (also wider than the
// kernel's reach), dilation, groups, 1x1 kernels whose stride leaves phases without taps, strided
// outputs and accumulation. Also the forward GEMM's vec4 row stores (OH·OW a multiple of 4).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireGpu, releaseGpu, type GpuContext } from '../../runtime/gpu/index.js';
import {
  contiguous4,
  conv2d,
  conv2dFilterGrad,
  conv2dInputGrad,
  convGeometry,
} from '../../runtime/webgpu/conv2d.js';
import { conv2dInputGradPhased } from '../../runtime/webgpu/conv2d-input-grad.js';
import { readFloats, upload, zeros } from './gpu-helpers.js';
import {
  conv2dFilterGradReference,
  conv2dReference,
  conv2dInputGradReference,
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

function shape(
  n: number,
  c: number,
  h: number,
  w: number,
  o: number,
  k: [number, number],
  opts: Partial<Pick<ConvShape, 'stride' | 'pad' | 'dilation' | 'groups'>> = {},
): ConvShape {
  return {
    n,
    c,
    h,
    w,
    o,
    kh: k[0],
    kw: k[1],
    stride: opts.stride ?? [1, 1],
    pad: opts.pad ?? [0, 0],
    dilation: opts.dilation ?? [1, 1],
    groups: opts.groups ?? 1,
  };
}

const shapes: ConvShape[] = [
  shape(2, 5, 9, 7, 6, [3, 3], { stride: [2, 2], pad: [1, 1] }),
  shape(1, 3, 8, 11, 9, [3, 3], { stride: [2, 2], pad: [1, 1] }),
  shape(2, 5, 9, 7, 6, [3, 2], { stride: [2, 1], pad: [1, 0], dilation: [1, 2] }),
  shape(1, 6, 10, 9, 4, [3, 3], { stride: [2, 2], pad: [1, 1], groups: 2 }),
  shape(1, 4, 11, 10, 5, [3, 3], { stride: [3, 2], pad: [2, 1], dilation: [2, 1] }),
  shape(2, 3, 7, 7, 4, [1, 1], { stride: [2, 2] }),
  shape(1, 4, 8, 8, 8, [2, 2], { stride: [2, 2], pad: [3, 0] }),
  shape(1, 9, 6, 5, 7, [3, 3], { pad: [1, 2] }),
  shape(2, 4, 6, 5, 4, [1, 1], { groups: 4 }),
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
  return {
    geometry,
    x: seeded(s.n * s.c * s.h * s.w, 21),
    w: seeded((s.o * s.c * s.kh * s.kw) / s.groups, 22),
    dy: seeded(s.n * s.o * oh * ow, 23),
    xShape: [s.n, s.c, s.h, s.w] as const,
    wShape: [s.o, s.c / s.groups, s.kh, s.kw] as const,
    yShape: [s.n, s.o, oh, ow] as const,
  };
}

const count = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

describe('conv2d input gradient by stride phase', () => {
  it.each(shapes)('matches the reference %o', async (s) => {
    const { geometry, w, dy, xShape, wShape, yShape } = setup(s);
    const out = zeros(ctx, count(xShape));
    await conv2dInputGradPhased(ctx, {
      label: 'test phased input grad',
      geometry,
      gradOut: { buffer: upload(ctx, dy), strides: contiguous4(yShape) },
      weight: { buffer: upload(ctx, w), strides: contiguous4(wShape) },
      out: { buffer: out, strides: contiguous4(xShape) },
      accumulate: false,
      tile: undefined,
    });
    const want = conv2dInputGradReference(s, dy, w);
    expect(maxRelError(await readFloats(ctx, out, count(xShape)), want)).toBeLessThan(1e-5);
  });

  it('accumulates into a strided view, with the small tile without subgroups', async () => {
    const s = shapes[4];
    const { geometry, w, dy, xShape, wShape, yShape } = setup(s);
    // The gradient is channel 1.. of a [n, c + 2, h, w] buffer at element offset h*w.
    const wide = [s.n, s.c + 2, s.h, s.w] as const;
    const before = seeded(count(wide), 24);
    const out = upload(ctx, before);
    await conv2dInputGradPhased(ctx, {
      label: 'test phased input grad',
      geometry,
      gradOut: { buffer: upload(ctx, dy), strides: contiguous4(yShape) },
      weight: { buffer: upload(ctx, w), strides: contiguous4(wShape) },
      out: { buffer: out, strides: contiguous4(wide, s.h * s.w) },
      accumulate: true,
      tile: { rows: 4, vec4Cols: 1, lanes: 8, subgroup: 0 },
    });
    const grad = conv2dInputGradReference(s, dy, w);
    const want = Float32Array.from(before);
    const hw = s.h * s.w;
    for (let n = 0; n < s.n; n++)
      for (let c = 0; c < s.c; c++)
        for (let p = 0; p < hw; p++)
          want[(n * (s.c + 2) + c + 1) * hw + p] += grad[(n * s.c + c) * hw + p];
    expect(maxRelError(await readFloats(ctx, out, count(wide)), want)).toBeLessThan(1e-5);
  });

  it('is what conv2dInputGrad runs for a strided convolution', async () => {
    const s = shapes[1];
    const { geometry, w, dy, xShape, wShape, yShape } = setup(s);
    const out = zeros(ctx, count(xShape));
    await conv2dInputGrad(ctx, {
      geometry,
      gradOut: { buffer: upload(ctx, dy), strides: contiguous4(yShape) },
      weight: { buffer: upload(ctx, w), strides: contiguous4(wShape) },
      out: { buffer: out, strides: contiguous4(xShape) },
    });
    const want = conv2dInputGradReference(s, dy, w);
    expect(maxRelError(await readFloats(ctx, out, count(xShape)), want)).toBeLessThan(1e-5);
  });
});

describe('conv2d filter gradient as an implicit GEMM over output pixels', () => {
  it.each(shapes)('matches the reference %o', async (s) => {
    const { geometry, x, dy, xShape, yShape, wShape } = setup(s);
    const out = zeros(ctx, count(wShape));
    await conv2dFilterGrad(ctx, {
      geometry,
      input: { buffer: upload(ctx, x), strides: contiguous4(xShape) },
      gradOut: { buffer: upload(ctx, dy), strides: contiguous4(yShape) },
      out,
    });
    const want = conv2dFilterGradReference(s, x, dy);
    expect(maxRelError(await readFloats(ctx, out, count(wShape)), want)).toBeLessThan(1e-5);
  });

  // Shape 0 has 2 images of 5 output rows: 7 chunks of 2 rows cross the image boundary.
  it.each([
    [3, 1, { rows: 8, vec4Cols: 2, lanes: 8, subgroup: 8 }],
    [3, 5, { rows: 8, vec4Cols: 2, lanes: 8, subgroup: 8 }],
    [0, 7, { rows: 8, vec4Cols: 2, lanes: 8, subgroup: 8 }],
    [0, 7, { rows: 4, vec4Cols: 1, lanes: 8, subgroup: 0 }],
  ] as const)('shape %i accumulates with K in %i chunks, tile %o', async (at, chunks, tile) => {
    const s = shapes[at];
    const { geometry, x, dy, xShape, yShape, wShape } = setup(s);
    const before = seeded(count(wShape), 25);
    const out = upload(ctx, before);
    await conv2dFilterGrad(ctx, {
      geometry,
      input: { buffer: upload(ctx, x), strides: contiguous4(xShape) },
      gradOut: { buffer: upload(ctx, dy), strides: contiguous4(yShape) },
      out,
      accumulate: true,
      splitK: chunks,
      tile,
    });
    const want = conv2dFilterGradReference(s, x, dy).map((v, i) => v + before[i]);
    expect(maxRelError(await readFloats(ctx, out, count(wShape)), want)).toBeLessThan(1e-5);
  });
});

describe('conv2d forward with vec4 row stores', () => {
  // 8x8 → 4x4 outputs (16 pixels, a multiple of 4), 2 groups; a 12-pixel case with 3 images; and a
  // 5x6 output that keeps scalar stores. Accumulating reads the previous vec4.
  it.each([
    shape(2, 6, 8, 8, 4, [3, 3], { stride: [2, 2], pad: [1, 1], groups: 2 }),
    shape(3, 5, 4, 3, 8, [1, 1]),
    shape(1, 3, 5, 6, 4, [3, 3], { pad: [1, 1] }),
  ])('accumulates %o', async (s) => {
    const { geometry, x, w, xShape, wShape, yShape } = setup(s);
    const before = seeded(count(yShape), 26);
    const out = upload(ctx, before);
    await conv2d(ctx, {
      geometry,
      input: { buffer: upload(ctx, x), strides: contiguous4(xShape) },
      weight: { buffer: upload(ctx, w), strides: contiguous4(wShape) },
      out: { buffer: out, strides: contiguous4(yShape) },
      accumulate: true,
    });
    const want = conv2dReference(s, x, w).map((v, i) => v + before[i]);
    expect(maxRelError(await readFloats(ctx, out, count(yShape)), want)).toBeLessThan(1e-5);
  });
});
