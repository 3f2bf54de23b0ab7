// Host tensor values: a shape, a dtype and a flat row-major typed array. The currency of the CPU
// reference interpreter (runtime/cpu), of the Backend interface (runtime/tensor) and of tests.
// `f32` data is a Float32Array, or a Float64Array when the CPU reference runs in its f64 mode
// (used for finite-difference gradient checks).
import type { DType, Shape } from '../../compiler/ir/index.js';
import { sizeOf } from '../../compiler/ir/index.js';

export type Storage = Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array;

export interface TensorData {
  readonly shape: Shape;
  readonly dtype: DType;
  readonly data: Storage;
}

/** A zero-filled array for `n` elements of `dtype` (`float64` selects Float64Array for f32). */
export function allocate(dtype: DType, n: number, float64 = false): Storage {
  switch (dtype) {
    case 'f32':
      return float64 ? new Float64Array(n) : new Float32Array(n);
    case 'i32':
      return new Int32Array(n);
    case 'u32':
      return new Uint32Array(n);
    case 'bool':
      return new Uint8Array(n);
    default:
      return dtype satisfies never;
  }
}

/** A tensor from plain numbers (row-major). Numbers are converted as the typed array stores them. */
export function tensorData(
  shape: Shape,
  values: ArrayLike<number>,
  dtype: DType = 'f32',
  float64 = false,
): TensorData {
  const n = sizeOf(shape);
  if (values.length !== n) {
    throw new RangeError(`tensorData: ${values.length} values for shape [${shape.join(',')}]`);
  }
  const data = allocate(dtype, n, float64);
  for (let i = 0; i < n; i++) data[i] = dtype === 'bool' ? (values[i] ? 1 : 0) : values[i];
  return { shape: [...shape], dtype, data };
}

/** The same values with f32 data held as Float64Array (or back to Float32Array). */
export function withFloatPrecision(t: TensorData, float64: boolean): TensorData {
  if (t.dtype !== 'f32') return t;
  const data = float64 ? Float64Array.from(t.data) : Float32Array.from(t.data);
  return { shape: t.shape, dtype: t.dtype, data };
}

export function toNumbers(t: TensorData): number[] {
  return Array.from(t.data);
}
