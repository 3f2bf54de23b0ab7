// Compiling a graph's pipelines in parallel before its first run. The executor asks for a pipeline
// when it encodes a step and waits for it, so a first run would compile its GEMM/conv kernels one
// after another (~0.2–1.5 s each on lavapipe: tens of seconds for a detector step). A prefetch walks
// the same encoding with the command batcher in dry-run mode (work validated and dropped, reads
// answered with zeros) and the pipeline cache starting compiles without waiting; then it waits for
// all of them at once, and the real first run finds every pipeline ready.
// Nothing else may use the context's queue while a prefetch walks (the runtime runs one graph at a
// time). Flow: runtime/webgpu captured graph → **prefetch** → pipeline cache (Dawn compiles).

import type { GpuContext } from './device.js';

/** Runs `walk` (which encodes work as a real run would) dry; resolves when its pipelines compiled. */
export async function prefetchPipelines(
  ctx: GpuContext,
  walk: () => Promise<void>,
): Promise<number> {
  ctx.queue.setDryRun(true);
  ctx.pipelines.beginPrefetch();
  try {
    await walk();
  } catch (error) {
    ctx.queue.setDryRun(false);
    await ctx.pipelines.endPrefetch().catch(() => 0);
    throw error;
  }
  ctx.queue.setDryRun(false);
  return ctx.pipelines.endPrefetch();
}
