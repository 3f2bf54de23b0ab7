// Tensors as JSON for the function-level commands (`alignc grad`): nested arrays in, nested arrays
// out. A number is a scalar, [[…], […]] a matrix; `true`/`false` are bool elements. Ragged arrays
// and non-numbers are refused with the path of the bad element.

import type { DType, Shape } from '../compiler/ir/index.js';
import { allocate, type TensorData } from '../runtime/cpu/tensor-data.js';
import { UsageError } from '../runtime/errors.js';

export function tensorFromJson(value: unknown, dtype: DType, where: string): TensorData {
  const shape: number[] = [];
  let probe: unknown = value;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const n = shape.reduce((a, d) => a * d, 1);
  const data = allocate(dtype, n, dtype === 'f32');
  let at = 0;
  const walk = (v: unknown, depth: number, path: string): void => {
    if (depth < shape.length) {
      if (!Array.isArray(v) || v.length !== shape[depth]) {
        throw new UsageError(`${where}${path} is ragged: expected ${shape[depth]} elements here`, {
          hint: `every row of a tensor has the same length; the shape so far is [${shape.join(', ')}]`,
        });
      }
      v.forEach((x, i) => walk(x, depth + 1, `${path}[${i}]`));
      return;
    }
    let number: number;
    if (typeof v === 'boolean') number = v ? 1 : 0;
    else if (typeof v === 'number' && Number.isFinite(v)) number = v;
    else {
      throw new UsageError(`${where}${path} is ${JSON.stringify(v)}, not a finite number`);
    }
    if (dtype !== 'f32' && !Number.isInteger(number)) {
      throw new UsageError(`${where}${path} is ${number}, but the parameter is ${dtype}`);
    }
    data[at++] = dtype === 'bool' ? (number ? 1 : 0) : number;
  };
  walk(value, 0, '');
  return { shape, dtype, data };
}

/** Nested arrays (or a plain number for a scalar); f32 values as JS numbers of the f32 result. */
export function tensorToJson(t: TensorData): unknown {
  const shape: Shape = t.shape;
  const values = Array.from(t.data, (v) => (t.dtype === 'bool' ? v !== 0 : v));
  if (shape.length === 0) return values[0];
  let at = 0;
  const build = (depth: number): unknown[] =>
    Array.from({ length: shape[depth] }, () =>
      depth === shape.length - 1 ? values[at++] : build(depth + 1),
    );
  return build(0);
}
