// Benchmark cases: square matmul 512/1024/2048 through the runtime path (pack A and B into textures,
// GEMM kernel, read C back), counted as 2·N³ useful FLOPs per product.

import type { GemmTile } from '../compiler/wgsl/gemm.js';
import type { GpuContext } from '../runtime/gpu/index.js';
import { contiguousMatrix, matmul } from '../runtime/webgpu/matmul.js';
import { result, seeded, timeRounds, type BenchCase } from './harness.js';

export function matmulCase(size: number, tile?: GemmTile, tag = ''): BenchCase {
  return {
    name: `matmul${size}${tag}`,
    group: 'matmul',
    async run(ctx: GpuContext, rounds: number) {
      const a = ctx.buffers.upload(seeded(size * size, 1));
      const b = ctx.buffers.upload(seeded(size * size, 2));
      const out = ctx.buffers.acquire(size * size * 4);
      const op = async () => {
        await matmul(ctx, {
          a: contiguousMatrix(a, 1, size, size),
          b: contiguousMatrix(b, 1, size, size),
          batch: 1,
          out,
          ...(tile ? { tile } : {}),
        });
        await ctx.queue.read(out, 4 * 16);
      };
      const times = await timeRounds(rounds, op);
      for (const buffer of [a, b, out]) ctx.buffers.release(buffer);
      return result(
        `matmul ${size}³${tag}`,
        times,
        1,
        'GFLOP/s',
        (ms) => (2 * size ** 3) / (ms * 1e6),
      );
    },
  };
}
