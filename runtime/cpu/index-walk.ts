// Row-major multi-index iteration for the CPU reference: visits every index of a shape in order
// with one reused array (no allocation per element), plus the strided offset of an index.
import type { Shape } from '../../compiler/ir/index.js';
import { sizeOf } from '../../compiler/ir/index.js';

/** Calls `visit(index, flat)` for every multi-index of `shape` in row-major order. `index` is
 * reused between calls: read it, do not keep it. */
export function forEachIndex(
  shape: Shape,
  visit: (index: readonly number[], flat: number) => void,
): void {
  const n = sizeOf(shape);
  const index = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < n; flat++) {
    visit(index, flat);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
}

/** Σ index[d]·strides[d]. */
export function offsetOf(index: readonly number[], strides: readonly number[]): number {
  let o = 0;
  for (let d = 0; d < strides.length; d++) o += index[d] * strides[d];
  return o;
}
