// The one place that loads Dawn's Node binding (npm `webgpu`). Importing this module installs the
// WebGPU globals (GPUBufferUsage, GPUMapMode, GPUBuffer, …) that the rest of runtime/gpu uses, and
// owns the `GPU` object: Dawn keeps the process alive while it is reachable, so it lives here and
// only here, and dropGpu() lets Node exit.

import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);

let instance: GPU | undefined;
let instanceFlags = '';

/** The process-wide GPU object; Dawn toggles (`enable-dawn-features=…`) apply at first creation. */
export function dawnGpu(flags: readonly string[] = []): GPU {
  const key = flags.join(' ');
  if (instance && key !== instanceFlags) {
    throw new Error(`Dawn was already created with flags '${instanceFlags}', not '${key}'`);
  }
  if (!instance) {
    instance = create([...flags]);
    instanceFlags = key;
  }
  return instance;
}

/** Drops the reference to Dawn so the process can exit once devices are destroyed. */
export function dropGpu(): void {
  instance = undefined;
  instanceFlags = '';
}
