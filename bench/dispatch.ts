// Benchmark case: per-kernel overhead of the runtime. 1000 dispatches of a tiny precompiled kernel
// (one 64-lane workgroup each) go through the command batcher the way an uncaptured step's kernels
// do, then one read-back; the figure is wall-clock µs per dispatch, and the name carries the host's
// share (encoding and submitting). The second case captures the same 1000 dispatches once and
// replays them the way a captured step does (runtime/webgpu/captured-graph.ts: pipelines and bind
// groups resolved at capture, one submit).

import type { Kernel } from '../compiler/wgsl/kernel.js';
import { encodeKernel } from '../runtime/webgpu/dispatch.js';
import { median, result, timeRounds, type BenchCase } from './harness.js';

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
      const encode: number[] = [];
      const times = await timeRounds(rounds, async () => {
        const t0 = performance.now();
        for (let i = 0; i < count; i++) encodeKernel(ctx, TINY, pipeline, { y });
        ctx.queue.flush();
        encode.push(performance.now() - t0);
        await ctx.queue.read(y, 16);
      });
      ctx.buffers.release(y);
      return result(
        `${count} tiny dispatches, batched, one read-back (host ${hostUs(encode, count)})`,
        times,
        count,
        'µs/dispatch',
        (ms) => ms * 1000,
      );
    },
  };
}

export function capturedDispatchCase(count = 1000): BenchCase {
  return {
    name: 'dispatch-captured',
    group: 'dispatch',
    async run(ctx, rounds) {
      const pipeline = await ctx.pipelines.get(TINY);
      const y = ctx.buffers.upload(new Float32Array(64));
      ctx.queue.beginCapture(`tiny x${count}`);
      for (let i = 0; i < count; i++) encodeKernel(ctx, TINY, pipeline, { y });
      const captured = ctx.queue.endCapture();
      if ('broken' in captured)
        throw new Error(`dispatch bench: capture failed: ${captured.broken}`);
      const encode: number[] = [];
      const times = await timeRounds(rounds, async () => {
        const t0 = performance.now();
        ctx.queue.replay(captured);
        encode.push(performance.now() - t0);
        await ctx.queue.read(y, 16);
      });
      ctx.buffers.release(y);
      return result(
        `${count} tiny dispatches, captured, replayed (host ${hostUs(encode, count)})`,
        times,
        count,
        'µs/dispatch',
        (ms) => ms * 1000,
      );
    },
  };
}

/** The host's share: median µs per dispatch to encode and submit (the rest is lavapipe running). */
function hostUs(encodeMs: readonly number[], count: number): string {
  return `${((median(encodeMs) / count) * 1000).toFixed(1)} µs`;
}
