// The GPU device layer's public surface: Dawn adapter/device, buffer pool, pipeline cache, batched
// submission and readback. Everything above runtime/gpu (the WebGPU executor, benchmarks, doctor)
// imports from here.

export { acquireGpu, releaseGpu, withGpu, assertLive } from './device.js';
export type { GpuContext, AcquireOptions } from './device.js';
export type { AdapterReport, OptionalFeature } from './adapter-report.js';
export { BufferPool, sizeClass } from './buffer-pool.js';
export { PipelineCache } from './pipeline-cache.js';
export type { KernelSource } from './pipeline-cache.js';
export { CommandBatcher } from './command-batcher.js';
export type { Dispatch, BindingResource } from './command-batcher.js';
export {
  NoAdapterError,
  DeviceRequestError,
  KernelCompileError,
  GpuValidationError,
  GpuOutOfMemoryError,
  DeviceLostError,
  GpuReleasedError,
} from './errors.js';
