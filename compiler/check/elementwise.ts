// The typing rule shared by every elementwise operation in tensor code (`a + b`, `maximum(a, 0)`,
// `where(c, a, b)`): element types must agree, number literals adapt to the tensor beside them,
// and shapes broadcast. Used by compiler/check's expression checker and the tensor built-ins.

import type { Dtype } from '../../grammar/ast.js';
import type { DiagnosticCode } from '../diagnostics.js';
import { broadcast } from './shapes.js';
import { showType, tensor, type AlignType, type TensorType } from './types.js';

export type ElementwiseResult =
  | { readonly ok: true; readonly type: TensorType }
  | { readonly ok: false; readonly code: DiagnosticCode; readonly message: string };

/**
 * Combines operands elementwise. `want` restricts the element type of every operand (`number`:
 * f32 or i32; `bool`); the result keeps the operands' element type.
 */
export function combine(
  operands: readonly AlignType[],
  want: 'number' | 'bool' | 'any',
): ElementwiseResult {
  let dtype: Dtype | undefined;
  let weakFloat = false;
  let weakInt = false;
  let shapeOf: TensorType = tensor('f32');
  let first = true;
  for (const t of operands) {
    if (t.kind === 'unknown')
      return { ok: true, type: { kind: 'tensor', dtype: 'f32', shape: [] } };
    if (t.kind === 'number') {
      if (t.integer) weakInt = true;
      else weakFloat = true;
      continue;
    }
    const strong: TensorType | undefined =
      t.kind === 'tensor' ? t : t.kind === 'boolean' ? tensor('bool') : undefined;
    if (!strong) {
      return {
        ok: false,
        code: 'E_TYPE',
        message: `expected a tensor or a number here, not ${showType(t)}`,
      };
    }
    if (dtype !== undefined && dtype !== strong.dtype) {
      return {
        ok: false,
        code: 'E_DTYPE',
        message: `cannot mix ${dtype} and ${strong.dtype}; convert one side with ${dtype === 'bool' || strong.dtype === 'bool' ? 'f32(…) or a comparison' : 'f32(…) or i32(…)'}`,
      };
    }
    dtype = strong.dtype;
    if (first) shapeOf = strong;
    else {
      const b = broadcast(shapeOf, strong);
      if (!b.ok)
        return { ok: false, code: 'E_SHAPE_MISMATCH', message: `shapes do not fit: ${b.why}` };
      shapeOf = { kind: 'tensor', dtype: strong.dtype, shape: b.shape };
    }
    first = false;
  }
  if (dtype === undefined)
    dtype = want === 'bool' ? 'bool' : weakFloat ? 'f32' : weakInt ? 'i32' : 'f32';
  if (dtype === 'i32' && weakFloat) {
    return {
      ok: false,
      code: 'E_DTYPE',
      message: 'cannot mix i32 with a fractional number; convert with f32(…)',
    };
  }
  if (dtype === 'bool' && (weakFloat || weakInt)) {
    return {
      ok: false,
      code: 'E_DTYPE',
      message: 'cannot mix bool with a number; convert with f32(…)',
    };
  }
  if (want === 'number' && dtype === 'bool') {
    return {
      ok: false,
      code: 'E_DTYPE',
      message: 'arithmetic needs f32 or i32, not bool; convert with f32(…)',
    };
  }
  if (want === 'bool' && dtype !== 'bool') {
    return {
      ok: false,
      code: 'E_DTYPE',
      message: `expected bool, not ${dtype}; compare with a number first`,
    };
  }
  return { ok: true, type: { kind: 'tensor', dtype, shape: shapeOf.shape } };
}
