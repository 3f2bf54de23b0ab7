// Scalar semantics of the elementwise IR primitives (unary, binary, compare, cast) for the CPU
// reference. This file *defines* what those ops compute; WGSL lowerings must agree with it.
// Integer arithmetic wraps like WGSL (i32 two's complement, u32 mod 2^32); integer division by
// zero gives the dividend and remainder by zero gives 0 (WGSL's rule).
import type { BinaryFn, CompareFn, DType, UnaryFn } from '../../compiler/ir/index.js';

/** Round half to even (WGSL `round`, torch.round). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function wrap(dtype: DType, v: number): number {
  if (dtype === 'i32') return v | 0;
  if (dtype === 'u32') return v >>> 0;
  return v;
}

export function applyUnary(fn: UnaryFn, dtype: DType, x: number): number {
  switch (fn) {
    case 'neg':
      return wrap(dtype, -x);
    case 'abs':
      return wrap(dtype, Math.abs(x));
    case 'sign':
      return x > 0 ? 1 : x < 0 ? -1 : x === 0 ? 0 : NaN;
    case 'exp':
      return Math.exp(x);
    case 'log':
      return Math.log(x);
    case 'sqrt':
      return Math.sqrt(x);
    case 'rsqrt':
      return 1 / Math.sqrt(x);
    case 'recip':
      return 1 / x;
    case 'sin':
      return Math.sin(x);
    case 'cos':
      return Math.cos(x);
    case 'tanh':
      return Math.tanh(x);
    case 'atan':
      return Math.atan(x);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-x));
    case 'floor':
      return Math.floor(x);
    case 'ceil':
      return Math.ceil(x);
    case 'round':
      return roundHalfEven(x);
    case 'not':
      return dtype === 'bool' ? (x ? 0 : 1) : wrap(dtype, ~x);
    default:
      return fn satisfies never;
  }
}

function intDiv(dtype: DType, a: number, b: number): number {
  if (b === 0) return a;
  return wrap(dtype, Math.trunc(a / b));
}

export function applyBinary(fn: BinaryFn, dtype: DType, a: number, b: number): number {
  const isInt = dtype === 'i32' || dtype === 'u32';
  switch (fn) {
    case 'add':
      return wrap(dtype, a + b);
    case 'sub':
      return wrap(dtype, a - b);
    case 'mul':
      return dtype === 'i32' ? Math.imul(a, b) : dtype === 'u32' ? Math.imul(a, b) >>> 0 : a * b;
    case 'div':
      return isInt ? intDiv(dtype, a, b) : a / b;
    case 'max':
      return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b);
    case 'min':
      return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b);
    case 'pow':
      return Math.pow(a, b);
    case 'rem':
      return isInt && b === 0 ? 0 : wrap(dtype, a % b);
    case 'atan2':
      return Math.atan2(a, b);
    case 'and':
      return dtype === 'bool' ? (a && b ? 1 : 0) : wrap(dtype, a & b);
    case 'or':
      return dtype === 'bool' ? (a || b ? 1 : 0) : wrap(dtype, a | b);
    case 'xor':
      return dtype === 'bool' ? (!a !== !b ? 1 : 0) : wrap(dtype, a ^ b);
    case 'shl':
      return wrap(dtype, a << (b & 31));
    case 'shr':
      return dtype === 'u32' ? a >>> (b & 31) : a >> (b & 31);
    default:
      return fn satisfies never;
  }
}

export function applyCompare(fn: CompareFn, a: number, b: number): number {
  switch (fn) {
    case 'lt':
      return a < b ? 1 : 0;
    case 'le':
      return a <= b ? 1 : 0;
    case 'gt':
      return a > b ? 1 : 0;
    case 'ge':
      return a >= b ? 1 : 0;
    case 'eq':
      return a === b ? 1 : 0;
    case 'ne':
      return a !== b ? 1 : 0;
    default:
      return fn satisfies never;
  }
}

/** Converts one value between dtypes (WGSL conversion rules: float→int truncates and saturates,
 * NaN→0; i32↔u32 keep the bits; bool↔number as 0/1). */
export function castValue(from: DType, to: DType, v: number): number {
  if (to === 'bool') return v !== 0 && !Number.isNaN(v) ? 1 : 0;
  if (to === 'f32') return v;
  if (from === 'f32') {
    if (Number.isNaN(v)) return 0;
    const t = Math.trunc(v);
    return to === 'i32'
      ? Math.max(-2147483648, Math.min(2147483647, t))
      : Math.max(0, Math.min(4294967295, t));
  }
  return to === 'i32' ? v | 0 : v >>> 0;
}
