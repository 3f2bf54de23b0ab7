// The NaN/Inf guard of the training loop (runtime/train): after every step, each named loss term
// must be a finite number. The first term that is not stops the run with the term and step named;
// the loop then writes no checkpoint of the poisoned state, so the last good one stays the newest.
// Before any checkpoint is written, every tensor of the state is checked too.

import type { TensorGroups } from './checkpoint.js';
import { NonFiniteLossError, NonFiniteStateError } from './errors.js';

/** The first loss term that is NaN or ±Infinity, in the terms' order, or undefined. */
export function firstNonFinite(
  losses: Readonly<Record<string, number>>,
): { readonly term: string; readonly value: number } | undefined {
  for (const [term, value] of Object.entries(losses)) {
    if (!Number.isFinite(value)) return { term, value };
  }
  return undefined;
}

/** Throws NonFiniteLossError naming the offending term, unless every term is finite. */
export function checkLosses(
  stage: string,
  step: number,
  losses: Readonly<Record<string, number>>,
  lastCheckpoint: string | null,
): void {
  const bad = firstNonFinite(losses);
  if (bad !== undefined)
    throw new NonFiniteLossError(stage, step, bad.term, bad.value, lastCheckpoint);
}

/** Throws NonFiniteStateError on the first f32 tensor (prefix + name) holding NaN or ±Infinity. */
export function checkStateFinite(
  stage: string,
  step: number,
  groups: TensorGroups,
  lastCheckpoint: string | null,
): void {
  for (const [prefix, group] of groups) {
    for (const [name, t] of group) {
      if (t.dtype !== 'f32') continue;
      const d = t.data;
      for (let i = 0; i < d.length; i++) {
        // x − x is 0 for finite x and NaN for NaN and ±Infinity: one test per element.
        if (d[i] - d[i] !== 0)
          throw new NonFiniteStateError(stage, step, prefix + name, lastCheckpoint);
      }
    }
  }
}
