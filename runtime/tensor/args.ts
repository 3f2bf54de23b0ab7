// Argument normalisation for the Tensor front end: numpy broadcasting of shapes, negative axes, and
// PyTorch-style convolution options (an int or a pair). Pure functions, no IR.
import type { Conv2dParams, Shape } from '../../compiler/ir/index.js';
import { TensorShapeError } from './errors.js';

/** numpy broadcasting of two shapes. */
export function broadcastShapes(a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new TensorShapeError(`shapes [${a.join(',')}] and [${b.join(',')}] do not broadcast`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank)
    throw new TensorShapeError(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

export interface ConvOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
}

export function pairOf(v: number | [number, number] | undefined, dflt: number): [number, number] {
  if (v === undefined) return [dflt, dflt];
  return typeof v === 'number' ? [v, v] : v;
}

export function convParams(o: ConvOptions): Conv2dParams {
  return {
    stride: pairOf(o.stride, 1),
    padding: pairOf(o.padding, 0),
    dilation: pairOf(o.dilation, 1),
    groups: o.groups ?? 1,
  };
}
