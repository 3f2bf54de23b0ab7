// AdamW as tensor operations (IR), PyTorch's `torch.optim.AdamW` update (decoupled weight decay):
// p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
// p ← p − lr/(1−β1^t) · m / (√v/√(1−β2^t) + ε). `lr` and the 1-based step `t` may be scalar
// Tensors (graph inputs) so the traced step is replayed unchanged. Flow: IR → kernels.
import type { TensorLike } from '../tensor/tensor.js';
import { Tensor } from '../tensor/tensor.js';

export interface AdamWOptions {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
}

export const ADAMW_DEFAULTS: AdamWOptions = {
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01,
};

export interface AdamWState {
  readonly m: Tensor;
  readonly v: Tensor;
}

function asTensor(x: TensorLike, like: Tensor): Tensor {
  return typeof x === 'number' ? Tensor.full([], x, 'f32', like.trace) : x;
}

/** One AdamW step for one parameter; `state` starts as zeros; `step` counts from 1. */
export function adamwStep(
  param: Tensor,
  grad: Tensor,
  state: AdamWState,
  lr: TensorLike,
  step: TensorLike,
  options: AdamWOptions = ADAMW_DEFAULTS,
): { param: Tensor; state: AdamWState } {
  const lrT = asTensor(lr, param);
  const t = asTensor(step, param);
  const decayed = param.mul(lrT.mul(-options.weightDecay).add(1));
  const m = state.m.mul(options.beta1).add(grad.mul(1 - options.beta1));
  const v = state.v.mul(options.beta2).add(grad.mul(grad).mul(1 - options.beta2));
  const correction1 = Tensor.full([], options.beta1, 'f32', param.trace).pow(t).neg().add(1);
  const correction2 = Tensor.full([], options.beta2, 'f32', param.trace).pow(t).neg().add(1);
  const denom = v.sqrt().div(correction2.sqrt()).add(options.eps);
  const update = m.div(denom).mul(lrT.div(correction1));
  return { param: decayed.sub(update), state: { m, v } };
}
