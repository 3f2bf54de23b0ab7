// Shape and dtype rules of every IR primitive: given a node spec (op + attributes) and its operand
// types, the result type — or an IrShapeError saying which rule is broken. Used by the builder when
// a node is added and by the verifier to re-check a whole graph. Flow: … → IR (here) → kernels.
import {
  checkArity,
  checkAxis,
  checkShape,
  fail,
  fmt,
  requireDtype,
  sameShape,
} from './shape-check.js';
import { inferNnType } from './shape-rules-nn.js';
import type { NodeSpec, TensorType } from './types.js';
import { DTYPES, sizeOf } from './types.js';

export { convOutSize } from './shape-check.js';

const FLOAT_UNARY = new Set([
  'exp',
  'log',
  'sqrt',
  'rsqrt',
  'recip',
  'sin',
  'cos',
  'tanh',
  'atan',
  'sigmoid',
  'floor',
  'ceil',
  'round',
]);

/** The result type of `spec` applied to operands of types `operands`. */
export function inferType(spec: NodeSpec, operands: readonly TensorType[]): TensorType {
  switch (spec.op) {
    case 'input':
    case 'fill':
      checkArity(spec, operands, 0);
      checkShape(spec, spec.shape, 'shape');
      return { shape: spec.shape, dtype: spec.dtype };
    case 'literal':
      checkArity(spec, operands, 0);
      checkShape(spec, spec.shape, 'shape');
      if (spec.values.length !== sizeOf(spec.shape)) {
        fail(spec, `${spec.values.length} values for shape ${fmt(spec.shape)}`);
      }
      return { shape: spec.shape, dtype: spec.dtype };
    case 'iota':
      checkArity(spec, operands, 0);
      checkShape(spec, spec.shape, 'shape');
      checkAxis(spec, spec.axis, spec.shape.length);
      if (spec.dtype === 'bool') fail(spec, 'dtype must be numeric');
      return { shape: spec.shape, dtype: spec.dtype };
    case 'random_bits': {
      checkArity(spec, operands, 1);
      checkShape(spec, spec.shape, 'shape');
      const key = operands[0];
      if (key.dtype !== 'u32' || !sameShape(key.shape, [2])) {
        fail(spec, `key must be u32[2], got ${key.dtype}${fmt(key.shape)}`);
      }
      if (spec.dtype !== 'u32') fail(spec, 'dtype must be u32');
      return { shape: spec.shape, dtype: 'u32' };
    }
    case 'unary': {
      checkArity(spec, operands, 1);
      const x = operands[0];
      if (FLOAT_UNARY.has(spec.fn)) requireDtype(spec, x, ['f32'], `${spec.fn} operand`);
      else if (spec.fn === 'not') requireDtype(spec, x, ['bool', 'i32', 'u32'], 'not operand');
      else requireDtype(spec, x, ['f32', 'i32'], `${spec.fn} operand`);
      return x;
    }
    case 'binary': {
      checkArity(spec, operands, 2);
      const [a, b] = operands;
      if (!sameShape(a.shape, b.shape)) {
        fail(
          spec,
          `${spec.fn} needs equal shapes (broadcast explicitly): ${fmt(a.shape)} vs ${fmt(b.shape)}`,
        );
      }
      if (a.dtype !== b.dtype)
        fail(spec, `${spec.fn} needs equal dtypes: ${a.dtype} vs ${b.dtype}`);
      const fn = spec.fn;
      switch (fn) {
        case 'pow':
        case 'atan2':
          requireDtype(spec, a, ['f32'], `${spec.fn} operand`);
          break;
        case 'and':
        case 'or':
        case 'xor':
          requireDtype(spec, a, ['bool', 'i32', 'u32'], `${spec.fn} operand`);
          break;
        case 'shl':
        case 'shr':
          requireDtype(spec, a, ['i32', 'u32'], `${spec.fn} operand`);
          break;
        case 'add':
        case 'sub':
        case 'mul':
        case 'div':
        case 'max':
        case 'min':
        case 'rem':
          requireDtype(spec, a, ['f32', 'i32', 'u32'], `${spec.fn} operand`);
          break;
        default:
          return fn satisfies never;
      }
      return a;
    }
    case 'compare': {
      checkArity(spec, operands, 2);
      const [a, b] = operands;
      if (!sameShape(a.shape, b.shape)) {
        fail(spec, `needs equal shapes (broadcast explicitly): ${fmt(a.shape)} vs ${fmt(b.shape)}`);
      }
      if (a.dtype !== b.dtype) fail(spec, `needs equal dtypes: ${a.dtype} vs ${b.dtype}`);
      return { shape: a.shape, dtype: 'bool' };
    }
    case 'select': {
      checkArity(spec, operands, 3);
      const [c, t, f] = operands;
      requireDtype(spec, c, ['bool'], 'condition');
      if (!sameShape(c.shape, t.shape) || !sameShape(t.shape, f.shape)) {
        fail(spec, `needs equal shapes: ${fmt(c.shape)}, ${fmt(t.shape)}, ${fmt(f.shape)}`);
      }
      if (t.dtype !== f.dtype) fail(spec, `branches differ in dtype: ${t.dtype} vs ${f.dtype}`);
      return t;
    }
    case 'cast':
      checkArity(spec, operands, 1);
      if (!DTYPES.includes(spec.dtype)) fail(spec, `unknown dtype ${String(spec.dtype)}`);
      return { shape: operands[0].shape, dtype: spec.dtype };
    case 'reduce': {
      checkArity(spec, operands, 1);
      const x = operands[0];
      requireDtype(spec, x, ['f32', 'i32', 'u32'], 'operand');
      spec.axes.forEach((a, i) => {
        checkAxis(spec, a, x.shape.length);
        if (i > 0 && a <= spec.axes[i - 1]) fail(spec, `axes must be ascending and unique`);
      });
      return { shape: x.shape.map((d, i) => (spec.axes.includes(i) ? 1 : d)), dtype: x.dtype };
    }
    case 'argmax': {
      checkArity(spec, operands, 1);
      const x = operands[0];
      requireDtype(spec, x, ['f32', 'i32', 'u32'], 'operand');
      checkAxis(spec, spec.axis, x.shape.length);
      if (x.shape[spec.axis] === 0) fail(spec, 'argmax over an empty axis');
      return { shape: x.shape.map((d, i) => (i === spec.axis ? 1 : d)), dtype: 'i32' };
    }
    case 'matmul': {
      checkArity(spec, operands, 2);
      const [a, b] = operands;
      requireDtype(spec, a, ['f32'], 'lhs');
      requireDtype(spec, b, ['f32'], 'rhs');
      const r = a.shape.length;
      if (r < 2 || b.shape.length !== r) {
        fail(spec, `operands need equal rank ≥ 2: ${fmt(a.shape)} @ ${fmt(b.shape)}`);
      }
      if (!sameShape(a.shape.slice(0, r - 2), b.shape.slice(0, r - 2))) {
        fail(spec, `batch dims differ (broadcast explicitly): ${fmt(a.shape)} @ ${fmt(b.shape)}`);
      }
      if (a.shape[r - 1] !== b.shape[r - 2]) {
        fail(spec, `contraction dims differ: ${fmt(a.shape)} @ ${fmt(b.shape)}`);
      }
      return { shape: [...a.shape.slice(0, r - 1), b.shape[r - 1]], dtype: 'f32' };
    }
    case 'conv2d':
    case 'conv_transpose2d':
    case 'conv2d_filter_grad':
    case 'pool2d':
    case 'max_pool2d_grad':
    case 'roi_align':
    case 'roi_align_grad':
    case 'routine':
      return inferNnType(spec, operands);
    case 'reshape': {
      checkArity(spec, operands, 1);
      checkShape(spec, spec.shape, 'shape');
      if (sizeOf(spec.shape) !== sizeOf(operands[0].shape)) {
        fail(spec, `cannot reshape ${fmt(operands[0].shape)} to ${fmt(spec.shape)}`);
      }
      return { shape: spec.shape, dtype: operands[0].dtype };
    }
    case 'permute': {
      checkArity(spec, operands, 1);
      const x = operands[0];
      const seen = new Set(spec.perm);
      if (
        spec.perm.length !== x.shape.length ||
        seen.size !== x.shape.length ||
        spec.perm.some((p) => !(p >= 0 && p < x.shape.length))
      ) {
        fail(spec, `perm [${spec.perm.join(',')}] is not a permutation of rank ${x.shape.length}`);
      }
      return { shape: spec.perm.map((p) => x.shape[p]), dtype: x.dtype };
    }
    case 'slice': {
      checkArity(spec, operands, 1);
      const x = operands[0];
      const r = x.shape.length;
      if (spec.start.length !== r || spec.stop.length !== r || spec.step.length !== r) {
        fail(spec, `start/stop/step need ${r} entries`);
      }
      const shape = x.shape.map((d, i) => {
        const [s, e, st] = [spec.start[i], spec.stop[i], spec.step[i]];
        if (!(
          Number.isInteger(s) &&
          Number.isInteger(e) &&
          Number.isInteger(st) &&
          0 <= s &&
          s <= e &&
          e <= d &&
          st >= 1
        )) {
          fail(spec, `axis ${i}: bad range ${s}:${e}:${st} for size ${d}`);
        }
        return Math.ceil((e - s) / st);
      });
      return { shape, dtype: x.dtype };
    }
    case 'pad': {
      checkArity(spec, operands, 1);
      const x = operands[0];
      const r = x.shape.length;
      if (spec.low.length !== r || spec.high.length !== r) fail(spec, `low/high need ${r} entries`);
      if (![...spec.low, ...spec.high].every((p) => Number.isInteger(p) && p >= 0)) {
        fail(spec, 'padding amounts must be non-negative integers');
      }
      return { shape: x.shape.map((d, i) => d + spec.low[i] + spec.high[i]), dtype: x.dtype };
    }
    case 'broadcast': {
      checkArity(spec, operands, 1);
      checkShape(spec, spec.shape, 'shape');
      const x = operands[0];
      if (
        x.shape.length !== spec.shape.length ||
        x.shape.some((d, i) => d !== 1 && d !== spec.shape[i])
      ) {
        fail(
          spec,
          `cannot broadcast ${fmt(x.shape)} to ${fmt(spec.shape)} (reshape to equal rank first)`,
        );
      }
      return { shape: spec.shape, dtype: x.dtype };
    }
    case 'concat': {
      if (operands.length < 1) fail(spec, 'needs at least one operand');
      const first = operands[0];
      checkAxis(spec, spec.axis, first.shape.length);
      let total = 0;
      for (const t of operands) {
        if (t.dtype !== first.dtype) fail(spec, `dtypes differ: ${first.dtype} vs ${t.dtype}`);
        if (
          t.shape.length !== first.shape.length ||
          t.shape.some((d, i) => i !== spec.axis && d !== first.shape[i])
        ) {
          fail(spec, `shapes ${fmt(first.shape)} and ${fmt(t.shape)} differ off axis ${spec.axis}`);
        }
        total += t.shape[spec.axis];
      }
      return {
        shape: first.shape.map((d, i) => (i === spec.axis ? total : d)),
        dtype: first.dtype,
      };
    }
    case 'gather': {
      checkArity(spec, operands, 2);
      const [x, idx] = operands;
      checkAxis(spec, spec.axis, x.shape.length);
      requireDtype(spec, idx, ['i32'], 'index');
      if (
        idx.shape.length !== x.shape.length ||
        idx.shape.some((d, i) => i !== spec.axis && d !== x.shape[i])
      ) {
        fail(
          spec,
          `index ${fmt(idx.shape)} must match x ${fmt(x.shape)} except on axis ${spec.axis}`,
        );
      }
      return { shape: idx.shape, dtype: x.dtype };
    }
    case 'scatter_add': {
      checkArity(spec, operands, 3);
      const [base, idx, src] = operands;
      checkAxis(spec, spec.axis, base.shape.length);
      requireDtype(spec, idx, ['i32'], 'index');
      requireDtype(spec, base, ['f32', 'i32', 'u32'], 'base');
      if (src.dtype !== base.dtype)
        fail(spec, `src dtype ${src.dtype} differs from base ${base.dtype}`);
      if (!sameShape(idx.shape, src.shape))
        fail(spec, `index ${fmt(idx.shape)} and src ${fmt(src.shape)} differ`);
      if (
        idx.shape.length !== base.shape.length ||
        idx.shape.some((d, i) => i !== spec.axis && d !== base.shape[i])
      ) {
        fail(
          spec,
          `index ${fmt(idx.shape)} must match base ${fmt(base.shape)} except on axis ${spec.axis}`,
        );
      }
      return base;
    }
    default:
      return spec satisfies never;
  }
}
