// SGD with momentum and weight decay as tensor operations (IR), PyTorch's `torch.optim.SGD` update:
// d = g + wd·p; buf = μ·buf + d (zero-initialised, which equals PyTorch's first-step copy);
// d = nesterov ? d + μ·buf : buf; p = p − lr·d. `lr` may be a scalar Tensor input, so a schedule
// changes it every step without recompiling the traced training step. Flow: IR → kernels.
import type { TensorLike } from '../tensor/tensor.js';
import { Tensor } from '../tensor/tensor.js';

export interface SgdOptions {
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov?: boolean;
}

export interface SgdResult {
  readonly param: Tensor;
  /** The new momentum buffer (pass it back next step); equals the input buffer when momentum is 0. */
  readonly momentumBuffer: Tensor;
}

/** One SGD step for one parameter. `momentumBuffer` starts as zeros of the parameter's shape. */
export function sgdStep(
  param: Tensor,
  grad: Tensor,
  momentumBuffer: Tensor,
  lr: TensorLike,
  options: SgdOptions,
): SgdResult {
  let d = options.weightDecay !== 0 ? grad.add(param.mul(options.weightDecay)) : grad;
  let buffer = momentumBuffer;
  if (options.momentum !== 0) {
    buffer = momentumBuffer.mul(options.momentum).add(d);
    d = options.nesterov ? d.add(buffer.mul(options.momentum)) : buffer;
  }
  return { param: param.sub(d.mul(lr)), momentumBuffer: buffer };
}

export function zerosLike(t: Tensor): Tensor {
  return Tensor.full(t.shape, 0, t.dtype, t.trace);
}
