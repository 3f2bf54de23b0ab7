// Learning-rate and momentum schedules: host-side functions of the iteration number whose value is
// fed to the traced step as a scalar input each iteration (so the step's kernels never recompile).
// Formulas follow PyTorch's LinearLR warmup, MultiStepLR and CosineAnnealingLR (closed form), and
// BYOL's cosine EMA-momentum ramp used by AlignDet.

export type Schedule =
  | { readonly kind: 'constant' }
  /** Multiply by `gamma` at each milestone iteration (MultiStepLR). */
  | { readonly kind: 'step'; readonly milestones: readonly number[]; readonly gamma: number }
  /** Cosine from the base value down to `min` over `total` iterations (CosineAnnealingLR). */
  | { readonly kind: 'cosine'; readonly total: number; readonly min: number };

export interface Warmup {
  /** Iterations of warmup. */
  readonly iterations: number;
  /** Factor at iteration 0 (LinearLR's start_factor; mmdet's warmup_ratio). */
  readonly startFactor: number;
  /** Linear from `startFactor` to 1 (default), or `startFactor` throughout (mmdet 'constant'). */
  readonly kind?: 'linear' | 'constant';
}

/** The schedule's value at `iteration` (0-based) for base value `base`, with optional warmup. */
export function scheduleValue(
  base: number,
  schedule: Schedule,
  iteration: number,
  warmup?: Warmup,
): number {
  let value: number;
  switch (schedule.kind) {
    case 'constant':
      value = base;
      break;
    case 'step':
      value = base * schedule.gamma ** schedule.milestones.filter((m) => iteration >= m).length;
      break;
    case 'cosine': {
      const t = Math.min(iteration, schedule.total);
      value =
        schedule.min + ((base - schedule.min) * (1 + Math.cos((Math.PI * t) / schedule.total))) / 2;
      break;
    }
    default:
      return schedule satisfies never;
  }
  if (warmup !== undefined && iteration < warmup.iterations) {
    const f =
      warmup.kind === 'constant'
        ? warmup.startFactor
        : warmup.startFactor + ((1 - warmup.startFactor) * iteration) / warmup.iterations;
    value *= f;
  }
  return value;
}

/** BYOL's EMA momentum at `iteration` of `total`: 1 − (1 − base)·(cos(π·k/K) + 1)/2, rising to 1. */
export function cosineMomentum(base: number, iteration: number, total: number): number {
  return 1 - ((1 - base) * (Math.cos((Math.PI * Math.min(iteration, total)) / total) + 1)) / 2;
}
