// Parameter initialisers, as mmdetection 2.x / mmcv 1.x apply them per layer (KaimingInit,
// NormalInit with `bias_prob`, XavierInit, ConstantInit) and as torch.nn layers do by default.
// Used by runtime/nn/module.ts when a detector is built from scratch; values are drawn from the
// host Rng (runtime/rng.ts), one child stream per qualified parameter name, so a parameter's initial
// value depends on the seed and its name only, not on the order parameters are visited.
import type { Rng } from '../rng.js';
import { ModelConfigError } from './errors.js';

export type Initializer =
  /** Every element `value` (BN/GN weight 1, biases 0, FCOS Scale 1). */
  | { readonly kind: 'constant'; readonly value: number }
  /** N(mean, std²) (mmcv NormalInit; RetinaNet/FCOS head convs use std 0.01). */
  | { readonly kind: 'normal'; readonly std: number; readonly mean?: number }
  /** U(−bound, bound). */
  | { readonly kind: 'uniform'; readonly bound: number }
  /**
   * torch.nn.init.kaiming_normal_ / kaiming_uniform_ with a leaky-ReLU slope `a` (0 = ReLU):
   * std = gain / sqrt(fan), gain = sqrt(2 / (1 + a²)). mmcv's KaimingInit default is fan_out,
   * normal, a = 0; torch's default Conv2d/Linear weight init is fan_in, uniform, a = sqrt(5).
   */
  | {
      readonly kind: 'kaiming';
      readonly mode: 'fan_in' | 'fan_out';
      readonly distribution: 'normal' | 'uniform';
      readonly a?: number;
    }
  /** torch.nn.init.xavier_uniform_ / xavier_normal_ (mmcv XavierInit; the FPN's convs). */
  | { readonly kind: 'xavier'; readonly distribution: 'normal' | 'uniform'; readonly gain?: number }
  /**
   * The constant −log((1 − p) / p): a classifier bias that makes sigmoid(score) = p at the start
   * (RetinaNet's focal-loss prior, mmcv `bias_init_with_prob`).
   */
  | { readonly kind: 'prior_prob'; readonly prior: number }
  /** torch's default bias: U(−1/sqrt(fan_in), 1/sqrt(fan_in)) of the layer's weight. */
  | { readonly kind: 'torch_default_bias'; readonly fanIn: number };

/** mmcv's `bias_init_with_prob(p)`. */
export function biasForPrior(prior: number): number {
  return -Math.log((1 - prior) / prior);
}

/** torch's `_calculate_fan_in_and_fan_out` for a weight `[out, in, ...kernel]`. */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) return { fanIn: shape[0] ?? 1, fanOut: shape[0] ?? 1 };
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

function fill(n: number, draw: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = draw();
  return out;
}

/** Values for a tensor of `shape` (`what` names it in errors). */
export function initialValues(
  init: Initializer,
  shape: readonly number[],
  rng: Rng,
  what: string,
): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  switch (init.kind) {
    case 'constant':
      return new Float32Array(n).fill(init.value);
    case 'normal': {
      const mean = init.mean ?? 0;
      return fill(n, () => mean + init.std * rng.normal());
    }
    case 'uniform':
      return fill(n, () => rng.uniformIn(-init.bound, init.bound));
    case 'kaiming': {
      const { fanIn, fanOut } = fans(shape);
      const fan = init.mode === 'fan_in' ? fanIn : fanOut;
      const a = init.a ?? 0;
      const std = Math.sqrt(2 / (1 + a * a)) / Math.sqrt(fan);
      return init.distribution === 'normal'
        ? fill(n, () => std * rng.normal())
        : fill(n, () => rng.uniformIn(-Math.sqrt(3) * std, Math.sqrt(3) * std));
    }
    case 'xavier': {
      const { fanIn, fanOut } = fans(shape);
      const std = (init.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut));
      return init.distribution === 'normal'
        ? fill(n, () => std * rng.normal())
        : fill(n, () => rng.uniformIn(-Math.sqrt(3) * std, Math.sqrt(3) * std));
    }
    case 'prior_prob':
      if (!(init.prior > 0 && init.prior < 1)) {
        throw new ModelConfigError(
          `${what}: prior probability ${init.prior} must lie strictly between 0 and 1`,
        );
      }
      return new Float32Array(n).fill(biasForPrior(init.prior));
    case 'torch_default_bias': {
      const bound = init.fanIn > 0 ? 1 / Math.sqrt(init.fanIn) : 0;
      return fill(n, () => rng.uniformIn(-bound, bound));
    }
    default:
      return init satisfies never;
  }
}
