// Benchmark case: per-kernel overhead of the runtime. 1000 dispatches of a tiny precompiled kernel
// (one 64-lane workgroup each) go through the command batcher the way a replayed training step's
// kernels do, then one read-back; the figure is wall-clock µs per dispatch.

import type { Kernel } from '../compiler/wgsl/kernel.js';
import { encodeKernel } from '../runtime/webgpu/dispatch.js';
import { result, timeRounds, type BenchCase } from './harness.js';

const TINY: Kernel = {
  key: 'bench/tiny',
  label: 'tiny',
  wgsl: `@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) { y[g.x] = y[g.x] + 1.0; }
`,
  bindings: [{ name: 'y', kind: 'storage-read-write' }],
  workgroups: [1, 1, 1],
  params: undefined,
};

export function dispatchOverheadCase(count = 1000): BenchCase {
  return {
    name: 'dispatch-overhead',
    group: 'dispatch',
    async run(ctx, rounds) {
      const pipeline = await ctx.pipelines.get(TINY);
      const y = ctx.buffers.upload(new Float32Array(64));
      const times = await timeRounds(rounds, async () => {
        for (let i = 0; i < count; i++) encodeKernel(ctx, TINY, pipeline, { y });
        await ctx.queue.read(y, 16);
      });
      ctx.buffers.release(y);
      return result(
        `${count} tiny dispatches, batched, one read-back`,
        times,
        count,
        'µs/dispatch',
        (ms) => ms * 1000,
      );
    },
  };
}
