// Batched matmul on the GPU: packs A and B into textures (compiler/wgsl/pack.ts), runs the GEMM
// kernel (compiler/wgsl/gemm.ts) and stores through an epilogue. Operands are strided views, so a
// transpose, a slice or a broadcast batch costs nothing extra. K longer than a texture can hold is
// split into chunks that accumulate into the output. Flow: executor / ops → **matmul** → dispatches
// on the command batcher of runtime/gpu (nothing waits here; read the output to synchronise).

import { IDENTITY_EPILOGUE, type Epilogue } from '../../compiler/wgsl/epilogue.js';
import {
  chooseGemmTile,
  gemmKernel,
  type GemmTile,
  type OutputMap,
} from '../../compiler/wgsl/gemm.js';
import type { KernelTarget } from '../../compiler/wgsl/kernel.js';
import { packKernel } from '../../compiler/wgsl/pack.js';
import type { PackSource } from '../../compiler/wgsl/pack-sources.js';
import { planTextureLayout, type TextureLayout } from '../../compiler/wgsl/texture-layout.js';
import type { GpuContext } from '../gpu/index.js';
import { dispatchKernel, type KernelResources } from './dispatch.js';
import { memoKernel } from './kernel-memo.js';
import { kernelTarget } from './target.js';
import { texturePool } from './texture-pool.js';

/** A strided view of a batch of matrices in a buffer; all offsets and strides in elements. */
export interface MatrixView {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  /** Batch items = batchOuter · batchInner. */
  readonly batchOuter: number;
  readonly batchInner: number;
  readonly strideBatchOuter: number;
  readonly strideBatchInner: number;
  readonly rows: number;
  readonly cols: number;
  readonly strideRow: number;
  readonly strideCol: number;
}

/**
 * A contiguous [batch, rows, cols] view; `transposed` reads storage laid out [batch, cols, rows]
 * (the logical matrix is still rows x cols).
 */
export function contiguousMatrix(
  buffer: GPUBuffer,
  batch: number,
  rows: number,
  cols: number,
  transposed = false,
): MatrixView {
  return {
    buffer,
    offset: 0,
    batchOuter: batch,
    batchInner: 1,
    strideBatchOuter: rows * cols,
    strideBatchInner: 0,
    rows,
    cols,
    strideRow: transposed ? 1 : cols,
    strideCol: transposed ? rows : 1,
  };
}

export interface MatmulCall {
  readonly label?: string;
  /** [batchA, M, K] */
  readonly a: MatrixView;
  /** [batchB, K, N] */
  readonly b: MatrixView;
  /** Output batch count; A (B) batch item of output b is b when counts match, else 0 (broadcast). */
  readonly batch: number;
  readonly out: GPUBuffer;
  /** Where the result goes; default contiguous [batch, M, N] at element 0. */
  readonly outMap?: OutputMap;
  readonly accumulate?: boolean;
  readonly epilogue?: Epilogue;
  readonly epilogueResources?: KernelResources;
  /** Override the tile choice (benchmarks, tests). */
  readonly tile?: GemmTile;
}

function batchSelector(items: number, batch: number, what: string): { div: number; mod: number } {
  if (items === batch) return { div: 1, mod: Math.max(batch, 1) };
  if (items === 1) return { div: 1, mod: 1 };
  throw new Error(`matmul ${what} has ${items} batch items for an output batch of ${batch}`);
}

function matrixSource(view: MatrixView, extraOffset: number): PackSource {
  return {
    kind: 'matrix',
    offset: view.offset + extraOffset,
    batchInner: view.batchInner,
    strideBatchOuter: view.strideBatchOuter,
    strideBatchInner: view.strideBatchInner,
    strideRow: view.strideRow,
    strideCol: view.strideCol,
  };
}

/** Most blocks copied one by one before the pack kernel is the cheaper way. */
const MAX_COPIED_BLOCKS = 64;

/**
 * Fills an operand texture with copyBufferToTexture when the view is already row-major with
 * 256-byte aligned rows and needs no zero padding (lavapipe copies at memory speed; the pack kernel
 * costs a texel-store per 4 elements). Returns undefined when the view does not qualify.
 */
function copyOperand(
  ctx: GpuContext,
  label: string,
  view: MatrixView,
  extraOffset: number,
  layout: TextureLayout,
  cols: number,
  validRows: number,
): GPUTexture | undefined {
  const offset = view.offset + extraOffset;
  const items = view.batchOuter * view.batchInner;
  const aligned =
    view.strideCol === 1 &&
    cols % 4 === 0 &&
    validRows === layout.rows &&
    (view.strideRow * 4) % 256 === 0 &&
    (offset * 4) % 16 === 0 &&
    (items === 1 || (view.batchInner === 1 && (view.strideBatchOuter * 4) % 16 === 0)) &&
    items <= MAX_COPIED_BLOCKS;
  if (!aligned) return undefined;
  const pool = texturePool(ctx.device);
  const texture = pool.acquire(layout.width, layout.height, label);
  // Through the batcher: in order with the dispatches, in the same submit, and recorded when a
  // step is captured (runtime/webgpu/captured-graph.ts).
  for (let b = 0; b < items; b++) {
    ctx.queue.copyToTexture(
      {
        buffer: view.buffer,
        offset: (offset + b * view.strideBatchOuter) * 4,
        bytesPerRow: view.strideRow * 4,
        rowsPerImage: layout.rows,
      },
      {
        texture,
        origin: [
          Math.floor(b / layout.blocksPerColumn) * layout.texelsPerRow,
          (b % layout.blocksPerColumn) * layout.rows,
        ],
      },
      [cols / 4, layout.rows],
    );
  }
  return texture;
}

/** Encodes the pack kernel that fills a (pooled) texture with one operand; returns the texture. */
export async function packOperand(
  ctx: GpuContext,
  target: KernelTarget,
  label: string,
  source: PackSource,
  buffer: GPUBuffer,
  layout: TextureLayout,
  cols: number,
  validRows: number,
): Promise<GPUTexture> {
  const pool = texturePool(ctx.device);
  const texture = pool.acquire(layout.width, layout.height, label);
  const kernel = memoKernel('pack', { label, source, layout, cols, validRows }, target, packKernel);
  await dispatchKernel(ctx, kernel, { src: buffer, dst: pool.view(texture) });
  return texture;
}

/** A GEMM whose operands come from arbitrary pack sources (matmul, convolution filter gradient). */
export interface SourcedGemm {
  readonly label: string;
  readonly batch: number;
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly aItems: number;
  readonly bItems: number;
  readonly aBuffer: GPUBuffer;
  readonly bBuffer: GPUBuffer;
  /** The A source for the K chunk starting at k0 (columns k0…). */
  sourceA(k0: number): PackSource;
  /** The B source for the K chunk starting at k0 (rows k0…). */
  sourceB(k0: number): PackSource;
  /** Plain strided views of A and B, when they are (enables the texture-copy fast path). */
  readonly viewA?: MatrixView;
  readonly viewB?: MatrixView;
  readonly out: GPUBuffer;
  readonly outMap: OutputMap;
  readonly accumulate: boolean;
  readonly epilogue: Epilogue | undefined;
  readonly epilogueResources: KernelResources | undefined;
  readonly tile: GemmTile | undefined;
}

/** Encodes pack A, pack B and the GEMM for each K chunk (chunks after the first accumulate). */
export async function sourcedGemm(ctx: GpuContext, g: SourcedGemm): Promise<void> {
  const target = kernelTarget(ctx);
  const { label, M, N, K } = g;
  const aSel = batchSelector(g.aItems, g.batch, 'A');
  const bSel = batchSelector(g.bItems, g.batch, 'B');
  const maxDim = target.maxTextureDimension2D;
  const chunk = Math.max(4, Math.floor(maxDim / 4) * 4);
  const tile = g.tile ?? chooseGemmTile(target, M, N, 'matrix', K);
  const pool = texturePool(ctx.device);
  for (let k0 = 0; k0 < Math.max(K, 1); k0 += chunk) {
    const kc = Math.min(chunk, K - k0);
    const k4 = Math.ceil(kc / 4);
    const last = k0 + chunk >= K;
    const aLayout = planTextureLayout(label, g.aItems, M, k4, maxDim);
    const bLayout = planTextureLayout(label, g.bItems, 4 * k4, Math.ceil(N / 4), maxDim);
    const at =
      (g.viewA &&
        copyOperand(ctx, `${label}/copy A`, g.viewA, k0 * g.viewA.strideCol, aLayout, kc, M)) ??
      (await packOperand(ctx, target, `${label}/pack A`, g.sourceA(k0), g.aBuffer, aLayout, kc, M));
    const bt =
      (g.viewB &&
        copyOperand(ctx, `${label}/copy B`, g.viewB, k0 * g.viewB.strideRow, bLayout, N, kc)) ??
      (await packOperand(ctx, target, `${label}/pack B`, g.sourceB(k0), g.bBuffer, bLayout, N, kc));
    const epilogue = last ? (g.epilogue ?? IDENTITY_EPILOGUE) : IDENTITY_EPILOGUE;
    const kernel = memoKernel(
      'gemm',
      {
        label,
        batch: g.batch,
        M,
        N,
        k4,
        a: { kind: 'matrix', batchDiv: aSel.div, batchMod: aSel.mod },
        aLayout,
        bLayout,
        bBatchDiv: bSel.div,
        bBatchMod: bSel.mod,
        out: g.outMap,
        accumulate: g.accumulate || k0 > 0,
        epilogue,
        tile,
      },
      target,
      gemmKernel,
    );
    await dispatchKernel(ctx, kernel, {
      At: pool.view(at),
      Bt: pool.view(bt),
      out: g.out,
      ...(last ? g.epilogueResources : {}),
    });
    pool.release(at);
    pool.release(bt);
  }
}

export async function matmul(ctx: GpuContext, call: MatmulCall): Promise<void> {
  const label = call.label ?? 'matmul';
  const { a, b } = call;
  const M = a.rows;
  const K = a.cols;
  const N = b.cols;
  if (b.rows !== K) throw new Error(`${label}: A is ${M}x${K} but B is ${b.rows}x${N}`);
  await sourcedGemm(ctx, {
    label,
    batch: call.batch,
    M,
    N,
    K,
    aItems: a.batchOuter * a.batchInner,
    bItems: b.batchOuter * b.batchInner,
    aBuffer: a.buffer,
    bBuffer: b.buffer,
    sourceA: (k0) => matrixSource(a, k0 * a.strideCol),
    sourceB: (k0) => matrixSource(b, k0 * b.strideRow),
    viewA: a,
    viewB: b,
    out: call.out,
    outMap: call.outMap ?? {
      offset: 0,
      batch: M * N,
      rowDiv: Math.max(M, 1),
      rowOuter: 0,
      rowInner: N,
      col: 1,
    },
    accumulate: call.accumulate ?? false,
    epilogue: call.epilogue,
    epilogueResources: call.epilogueResources,
    tile: call.tile,
  });
}
