// Encodes one generated Kernel (compiler/wgsl) on the command batcher of runtime/gpu: compiles or
// fetches its pipeline by structural key, uploads its parameter block as a (content-cached) uniform
// buffer, and binds resources by the names the kernel declared. Flow: Kernel → **dispatch** →
// CommandBatcher (many dispatches per compute pass and submit).

import type { Kernel } from '../../compiler/wgsl/kernel.js';
import type { BindingResource, GpuContext } from '../gpu/index.js';

export type KernelResources = Readonly<Record<string, BindingResource>>;

export async function dispatchKernel(
  ctx: GpuContext,
  kernel: Kernel,
  resources: KernelResources,
): Promise<void> {
  const pipeline = await ctx.pipelines.get(kernel);
  encodeKernel(ctx, kernel, pipeline, resources);
}

/** The synchronous half of dispatchKernel, for a pipeline already compiled. */
export function encodeKernel(
  ctx: GpuContext,
  kernel: Kernel,
  pipeline: GPUComputePipeline,
  resources: KernelResources,
): void {
  const buffers = kernel.bindings.map((binding) => {
    if (binding.name === 'params' && binding.kind === 'uniform') {
      if (!kernel.params) throw new Error(`kernel '${kernel.label}' declares params but has none`);
      return ctx.buffers.uniform(kernel.params);
    }
    const resource = resources[binding.name];
    if (resource === undefined) {
      throw new Error(`kernel '${kernel.label}' needs a resource for binding '${binding.name}'`);
    }
    return resource;
  });
  ctx.queue.dispatch({ pipeline, label: kernel.label, buffers, workgroups: kernel.workgroups });
}
