// The filter gradient of a 2-D convolution on the GPU (PyTorch semantics), as a GEMM with split-K:
// dW[g]ᵀ = im2col(X[g])ᵀ · dY[g]. The output is small and K = N·OH·OW is long, so K chunks run side
// by side as batch items of one GEMM and a summing kernel adds them up. Flow: executor / ops →
// **conv2d filter grad** → pack + gemm + split-k kernels (compiler/wgsl) → command batcher.

import { IDENTITY_EPILOGUE } from '../../compiler/wgsl/epilogue.js';
import {
  chooseGemmTile,
  gemmKernel,
  type GemmTile,
  type OutputMap,
} from '../../compiler/wgsl/gemm.js';
import type { ConvGeometry } from '../../compiler/wgsl/pack-sources.js';
import { splitKSumKernel } from '../../compiler/wgsl/split-k.js';
import { planTextureLayout } from '../../compiler/wgsl/texture-layout.js';
import type { GpuContext } from '../gpu/index.js';
import type { TensorBuffer } from './conv2d.js';
import { dispatchKernel } from './dispatch.js';
import { memoKernel } from './kernel-memo.js';
import { packOperand, sourcedGemm } from './matmul.js';
import { kernelTarget } from './target.js';
import { texturePool } from './texture-pool.js';

export interface ConvFilterGradCall {
  readonly label?: string;
  readonly geometry: ConvGeometry;
  readonly input: TensorBuffer;
  readonly gradOut: TensorBuffer;
  /** Receives d(loss)/d(weight), contiguous [O, C/groups, KH, KW]. */
  readonly out: GPUBuffer;
  readonly accumulate?: boolean;
  readonly tile?: GemmTile;
  /** Force the number of K chunks run side by side (tests); default from the output size. */
  readonly splitK?: number;
}

/** Split-K aims for at least this many workgroups in the filter-gradient GEMM. */
const SPLIT_K_TARGET_WORKGROUPS = 32;
/** ...without making a chunk shorter than this many pixels. */
const SPLIT_K_MIN_CHUNK = 512;

/**
 * dW[g]ᵀ = im2col(X[g])ᵀ ([C/g·KH·KW, N·OH·OW]) · dY[g] (as [N·OH·OW, O/g]): the long (C·KH·KW)
 * side is M, where the register-blocked tile is most efficient, and the result is stored
 * transposed into the OIHW gradient. The output is small and K = N·OH·OW long, so K is split into
 * chunks that run side by side as batch items (split-K), then summed.
 */
export async function conv2dFilterGrad(ctx: GpuContext, call: ConvFilterGradCall): Promise<void> {
  const g = call.geometry;
  const label = call.label ?? 'conv2d filter grad';
  const target = kernelTarget(ctx);
  const og = g.outChannels / g.groups;
  const taps = (g.inChannels / g.groups) * g.kernelHeight * g.kernelWidth;
  const K = g.batch * g.outHeight * g.outWidth;
  const tile = call.tile ?? chooseGemmTile(target, taps, og, 'matrix', K);
  const outMap: OutputMap = {
    offset: 0,
    batch: og * taps,
    rowDiv: Math.max(taps, 1),
    rowOuter: 0,
    rowInner: 1,
    col: taps,
  };
  const pixels = (groups: number, chunkLength: number) => ({
    groups,
    pixelOffset: 0,
    chunkLength,
    totalPixels: K,
  });
  const tiles =
    Math.ceil(taps / tile.rows) * Math.ceil(og / (tile.lanes * 4 * tile.vec4Cols)) * g.groups;
  const maxChunk = Math.floor(target.maxTextureDimension2D / 4) * 4;
  const wanted =
    call.splitK ??
    Math.min(Math.ceil(SPLIT_K_TARGET_WORKGROUPS / tiles), Math.floor(K / SPLIT_K_MIN_CHUNK));
  const parts = Math.max(wanted, Math.ceil(K / maxChunk), 1);
  if (parts === 1 || tile.shared) {
    await sourcedGemm(ctx, {
      label,
      batch: g.groups,
      M: taps,
      N: og,
      K,
      aItems: g.groups,
      bItems: g.groups,
      aBuffer: call.input.buffer,
      bBuffer: call.gradOut.buffer,
      sourceA: (k0) => ({
        kind: 'im2col',
        input: call.input.strides,
        geometry: g,
        pixels: { ...pixels(g.groups, 0), pixelOffset: k0 },
      }),
      sourceB: (k0) => ({
        kind: 'conv-output-matrix',
        tensor: call.gradOut.strides,
        outPerGroup: og,
        outHeight: g.outHeight,
        outWidth: g.outWidth,
        pixels: { ...pixels(g.groups, 0), pixelOffset: k0 },
      }),
      out: call.out,
      outMap,
      accumulate: call.accumulate ?? false,
      epilogue: undefined,
      epilogueResources: undefined,
      tile,
    });
    return;
  }
  const chunk = Math.ceil(K / parts / 4) * 4;
  const chunks = Math.ceil(K / chunk);
  const blocks = g.groups * chunks;
  const maxDim = target.maxTextureDimension2D;
  const aLayout = planTextureLayout(label, blocks, taps, chunk / 4, maxDim);
  const bLayout = planTextureLayout(label, blocks, chunk, Math.ceil(og / 4), maxDim);
  const at = await packOperand(
    ctx,
    target,
    `${label}/pack im2col`,
    { kind: 'im2col', input: call.input.strides, geometry: g, pixels: pixels(g.groups, chunk) },
    call.input.buffer,
    aLayout,
    chunk,
    taps,
  );
  const bt = await packOperand(
    ctx,
    target,
    `${label}/pack grad`,
    {
      kind: 'conv-output-matrix',
      tensor: call.gradOut.strides,
      outPerGroup: og,
      outHeight: g.outHeight,
      outWidth: g.outWidth,
      pixels: pixels(g.groups, chunk),
    },
    call.gradOut.buffer,
    bLayout,
    og,
    chunk,
  );
  const partial = ctx.buffers.acquire(blocks * taps * og * 4, `${label}/partials`);
  const pool = texturePool(ctx.device);
  const gemm = memoKernel(
    'gemm',
    {
      label: `${label}/split-K gemm`,
      batch: blocks,
      M: taps,
      N: og,
      k4: chunk / 4,
      a: { kind: 'matrix' as const, batchDiv: 1, batchMod: blocks },
      aLayout,
      bLayout,
      bBatchDiv: 1,
      bBatchMod: blocks,
      out: {
        offset: 0,
        batch: taps * og,
        rowDiv: Math.max(taps, 1),
        rowOuter: 0,
        rowInner: og,
        col: 1,
      },
      accumulate: false,
      epilogue: IDENTITY_EPILOGUE,
      tile,
    },
    target,
    gemmKernel,
  );
  await dispatchKernel(ctx, gemm, { At: pool.view(at), Bt: pool.view(bt), out: partial });
  pool.release(at);
  pool.release(bt);
  const sum = memoKernel(
    'split-k',
    {
      label: `${label}/split-K sum`,
      parts: chunks,
      batch: g.groups,
      M: taps,
      N: og,
      out: outMap,
      accumulate: call.accumulate ?? false,
    },
    target,
    splitKSumKernel,
  );
  await dispatchKernel(ctx, sum, { partial, out: call.out });
  ctx.buffers.release(partial);
}
