// "Did you mean …?" for compiler/check: the closest known name to a misspelt one. Besides small
// edit distances it catches decorated names (`lr_rate` → `lr`, `num_classes` → `classes`), which
// edit distance alone misses.

import { editDistance } from '../../cli/command.js';

export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  const limit = Math.max(2, Math.floor(word.length / 3));
  for (const c of candidates) {
    if (c === word) continue;
    // One- and two-letter names are all within edit distance 2 of each other: no signal there.
    let score = word.length < 3 ? Infinity : editDistance(word, c);
    if (score > limit) {
      const parts = word.split('_');
      const decorated =
        c.length >= 2 && (parts.includes(c) || word.startsWith(`${c}_`) || word.endsWith(`_${c}`));
      if (!decorated) continue;
      score = limit + 0.5;
    }
    if (score < bestScore) {
      best = c;
      bestScore = score;
    }
  }
  return best;
}
