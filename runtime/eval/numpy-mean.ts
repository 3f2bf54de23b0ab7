// The mean pycocotools takes of the entries > -1 of a precision or recall table (runtime/eval,
// summary step). numpy sums float64 pairwise (8-way unrolled blocks of up to 128, halves above),
// so the same entries summed left to right can differ in the last bits; doing it numpy's way keeps
// the 12 numbers equal to pycocotools' to the bit, not just to 1e-15.

function pairwiseSum(values: ArrayLike<number>, start: number, n: number): number {
  if (n < 8) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[start + i];
    return sum;
  }
  if (n <= 128) {
    const r = [0, 1, 2, 3, 4, 5, 6, 7].map((j) => values[start + j]);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += values[start + i + j];
    let sum = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) sum += values[start + i];
    return sum;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return pairwiseSum(values, start, half) + pairwiseSum(values, start + half, n - half);
}

/** `np.mean(s[s > -1])` of the values, or -1 when none is > -1 (pycocotools' summary rule). */
export function meanOfValid(values: readonly number[]): number {
  const valid = values.filter((v) => v > -1);
  if (valid.length === 0) return -1;
  return (0 + pairwiseSum(valid, 0, valid.length)) / valid.length;
}
