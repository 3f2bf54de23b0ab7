// Index notation in compiler/check: indexing tensors (`x[i, 0]`, gathers), the index variables
// of comprehensions and reductions with their inferred ranges, and reductions (`sum[d](…)`). Split
// from expr.ts; the expression checker calls these for Index and Reduce nodes and for `let s[i] = …`.

import type * as A from '../../grammar/ast.js';
import { combine } from './elementwise.js';
import type { ExprChecker, ExprContext } from './expr.js';
import type { IndexVar } from './scope.js';
import {
  dimEquals,
  showDim,
  showShape,
  showType,
  tensor,
  UNKNOWN,
  type AlignType,
  type Dim,
} from './types.js';

/** The index variable a plain name refers to, if it is one. */
function indexVar(e: A.Expr, ctx: ExprContext): IndexVar | undefined {
  if (e.kind !== 'Name') return undefined;
  const sym = ctx.scope.lookup(e.name);
  return sym?.kind === 'index' ? sym.index : undefined;
}

export function checkIndex(c: ExprChecker, e: A.IndexExpr, ctx: ExprContext): AlignType {
  const target = c.check(e.target, ctx);
  if (target.kind === 'unknown') {
    for (const i of e.indices) c.check(i, ctx);
    return UNKNOWN;
  }
  if (target.kind !== 'tensor')
    return c.report(
      'E_TYPE',
      `only tensors can be indexed, not ${showType(target)}`,
      e.target.span,
    );
  if (e.indices.length > target.shape.length) {
    return c.report(
      'E_RANK',
      `${showShape(target)} has ${target.shape.length} ax${target.shape.length === 1 ? 'is' : 'es'} but is indexed with ${e.indices.length}`,
      e.span,
    );
  }
  let failed = false;
  for (let k = 0; k < e.indices.length; k++) {
    const ix = e.indices[k];
    const axis: Dim = target.shape[k];
    const v = indexVar(ix, ctx);
    if (v) {
      c.check(ix, ctx);
      if (!v.range) v.range = { dim: axis, from: ix.span };
      else if (!dimEquals(v.range.dim, axis)) {
        failed = true;
        c.state.report(
          'E_INDEX_RANGE',
          `index \`${v.name}\` runs over ${showDim(v.range.dim)} (line ${v.range.from.start.line}) but axis ${k} of ${showShape(target)} is ${showDim(axis)}`,
          ix.span,
        );
      }
      continue;
    }
    if (ix.kind === 'Name' && ctx.scope.lookup(ix.name) === undefined && ctx.mode !== 'config') {
      failed = true;
      c.state.report('E_INDEX_UNBOUND', `index \`${ix.name}\` is not bound here`, ix.span, {
        hint: `bind it with \`let y[${ix.name}] = …\` or a reduction \`sum[${ix.name}](…)\``,
      });
      continue;
    }
    const t = c.check(ix, ctx);
    if (t.kind === 'unknown') {
      failed = true;
      continue;
    }
    if (t.kind === 'number') {
      if (!t.integer) {
        failed = true;
        c.state.report('E_TYPE', 'an index must be an integer', ix.span);
      } else if (
        axis.kind === 'const' &&
        t.value !== undefined &&
        (t.value < 0 || t.value >= axis.size)
      ) {
        failed = true;
        c.state.report(
          'E_RANK',
          `index ${t.value} is outside axis ${k} of ${showShape(target)}`,
          ix.span,
        );
      }
      continue;
    }
    if (t.kind === 'tensor' && t.dtype === 'i32' && t.shape.length === 0) continue;
    if (t.kind === 'tensor' && t.dtype === 'i32' && e.indices.length === 1) {
      return tensor(target.dtype, ...t.shape, ...target.shape.slice(1));
    }
    failed = true;
    if (t.kind === 'tensor' && t.dtype === 'bool') {
      c.state.report('E_TYPE', 'boolean masks do not select rows (shapes are static)', ix.span, {
        hint: 'pass the mask as a weight, or use where(mask, x, 0)',
      });
      continue;
    }
    c.state.report(
      'E_TYPE',
      `an index must be an i32 scalar or an index variable, not ${showType(t)}`,
      ix.span,
    );
  }
  if (failed) return UNKNOWN;
  return { kind: 'tensor', dtype: target.dtype, shape: target.shape.slice(e.indices.length) };
}

/** Defines index variables in a child scope, for a comprehension or reduction. */
export function bindIndices(
  c: ExprChecker,
  idents: readonly A.Ident[],
  ctx: ExprContext,
): { ctx: ExprContext; vars: IndexVar[] } {
  const scope = ctx.scope.child();
  const vars: IndexVar[] = [];
  for (const id of idents) {
    const v: IndexVar = { name: id.name, span: id.span, range: undefined };
    const outer = ctx.scope.lookup(id.name);
    if (outer?.kind === 'index' || scope.define(id.name, { kind: 'index', index: v })) {
      c.state.report('E_DUPLICATE', `index \`${id.name}\` is already bound here`, id.span);
      continue;
    }
    if (outer?.kind === 'local') {
      c.state.report(
        'E_DUPLICATE',
        `index \`${id.name}\` hides the variable \`${id.name}\``,
        id.span,
      );
    }
    vars.push(v);
  }
  return { ctx: { ...ctx, scope }, vars };
}

/** Reports index variables whose range was never inferred; returns the ranges. */
export function rangesOf(c: ExprChecker, vars: readonly IndexVar[]): Dim[] | undefined {
  let ok = true;
  const dims: Dim[] = [];
  for (const v of vars) {
    if (v.range) dims.push(v.range.dim);
    else {
      ok = false;
      c.state.report(
        'E_INDEX_RANGE',
        `the range of index \`${v.name}\` cannot be inferred`,
        v.span,
        {
          hint: `use \`${v.name}\` directly as an index of a tensor, e.g. x[${v.name}]`,
        },
      );
    }
  }
  return ok ? dims : undefined;
}

export function checkReduce(c: ExprChecker, e: A.ReduceExpr, ctx: ExprContext): AlignType {
  if (ctx.mode === 'config')
    return c.report('E_CONTEXT', 'reductions are tensor code; use them in `fn` or stages', e.span);
  let body: AlignType;
  if (e.indices) {
    const inner = bindIndices(c, e.indices, ctx);
    body = c.check(e.body, inner.ctx);
    const ranges = rangesOf(c, inner.vars);
    if (body.kind === 'tensor' && body.shape.length > 0) {
      return c.report(
        'E_RANK',
        `the body of ${e.op}[…](…) must be one element, but it is ${showShape(body)}`,
        e.body.span,
        'index every axis of each tensor in it',
      );
    }
    if (!ranges) return UNKNOWN;
  } else {
    body = c.check(e.body, ctx);
  }
  if (body.kind === 'unknown') return UNKNOWN;
  const r = combine([body], 'any');
  if (!r.ok) return c.report(r.code, r.message, e.body.span);
  const dtype = r.type.dtype;
  switch (e.op) {
    case 'any':
    case 'all':
      if (dtype !== 'bool')
        return c.report('E_DTYPE', `${e.op} needs bool values, not ${dtype}`, e.body.span);
      return tensor('bool');
    case 'argmax':
    case 'argmin':
      if (dtype === 'bool')
        return c.report('E_DTYPE', `${e.op} needs numbers, not bool`, e.body.span);
      return tensor('i32');
    case 'mean':
    case 'logsumexp':
      if (dtype === 'bool')
        return c.report(
          'E_DTYPE',
          `${e.op} needs numbers, not bool; convert with f32(…)`,
          e.body.span,
        );
      return tensor('f32');
    case 'sum':
    case 'prod':
    case 'max':
    case 'min':
      if (dtype === 'bool')
        return c.report(
          'E_DTYPE',
          `${e.op} needs numbers, not bool; convert with f32(…)`,
          e.body.span,
        );
      return tensor(dtype);
    default:
      return e.op satisfies never;
  }
}
