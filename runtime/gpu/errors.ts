// Typed errors of the GPU device layer (runtime/gpu): no adapter, a kernel that does not compile, a
// validation error in a batch of dispatches, a lost device. Each names the kernel involved, so a
// user or a compiler engineer can go straight to the generated WGSL (ALIGNC_DEBUG=3 prints it).

import { AlignError } from '../errors.js';

export class NoAdapterError extends AlignError {
  readonly code = 'E_GPU_NO_ADAPTER';
}

export class DeviceRequestError extends AlignError {
  readonly code = 'E_GPU_DEVICE';
}

/** WGSL that Dawn rejects: the kernel's label and the offending lines are in the message. */
export class KernelCompileError extends AlignError {
  readonly code = 'E_GPU_KERNEL_COMPILE';
  constructor(
    readonly kernel: string,
    message: string,
    options: { hint?: string; cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

/** Validation or internal errors raised while encoding or submitting dispatches. */
export class GpuValidationError extends AlignError {
  readonly code = 'E_GPU_VALIDATION';
  constructor(
    readonly kernels: readonly string[],
    message: string,
    options: { hint?: string; cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

export class GpuOutOfMemoryError extends AlignError {
  readonly code = 'E_GPU_OUT_OF_MEMORY';
}

export class DeviceLostError extends AlignError {
  readonly code = 'E_GPU_DEVICE_LOST';
}

/** Use of a GpuContext after releaseGpu(). */
export class GpuReleasedError extends AlignError {
  readonly code = 'E_GPU_RELEASED';
}

/**
 * Prints the WGSL lines around `line` (1-based) with a caret under `column`, for compile errors.
 */
export function wgslExcerpt(wgsl: string, line: number, column: number, context = 2): string {
  const lines = wgsl.split('\n');
  const from = Math.max(1, line - context);
  const to = Math.min(lines.length, line + context);
  const width = String(to).length;
  const out: string[] = [];
  for (let n = from; n <= to; n++) {
    out.push(`${String(n).padStart(width)} | ${lines[n - 1]}`);
    if (n === line) out.push(`${' '.repeat(width)} | ${' '.repeat(Math.max(0, column - 1))}^`);
  }
  return out.join('\n');
}
