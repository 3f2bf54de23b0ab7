// Gradient clipping by global norm and parameter EMA, as tensor operations (IR).
// clipGradNorm follows `torch.nn.utils.clip_grad_norm_` (coefficient max/(norm + 1e-6), capped at 1);
// emaUpdate is the momentum-detector update target ← m·target + (1 − m)·online (BYOL/AlignDet).
import type { TensorLike } from '../tensor/tensor.js';
import type { Tensor } from '../tensor/tensor.js';

export function globalNorm(tensors: readonly Tensor[]): Tensor {
  const squares = tensors.map((t) => t.mul(t).sum());
  return squares.reduce((a, b) => a.add(b)).sqrt();
}

/** Scales all gradients together so their global L2 norm is at most `maxNorm`. */
export function clipGradNorm(
  grads: readonly Tensor[],
  maxNorm: number,
): { grads: Tensor[]; totalNorm: Tensor } {
  const totalNorm = globalNorm(grads);
  const coef = totalNorm.add(1e-6).recip().mul(maxNorm).minimum(1);
  return { grads: grads.map((g) => g.mul(coef)), totalNorm };
}

/** target ← momentum·target + (1 − momentum)·online. */
export function emaUpdate(target: Tensor, online: Tensor, momentum: TensorLike): Tensor {
  const keep = target.mul(momentum);
  const take =
    typeof momentum === 'number' ? online.mul(1 - momentum) : online.mul(momentum.neg().add(1));
  return keep.add(take);
}
