// The filter gradient of a 2-D convolution on the GPU (PyTorch semantics) as an implicit GEMM over
// the output pixels (compiler/wgsl/conv-filter-grad.ts): the input is packed once as zero-padded
// NHWC4 texels (as for the forward), the output gradient as [out channel] × pixel texels, and no
// im2col is materialised. The output is small and K = N·OH·OW long, so K is split into chunks of
// output rows that run side by side as batch items, and a summing kernel adds the partials into the
// OIHW gradient. Flow: executor / ops → **conv2d filter grad** → pack + conv-filter-grad kernels →
// command batcher.

import {
  chooseFilterGradTile,
  convFilterGradKernel,
  convFilterGradSumKernel,
  filterGradColumns,
} from '../../compiler/wgsl/conv-filter-grad.js';
import type { GemmTile } from '../../compiler/wgsl/gemm.js';
import type { ConvGeometry } from '../../compiler/wgsl/pack-sources.js';
import { planTextureLayout } from '../../compiler/wgsl/texture-layout.js';
import type { GpuContext } from '../gpu/index.js';
import type { TensorBuffer } from './conv2d.js';
import { dispatchKernel } from './dispatch.js';
import { memoKernel } from './kernel-memo.js';
import { packOperand } from './matmul.js';
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

/** Split-K aims for at least this many workgroups in the filter-gradient kernel. */
const SPLIT_K_TARGET_WORKGROUPS = 32;
/** ...without making a chunk shorter than this many output pixels. */
const SPLIT_K_MIN_CHUNK = 512;

/** How many output rows (n, oy) each K chunk covers, and how many chunks. */
function chunking(
  g: ConvGeometry,
  tile: GemmTile,
  columns: number,
  texelsPerRow: number,
  maxDim: number,
  forced: number | undefined,
): { rowsPerChunk: number; chunks: number } {
  const rows = g.batch * g.outHeight;
  const tiles =
    Math.ceil(g.outChannels / g.groups / tile.rows) *
    Math.ceil(columns / (tile.lanes * 4 * tile.vec4Cols)) *
    g.groups;
  const wanted =
    forced ??
    Math.min(
      Math.ceil(SPLIT_K_TARGET_WORKGROUPS / tiles),
      Math.floor((rows * g.outWidth) / SPLIT_K_MIN_CHUNK),
    );
  // A chunk's output-gradient texels must fit one texture row.
  const maxRows = Math.max(1, Math.floor(maxDim / texelsPerRow));
  const rowsPerChunk = Math.min(Math.ceil(rows / Math.max(wanted, 1)), maxRows);
  return { rowsPerChunk, chunks: Math.ceil(rows / rowsPerChunk) };
}

/** out (+)= d(loss)/d(weight): Σ over output pixels of dY[pixel, o] · X[pixel ⊕ tap, c]. */
export async function conv2dFilterGrad(ctx: GpuContext, call: ConvFilterGradCall): Promise<void> {
  const g = call.geometry;
  const label = call.label ?? 'conv2d filter grad';
  const target = kernelTarget(ctx);
  const maxDim = target.maxTextureDimension2D;
  const pool = texturePool(ctx.device);
  const outPerGroup = g.outChannels / g.groups;
  const cq = Math.ceil(g.inChannels / g.groups / 4);
  const columns = filterGradColumns(g, cq);
  const paddedOutWidth = Math.ceil(g.outWidth / 4) * 4;
  const K = g.batch * g.outHeight * paddedOutWidth;
  const tile = call.tile ?? chooseFilterGradTile(target, outPerGroup, columns, K);
  const { rowsPerChunk, chunks } = chunking(
    g,
    tile,
    columns,
    paddedOutWidth / 4,
    maxDim,
    call.splitK,
  );
  const aLayout = planTextureLayout(
    label,
    chunks * g.groups,
    outPerGroup,
    (rowsPerChunk * paddedOutWidth) / 4,
    maxDim,
  );
  // The padded input must cover every tap of the padded output rows.
  const height = (g.outHeight - 1) * g.strideH + (g.kernelHeight - 1) * g.dilationH + 1;
  const width = (paddedOutWidth - 1) * g.strideW + (g.kernelWidth - 1) * g.dilationW + 1;
  const bLayout = planTextureLayout(label, g.batch * g.groups, height, width * cq, maxDim);
  const at = await packOperand(
    ctx,
    target,
    `${label}/pack grad`,
    {
      kind: 'conv-grad-rows',
      tensor: call.gradOut.strides,
      groups: g.groups,
      outPerGroup,
      outHeight: g.outHeight,
      outWidth: g.outWidth,
      paddedWidth: paddedOutWidth,
      rowsPerChunk,
      totalRows: g.batch * g.outHeight,
    },
    call.gradOut.buffer,
    aLayout,
    rowsPerChunk * paddedOutWidth,
    outPerGroup,
  );
  const bt = await packOperand(
    ctx,
    target,
    `${label}/pack input`,
    {
      kind: 'conv-input',
      tensor: call.input.strides,
      channelsPerGroup: g.inChannels / g.groups,
      channels4: cq * 4,
      groups: g.groups,
      height: g.inHeight,
      width: g.inWidth,
      padTop: g.padH,
      padLeft: g.padW,
    },
    call.input.buffer,
    bLayout,
    width * cq * 4,
    height,
  );
  const partial = ctx.buffers.acquire(chunks * g.outChannels * columns * 4, `${label}/partials`);
  const gemm = memoKernel(
    'conv-filter-grad',
    {
      label: `${label}/implicit gemm`,
      geometry: g,
      rowsPerChunk,
      chunks,
      paddedOutWidth,
      channelTexels: cq,
      aLayout,
      bLayout,
      tile,
    },
    target,
    convFilterGradKernel,
  );
  await dispatchKernel(ctx, gemm, { At: pool.view(at), Bt: pool.view(bt), partial });
  pool.release(at);
  pool.release(bt);
  const sum = memoKernel(
    'conv-filter-grad-sum',
    {
      label: `${label}/sum`,
      geometry: g,
      chunks,
      channelTexels: cq,
      accumulate: call.accumulate ?? false,
    },
    target,
    convFilterGradSumKernel,
  );
  await dispatchKernel(ctx, sum, { partial, out: call.out });
  ctx.buffers.release(partial);
}
