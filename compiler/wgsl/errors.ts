// Errors raised by WGSL code generation (compiler/wgsl): a kernel request that the adapter's limits
// cannot hold (texture too large, grid too large, too many storage buffers). The message names the
// kernel and the limit, so the user can shrink the batch or the image size.

import { AlignError } from '../../runtime/errors.js';

export class KernelLimitError extends AlignError {
  readonly code = 'E_KERNEL_LIMIT';
  constructor(
    readonly kernel: string,
    message: string,
    options: { hint?: string } = {},
  ) {
    super(`kernel '${kernel}': ${message}`, options);
  }
}
