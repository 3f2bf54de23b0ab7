// Errors of the detection building blocks (runtime/detect): anchors/points, coders, assigners,
// samplers, NMS and post-processing. These sit at the end of the flow (runtime), where a pipeline's
// parameters meet real tensors; a bad size or parameter is reported with the block and the item.

import { AlignError } from '../errors.js';

/** A detection block was given inconsistent sizes or an out-of-range parameter. */
export class DetectInputError extends AlignError {
  readonly code = 'E_DETECT_INPUT';
}

/** Throws a DetectInputError unless `values` holds whole rows of `width` numbers; returns the row count. */
export function rowCount(
  values: ArrayLike<number>,
  width: number,
  block: string,
  what: string,
): number {
  if (values.length % width !== 0) {
    throw new DetectInputError(
      `${block}: ${what} has ${values.length} numbers, not a multiple of ${width}`,
      { hint: `pass ${what} as a flat array of rows of ${width} numbers` },
    );
  }
  return values.length / width;
}

/** Throws a DetectInputError when `value` is not a finite number inside [min, max]. */
export function checkRange(
  value: number,
  min: number,
  max: number,
  block: string,
  what: string,
): void {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new DetectInputError(`${block}: ${what} = ${value} is outside [${min}, ${max}]`);
  }
}
