// Labelled fractions for low-data fine-tuning (1/5/10/20/100 % of a split), drawn by seed. Data side
// of the flow: split → labelled subset → Dataset. The draw depends only on (seed, the set of keys):
// keys are sorted by code unit first, so the order of a split file does not matter, and a permutation
// from the Philox stream `seed / 'labelled-fraction'` (runtime/rng.ts) is cut at
// max(1, round(n · percent / 100)). Because every fraction of one seed cuts the same permutation, the
// 1 % set is inside the 5 % set, which is inside the 10 % set, and so on.

import { Rng } from '../rng.js';
import { DatasetError } from './dataset.js';

export const STANDARD_FRACTIONS = [1, 5, 10, 20, 100] as const;

/** The labelled keys for `percent` of `keys` under `seed`, in code-unit order. */
export function labelledFraction(keys: readonly string[], percent: number, seed: number): string[] {
  if (!(percent > 0 && percent <= 100)) {
    throw new DatasetError(`a labelled fraction must be in (0, 100] percent, got ${percent}`);
  }
  const sorted = [...new Set(keys)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (sorted.length !== keys.length) {
    throw new DatasetError(
      'the split lists an image more than once; fractions need distinct names',
    );
  }
  const n = sorted.length;
  if (n === 0) return [];
  const count = Math.min(n, Math.max(1, Math.round((n * percent) / 100)));
  const order = Rng.fromSeed(seed).child('labelled-fraction').permutation(n);
  const chosen = Array.from(order.subarray(0, count)).sort((a, b) => a - b);
  return chosen.map((i) => sorted[i]);
}
