// Indexing inside `.align` functions, for compiler/lower (checked AST → IR): `x[i, d]` read along
// named index axes (constant positions sliced away), `x[idx]` as a gather of rows, and list
// literals as constant tensors.

import type * as A from '../../grammar/ast.js';
import type { NodeId } from '../ir/index.js';
import type { Value } from './builtins.js';
import { LowerError } from './errors.js';
import type { Binding, FnLowering } from './fn-lowering.js';
import type { IndexSpace } from './index-space.js';
import { shapeText } from './value-ops.js';

export function index(
  l: FnLowering,
  e: A.IndexExpr,
  scope: ReadonlyMap<string, Binding>,
  space: IndexSpace | undefined,
): Value {
  const target = l.whole(l.expr(e.target, scope, undefined), e.target.span);
  const shape = l.b.shape(target);
  const names: string[] = [];
  const allIndexVars = e.indices.every(
    (ix) =>
      (ix.kind === 'Name' && scope.get(ix.name)?.kind === 'index') ||
      (ix.kind === 'Number' && ix.isInteger),
  );
  if (!allIndexVars) {
    if (space || e.indices.length !== 1) {
      throw new LowerError(
        'E_CONTEXT',
        'indexing by a tensor (a gather) takes one index tensor, outside index notation',
        e.span,
        'gather first: let rows = x[idx], then use rows[i, d]',
      );
    }
    return { node: gatherRows(l, target, e.indices[0], scope, e.span), axes: null };
  }
  if (!space) {
    throw new LowerError(
      'E_INDEX_UNBOUND',
      'index variables can only be used inside let x[i] = … or a reduction that binds them',
      e.span,
    );
  }
  if (e.indices.length !== shape.length) {
    throw new LowerError(
      'E_RANK',
      `this tensor has ${shape.length} axes (shape ${shapeText(shape)}) but is indexed with ${e.indices.length}`,
      e.span,
    );
  }
  // Constant positions are sliced away first; the rest are index variables.
  let node = target;
  const start = shape.map(() => 0);
  const stop = [...shape];
  let sliced = false;
  e.indices.forEach((ix, axis) => {
    if (ix.kind === 'Number') {
      if (ix.value < 0 || ix.value >= shape[axis]) {
        throw new LowerError(
          'E_SHAPE_MISMATCH',
          `index ${ix.value} is outside axis ${axis} of size ${shape[axis]}`,
          ix.span,
        );
      }
      start[axis] = ix.value;
      stop[axis] = ix.value + 1;
      sliced = true;
    }
  });
  if (sliced) {
    node = l.b.add({ op: 'slice', start, stop, step: shape.map(() => 1), inputs: [node] });
  }
  const keptShape: number[] = [];
  e.indices.forEach((ix, axis) => {
    if (ix.kind !== 'Name') return;
    if (names.includes(ix.name)) {
      throw new LowerError(
        'E_CONTEXT',
        `index ${ix.name} appears twice in one access (diagonals are not supported)`,
        ix.span,
      );
    }
    l.declareIndex(space, ix.name, shape[axis], ix.span);
    names.push(ix.name);
    keptShape.push(shape[axis]);
  });
  node = l.b.reshape(node, keptShape);
  const v = space.access(l.b, node, names);
  return { node: v.node, axes: v.axes };
}

/** `x[idx]`: rows of x (axis 0) picked by an integer tensor; result idx.shape ++ x.shape[1:]. */
export function gatherRows(
  l: FnLowering,
  x: NodeId,
  indexExpr: A.Expr,
  scope: ReadonlyMap<string, Binding>,
  span: A.Ident['span'],
): NodeId {
  const idx = l.whole(l.expr(indexExpr, scope, undefined), indexExpr.span);
  const it = l.b.type(idx);
  if (it.dtype !== 'i32') {
    throw new LowerError('E_DTYPE', `an index tensor must be i32, got ${it.dtype}`, indexExpr.span);
  }
  const xs = l.b.shape(x);
  if (xs.length === 0) throw new LowerError('E_RANK', 'a scalar cannot be indexed', span);
  const count = it.shape.reduce((a, d) => a * d, 1);
  const rest = xs.slice(1);
  const flat = l.b.reshape(idx, [count, ...rest.map(() => 1)]);
  const spread = l.b.broadcast(flat, [count, ...rest]);
  const rows = l.b.add({ op: 'gather', axis: 0, inputs: [x, spread] });
  return l.b.reshape(rows, [...it.shape, ...rest]);
}

/** `[1, 1, 2, 2]` or `[[1, 0], [0, 1]]`: a constant tensor (f32, or i32 when all are integers). */
export function listLiteral(l: FnLowering, e: A.ListExpr): Value {
  const shape: number[] = [];
  const values: number[] = [];
  let integers = true;
  const walk = (x: A.Expr, depth: number): void => {
    if (x.kind === 'List') {
      if (depth === shape.length) shape.push(x.items.length);
      else if (shape[depth] !== x.items.length) {
        throw new LowerError(
          'E_SHAPE_MISMATCH',
          'the rows of this list have different lengths',
          x.span,
        );
      }
      for (const item of x.items) walk(item, depth + 1);
      return;
    }
    if (depth !== shape.length) {
      throw new LowerError(
        'E_SHAPE_MISMATCH',
        'the rows of this list have different depths',
        x.span,
      );
    }
    const n =
      x.kind === 'Number'
        ? x
        : x.kind === 'Unary' && x.op === '-' && x.operand.kind === 'Number'
          ? x.operand
          : undefined;
    if (!n) {
      throw new LowerError('E_TYPE', 'a list inside a function holds numbers only', x.span);
    }
    integers &&= n.isInteger;
    values.push(n === x ? n.value : -n.value);
  };
  walk(e, 0);
  if (values.length === 0)
    throw new LowerError('E_SHAPE_MISMATCH', 'an empty list has no shape', e.span);
  const node = l.b.add({
    op: 'literal',
    values,
    shape,
    dtype: integers ? 'i32' : 'f32',
    inputs: [],
  });
  return { node, axes: null, literal: true };
}
