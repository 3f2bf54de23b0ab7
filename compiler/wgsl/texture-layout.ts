// How a batch of matrices is laid out in one rgba32float texture, for the GEMM operands that
// compiler/wgsl/pack.ts writes and compiler/wgsl/gemm.ts reads (lavapipe's texel fetch beats
// storage-buffer loads 1.5–1.7x, lavapipe-performance.md). Each batch item ("block") is `rows`
// texel rows of `texelsPerRow` texels (4 consecutive columns per texel, zero padded). Blocks stack
// downwards; when the texture would pass the device's height limit, the next column of blocks
// starts to the right. A block never straddles a wrap, so a kernel computes its block origin once.

import { KernelLimitError } from './errors.js';

export interface TextureLayout {
  readonly blocks: number;
  readonly rows: number;
  readonly texelsPerRow: number;
  /** Blocks stacked in one column of the texture. */
  readonly blocksPerColumn: number;
  readonly width: number;
  readonly height: number;
}

export function planTextureLayout(
  kernel: string,
  blocks: number,
  rows: number,
  texelsPerRow: number,
  maxDimension: number,
): TextureLayout {
  if (rows > maxDimension) {
    throw new KernelLimitError(
      kernel,
      `an operand block of ${rows} texel rows does not fit the texture height limit ${maxDimension}`,
      { hint: 'the GEMM splits K into chunks; this is a code-generation bug if K was chunked' },
    );
  }
  const blocksPerColumn = Math.max(1, Math.floor(maxDimension / Math.max(rows, 1)));
  const columns = Math.ceil(blocks / blocksPerColumn);
  const width = columns * texelsPerRow;
  if (width > maxDimension) {
    throw new KernelLimitError(
      kernel,
      `${blocks} blocks of ${rows}x${texelsPerRow} texels need a ${width}-texel wide texture, more than the limit ${maxDimension}`,
      { hint: 'use a smaller batch' },
    );
  }
  return {
    blocks,
    rows,
    texelsPerRow,
    blocksPerColumn,
    width: Math.max(width, 1),
    height: Math.max(Math.min(blocks, blocksPerColumn) * rows, 1),
  };
}
