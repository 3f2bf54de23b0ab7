// Helpers for the WGSL kernel tests: upload a Float32Array, read a buffer back as floats.

import type { GpuContext } from '../../runtime/gpu/index.js';

export function upload(ctx: GpuContext, data: Float32Array): GPUBuffer {
  return ctx.buffers.upload(data);
}

export function zeros(ctx: GpuContext, n: number): GPUBuffer {
  return ctx.buffers.upload(new Float32Array(Math.max(n, 1)));
}

export async function readFloats(
  ctx: GpuContext,
  buffer: GPUBuffer,
  n: number,
): Promise<Float32Array> {
  return new Float32Array(await ctx.queue.read(buffer, n * 4));
}
