// GPU matmul (pack + GEMM kernels, runtime/webgpu/matmul.ts) against a plain-JS reference on the
// Dawn adapter: odd sizes, transposes, broadcast batches, K chunks, epilogues, both tile variants.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { biasActivation } from '../../compiler/wgsl/epilogue.js';
import type { GemmTile } from '../../compiler/wgsl/gemm.js';
import { acquireGpu, releaseGpu, type GpuContext } from '../../runtime/gpu/index.js';
import { contiguousMatrix, matmul } from '../../runtime/webgpu/matmul.js';
import { readFloats, upload, zeros } from './gpu-helpers.js';
import { matmulReference, maxRelError, seeded } from './reference.js';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await acquireGpu();
});
afterAll(async () => {
  if (ctx) await releaseGpu(ctx);
});

interface Case {
  batch: number;
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  batchA?: number;
  batchB?: number;
  tile?: GemmTile;
}

async function run(c: Case): Promise<number> {
  const batchA = c.batchA ?? c.batch;
  const batchB = c.batchB ?? c.batch;
  const a = seeded(batchA * c.M * c.K, 1);
  const b = seeded(batchB * c.K * c.N, 2);
  const out = zeros(ctx, c.batch * c.M * c.N);
  await matmul(ctx, {
    a: contiguousMatrix(upload(ctx, a), batchA, c.M, c.K, c.transA),
    b: contiguousMatrix(upload(ctx, b), batchB, c.K, c.N, c.transB),
    batch: c.batch,
    out,
    ...(c.tile ? { tile: c.tile } : {}),
  });
  const got = await readFloats(ctx, out, c.batch * c.M * c.N);
  const want = matmulReference(a, b, c.batch, c.M, c.N, c.K, c);
  return maxRelError(got, want);
}

describe('matmul on the GPU', () => {
  // 64-multiples of K and N take the copyBufferToTexture path; the rest the pack kernel.
  it.each([
    { batch: 1, M: 1, N: 1, K: 1 },
    { batch: 1, M: 7, N: 5, K: 3 },
    { batch: 1, M: 33, N: 67, K: 45 },
    { batch: 3, M: 17, N: 9, K: 13 },
    { batch: 1, M: 64, N: 64, K: 64 },
    { batch: 3, M: 20, N: 128, K: 64 },
  ])('plain %o', async (c) => {
    expect(await run(c)).toBeLessThan(1e-5);
  });

  it('transposed operands', async () => {
    expect(await run({ batch: 2, M: 19, N: 11, K: 23, transA: true, transB: true })).toBeLessThan(
      1e-5,
    );
    expect(await run({ batch: 1, M: 9, N: 21, K: 6, transB: true })).toBeLessThan(1e-5);
  });

  it('broadcast batches', async () => {
    expect(await run({ batch: 3, M: 10, N: 12, K: 7, batchB: 1 })).toBeLessThan(1e-5);
    expect(await run({ batch: 4, M: 5, N: 6, K: 8, batchA: 1 })).toBeLessThan(1e-5);
  });

  it('the large production tile (32x8 per lane, subgroup sharing) on odd sizes', async () => {
    const big: GemmTile = { rows: 32, vec4Cols: 2, lanes: 32, subgroup: 8 };
    expect(await run({ batch: 2, M: 70, N: 75, K: 33, tile: big })).toBeLessThan(1e-5);
  });

  it('tiles without subgroups and the shared-memory GPU tile give the same numbers', async () => {
    const noShare: GemmTile = { rows: 8, vec4Cols: 2, lanes: 16, subgroup: 0 };
    const gpuTile: GemmTile = { rows: 4, vec4Cols: 1, lanes: 64, subgroup: 0 };
    const sharedTile: GemmTile = { rows: 4, vec4Cols: 1, lanes: 256, subgroup: 0, shared: true };
    expect(await run({ batch: 2, M: 70, N: 67, K: 37, tile: sharedTile })).toBeLessThan(1e-5);
    expect(await run({ batch: 1, M: 5, N: 3, K: 2, tile: sharedTile, transA: true })).toBeLessThan(
      1e-5,
    );
    expect(await run({ batch: 2, M: 37, N: 29, K: 31, tile: noShare })).toBeLessThan(1e-5);
    expect(await run({ batch: 1, M: 13, N: 70, K: 5, tile: gpuTile })).toBeLessThan(1e-5);
  });

  it('bias + relu epilogue', async () => {
    const M = 6,
      N = 10,
      K = 5;
    const a = seeded(M * K, 3),
      b = seeded(K * N, 4),
      bias = seeded(N, 5);
    const out = zeros(ctx, M * N);
    await matmul(ctx, {
      a: contiguousMatrix(upload(ctx, a), 1, M, K),
      b: contiguousMatrix(upload(ctx, b), 1, K, N),
      batch: 1,
      out,
      epilogue: biasActivation('n', 'relu'),
      epilogueResources: { bias: upload(ctx, bias) },
    });
    const got = await readFloats(ctx, out, M * N);
    const want = matmulReference(a, b, 1, M, N, K).map((v, i) => Math.max(v + bias[i % N], 0));
    expect(maxRelError(got, want)).toBeLessThan(1e-5);
  });
});
