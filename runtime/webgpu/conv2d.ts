// 2-D convolution on the GPU as implicit GEMM (PyTorch semantics: NCHW input, OIHW weights,
// stride, padding, dilation, groups), forward and the two backward convolutions:
// - forward: the input is packed once as zero-padded NHWC4 texels; the GEMM kernel computes each
//   A texel's address from the output pixel and the kernel tap (no im2col in memory);
// - input gradient: stride 1 is the same kernel on the output gradient padded by
//   dilation·(k−1)−padding, with the weights rotated 180° and in/out channels swapped; a strided
//   convolution runs by stride phase in conv2d-input-grad.ts (only the contributing taps);
// - filter gradient: in conv2d-filter-grad.ts (an implicit GEMM over the output pixels, split-K).
// Flow: executor / ops → **conv2d** → pack + gemm kernels (compiler/wgsl) → command batcher.

import type { Epilogue } from '../../compiler/wgsl/epilogue.js';
import { IDENTITY_EPILOGUE } from '../../compiler/wgsl/epilogue.js';
import {
  chooseGemmTile,
  gemmKernel,
  type GemmTile,
  type OutputMap,
} from '../../compiler/wgsl/gemm.js';
import type { ConvGeometry, PackSource, Strides4 } from '../../compiler/wgsl/pack-sources.js';
import { planTextureLayout } from '../../compiler/wgsl/texture-layout.js';
import type { GpuContext } from '../gpu/index.js';
import { conv2dInputGradPhased } from './conv2d-input-grad.js';
import { dispatchKernel, type KernelResources } from './dispatch.js';
import { packOperand } from './matmul.js';
import { memoKernel } from './kernel-memo.js';
import { kernelTarget } from './target.js';
import { texturePool } from './texture-pool.js';

export type { ConvGeometry, Strides4 };
export { conv2dFilterGrad, type ConvFilterGradCall } from './conv2d-filter-grad.js';

export interface TensorBuffer {
  readonly buffer: GPUBuffer;
  readonly strides: Strides4;
}

/** Element strides of a contiguous NCHW (or OIHW) tensor. */
export function contiguous4(
  shape: readonly [number, number, number, number],
  offset = 0,
): Strides4 {
  const [, c, h, w] = shape;
  return { offset, s0: c * h * w, s1: h * w, s2: w, s3: 1 };
}

/** Output size and the geometry of a convolution from its operand shapes and options. */
export function convGeometry(
  input: readonly [number, number, number, number],
  weight: readonly [number, number, number, number],
  opts: {
    stride?: [number, number];
    padding?: [number, number];
    dilation?: [number, number];
    groups?: number;
  },
): ConvGeometry {
  const [batch, inChannels, inHeight, inWidth] = input;
  const [outChannels, , kernelHeight, kernelWidth] = weight;
  const [strideH, strideW] = opts.stride ?? [1, 1];
  const [padH, padW] = opts.padding ?? [0, 0];
  const [dilationH, dilationW] = opts.dilation ?? [1, 1];
  const groups = opts.groups ?? 1;
  const outHeight =
    Math.floor((inHeight + 2 * padH - dilationH * (kernelHeight - 1) - 1) / strideH) + 1;
  const outWidth =
    Math.floor((inWidth + 2 * padW - dilationW * (kernelWidth - 1) - 1) / strideW) + 1;
  return {
    batch,
    groups,
    inChannels,
    outChannels,
    inHeight,
    inWidth,
    kernelHeight,
    kernelWidth,
    strideH,
    strideW,
    padH,
    padW,
    dilationH,
    dilationW,
    outHeight,
    outWidth,
  };
}

/** The output of an implicit-GEMM conv: rows are pixels (n, y, x), columns channels of group b. */
function nchwOutMap(
  t: Strides4,
  channelsPerGroup: number,
  width: number,
  pixels: number,
): OutputMap {
  if (t.s2 !== width * t.s3 || t.s3 !== 1) {
    throw new Error('convolution outputs must be contiguous over (H, W)');
  }
  return {
    offset: t.offset,
    batch: channelsPerGroup * t.s1,
    rowDiv: pixels,
    rowOuter: t.s0,
    rowInner: 1,
    col: t.s1,
  };
}

interface ImplicitConv {
  readonly label: string;
  readonly batch: number;
  readonly groups: number;
  /** The convolved tensor as NCHW, and its geometry after zero-upsampling and padding. */
  readonly input: TensorBuffer;
  readonly inChannelsPerGroup: number;
  readonly height: number;
  readonly width: number;
  readonly padTop: number;
  readonly padLeft: number;
  readonly weight: TensorBuffer;
  readonly reduceAxis: 0 | 1;
  readonly flip: boolean;
  readonly outChannelsPerGroup: number;
  readonly kernelHeight: number;
  readonly kernelWidth: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly dilationH: number;
  readonly dilationW: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly out: TensorBuffer;
  readonly accumulate: boolean;
  readonly epilogue: Epilogue;
  readonly epilogueResources: KernelResources | undefined;
  readonly tile: GemmTile | undefined;
}

async function implicitConv(ctx: GpuContext, c: ImplicitConv): Promise<void> {
  const target = kernelTarget(ctx);
  const maxDim = target.maxTextureDimension2D;
  const pool = texturePool(ctx.device);
  const cq = Math.ceil(c.inChannelsPerGroup / 4);
  const paddedH = (c.outHeight - 1) * c.strideH + (c.kernelHeight - 1) * c.dilationH + 1;
  const paddedW = (c.outWidth - 1) * c.strideW + (c.kernelWidth - 1) * c.dilationW + 1;
  const aLayout = planTextureLayout(c.label, c.batch * c.groups, paddedH, paddedW * cq, maxDim);
  const aSource: PackSource = {
    kind: 'conv-input',
    tensor: c.input.strides,
    channelsPerGroup: c.inChannelsPerGroup,
    channels4: cq * 4,
    groups: c.groups,
    height: c.height,
    width: c.width,
    padTop: c.padTop,
    padLeft: c.padLeft,
  };
  const kRows = c.kernelHeight * c.kernelWidth * cq * 4;
  const bLayout = planTextureLayout(
    c.label,
    c.groups,
    kRows,
    Math.ceil(c.outChannelsPerGroup / 4),
    maxDim,
  );
  const bSource: PackSource = {
    kind: 'conv-weight',
    weight: c.weight.strides,
    reduceAxis: c.reduceAxis,
    reduceChannels: c.inChannelsPerGroup,
    channels4: cq * 4,
    outPerGroup: c.outChannelsPerGroup,
    kernelHeight: c.kernelHeight,
    kernelWidth: c.kernelWidth,
    flip: c.flip,
  };
  const at = await packOperand(
    ctx,
    target,
    `${c.label}/pack input`,
    aSource,
    c.input.buffer,
    aLayout,
    paddedW * cq * 4,
    paddedH,
  );
  const bt = await packOperand(
    ctx,
    target,
    `${c.label}/pack weight`,
    bSource,
    c.weight.buffer,
    bLayout,
    c.outChannelsPerGroup,
    kRows,
  );
  const M = c.batch * c.outHeight * c.outWidth;
  const N = c.outChannelsPerGroup;
  const kernel = memoKernel(
    'gemm',
    {
      label: c.label,
      batch: c.groups,
      M,
      N,
      k4: c.kernelHeight * c.kernelWidth * cq,
      a: {
        kind: 'conv',
        outHeight: c.outHeight,
        outWidth: c.outWidth,
        groups: c.groups,
        kernelHeight: c.kernelHeight,
        kernelWidth: c.kernelWidth,
        strideH: c.strideH,
        strideW: c.strideW,
        dilationH: c.dilationH,
        dilationW: c.dilationW,
        channelTexels: cq,
      },
      aLayout,
      bLayout,
      bBatchDiv: 1,
      bBatchMod: c.groups,
      out: nchwOutMap(c.out.strides, N, c.outWidth, c.outHeight * c.outWidth),
      accumulate: c.accumulate,
      epilogue: c.epilogue,
      tile: c.tile ?? chooseGemmTile(target, M, N, 'conv', kRows),
    },
    target,
    gemmKernel,
  );
  await dispatchKernel(ctx, kernel, {
    At: pool.view(at),
    Bt: pool.view(bt),
    out: c.out.buffer,
    ...c.epilogueResources,
  });
  pool.release(at);
  pool.release(bt);
}

export interface Conv2dCall {
  readonly label?: string;
  readonly geometry: ConvGeometry;
  readonly input: TensorBuffer;
  readonly weight: TensorBuffer;
  readonly out: TensorBuffer;
  readonly accumulate?: boolean;
  /** `bn` bias indexing gives the output channel (group b, channel n). */
  readonly epilogue?: Epilogue;
  readonly epilogueResources?: KernelResources;
  readonly tile?: GemmTile;
}

/** out = conv2d(input, weight) (+ out when accumulating) → epilogue. */
export async function conv2d(ctx: GpuContext, call: Conv2dCall): Promise<void> {
  const g = call.geometry;
  await implicitConv(ctx, {
    label: call.label ?? 'conv2d',
    batch: g.batch,
    groups: g.groups,
    input: call.input,
    inChannelsPerGroup: g.inChannels / g.groups,
    height: g.inHeight,
    width: g.inWidth,
    padTop: g.padH,
    padLeft: g.padW,
    weight: call.weight,
    reduceAxis: 1,
    flip: false,
    outChannelsPerGroup: g.outChannels / g.groups,
    kernelHeight: g.kernelHeight,
    kernelWidth: g.kernelWidth,
    strideH: g.strideH,
    strideW: g.strideW,
    dilationH: g.dilationH,
    dilationW: g.dilationW,
    outHeight: g.outHeight,
    outWidth: g.outWidth,
    out: call.out,
    accumulate: call.accumulate ?? false,
    epilogue: call.epilogue ?? IDENTITY_EPILOGUE,
    epilogueResources: call.epilogueResources,
    tile: call.tile,
  });
}

export interface ConvInputGradCall {
  readonly label?: string;
  readonly geometry: ConvGeometry;
  readonly gradOut: TensorBuffer;
  readonly weight: TensorBuffer;
  /** Receives d(loss)/d(input), shaped like the forward input. */
  readonly out: TensorBuffer;
  readonly accumulate?: boolean;
  readonly tile?: GemmTile;
}

/**
 * The transposed convolution that maps the output gradient to the input gradient. A strided
 * convolution runs by stride phase (conv2d-input-grad.ts: only contributing taps); stride 1 is the
 * same GEMM as the forward over the padded gradient with rotated weights.
 */
export async function conv2dInputGrad(ctx: GpuContext, call: ConvInputGradCall): Promise<void> {
  const g = call.geometry;
  const label = call.label ?? 'conv2d input grad';
  if (g.strideH * g.strideW > 1) {
    await conv2dInputGradPhased(ctx, {
      label,
      geometry: g,
      gradOut: call.gradOut,
      weight: call.weight,
      out: call.out,
      accumulate: call.accumulate ?? false,
      tile: call.tile,
    });
    return;
  }
  await implicitConv(ctx, {
    label,
    batch: g.batch,
    groups: g.groups,
    input: call.gradOut,
    inChannelsPerGroup: g.outChannels / g.groups,
    height: g.outHeight,
    width: g.outWidth,
    padTop: g.dilationH * (g.kernelHeight - 1) - g.padH,
    padLeft: g.dilationW * (g.kernelWidth - 1) - g.padW,
    weight: call.weight,
    reduceAxis: 0,
    flip: true,
    outChannelsPerGroup: g.inChannels / g.groups,
    kernelHeight: g.kernelHeight,
    kernelWidth: g.kernelWidth,
    strideH: 1,
    strideW: 1,
    dilationH: g.dilationH,
    dilationW: g.dilationW,
    outHeight: g.inHeight,
    outWidth: g.inWidth,
    out: call.out,
    accumulate: call.accumulate ?? false,
    epilogue: IDENTITY_EPILOGUE,
    epilogueResources: undefined,
    tile: call.tile,
  });
}
