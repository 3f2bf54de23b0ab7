// The bridge from the device layer to code generation: what compiler/wgsl may assume about the
// adapter of a GpuContext (software or not, fixed subgroup width, limits). Flow: runtime/gpu
// GpuContext → **KernelTarget** → compiler/wgsl generators.

import type { KernelTarget } from '../../compiler/wgsl/kernel.js';
import type { GpuContext } from '../gpu/index.js';

export function kernelTarget(ctx: GpuContext): KernelTarget {
  const min = ctx.info.subgroupMinSize;
  const max = ctx.info.subgroupMaxSize;
  const fixedSubgroup =
    ctx.features.has('subgroups') && min !== undefined && min === max && min > 0 ? min : undefined;
  return {
    isSoftware: ctx.isSoftware,
    subgroupSize: fixedSubgroup,
    maxTextureDimension2D: ctx.limits.maxTextureDimension2D,
    maxComputeWorkgroupsPerDimension: ctx.limits.maxComputeWorkgroupsPerDimension,
    maxStorageBuffersPerShaderStage: ctx.limits.maxStorageBuffersPerShaderStage,
    maxComputeWorkgroupStorageSize: ctx.limits.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: ctx.limits.maxComputeInvocationsPerWorkgroup,
  };
}
