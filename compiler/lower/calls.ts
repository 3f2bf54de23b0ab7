// Calls inside `.align` functions, for compiler/lower (checked AST → IR): built-ins lower through
// builtins.ts; user functions are inlined — their body lowered in place with the arguments bound,
// their own dimension names bound afresh — so a whole loss becomes one graph.

import type * as A from '../../grammar/ast.js';
import type { NodeId } from '../ir/index.js';
import { callBuiltin, isBuiltin, type Value } from './builtins.js';
import { LowerError } from './errors.js';
import type { Binding, FnLowering } from './fn-lowering.js';
import type { IndexSpace } from './index-space.js';
import { lowerWithCustomBackward } from './custom-backward.js';
import type { ArgType } from './lower-fn.js';
import { typeText } from './value-ops.js';

export function call(
  l: FnLowering,
  e: A.CallExpr,
  scope: ReadonlyMap<string, Binding>,
  space: IndexSpace | undefined,
): Value {
  if (e.callee.kind !== 'Name') {
    throw new LowerError('E_NOT_CALLABLE', 'only named functions can be called', e.callee.span);
  }
  const name = e.callee.name;
  const user = l.functions.get(name);
  const shadow = scope.get(name);
  if (user && (shadow === undefined || shadow.kind === 'fn'))
    return inline(l, user, e, scope, space);
  if (isBuiltin(name)) {
    const args = e.args.map((a) => {
      if (a.name) {
        throw new LowerError(
          'E_UNKNOWN_PARAM',
          `built-in ${name} takes positional arguments only`,
          a.name.span,
        );
      }
      return l.expr(a.value, scope, space);
    });
    return callBuiltin(l, name, args, e.span);
  }
  throw new LowerError('E_UNKNOWN_NAME', `unknown function ${name}`, e.callee.span);
}

/** A call of a user function: its body lowered in place with the arguments bound. */
export function inline(
  l: FnLowering,
  fn: A.FnDecl,
  e: A.CallExpr,
  scope: ReadonlyMap<string, Binding>,
  space: IndexSpace | undefined,
): Value {
  if (space) {
    throw new LowerError(
      'E_CONTEXT',
      `user function ${fn.name.name} cannot be called inside index notation`,
      e.span,
      'call it outside and index its result',
    );
  }
  const byName = new Map<string, A.Expr>();
  const positional: A.Expr[] = [];
  for (const a of e.args) {
    if (a.name) byName.set(a.name.name, a.value);
    else positional.push(a.value);
  }
  if (positional.length > fn.params.length) {
    throw new LowerError(
      'E_TOO_MANY_ARGS',
      `${fn.name.name} takes ${fn.params.length} arguments, got ${positional.length}`,
      e.span,
    );
  }
  const inner = new Map<string, Binding>();
  for (const [n, d] of l.functions) inner.set(n, { kind: 'fn', decl: d });
  // The callee's dimension names are its own: bind them afresh, then restore the caller's.
  const savedDims = new Map(l.dims);
  l.dims.clear();
  try {
    fn.params.forEach((p, i) => {
      const argExpr = positional[i] ?? byName.get(p.name.name) ?? p.default;
      if (!argExpr) {
        throw new LowerError(
          'E_MISSING_ARG',
          `${fn.name.name} needs argument ${p.name.name} (${typeText(p.type)})`,
          e.span,
        );
      }
      const fromCaller = argExpr !== p.default;
      const value = fromCaller
        ? withDims(l, savedDims, () => l.expr(argExpr, scope, undefined))
        : l.expr(argExpr, inner, undefined);
      const node = l.whole(value, argExpr.span);
      const converted = convertArg(l, node, p, argExpr.span, fn.name.name);
      inner.set(p.name.name, { kind: 'value', value: { node: converted, axes: null } });
    });
    for (const [n] of byName) {
      if (!fn.params.some((p) => p.name.name === n)) {
        throw new LowerError('E_UNKNOWN_PARAM', `${fn.name.name} has no parameter ${n}`, e.span);
      }
    }
    const result = l.body(fn, inner);
    if (!fn.body.some((st) => st.kind === 'Backward')) return { node: result, axes: null };
    return { node: withCustomBackward(l, fn, result, inner), axes: null };
  } finally {
    l.dims.clear();
    for (const [k, v] of savedDims) l.dims.set(k, v);
  }
}

/**
 * The result of a call of `fn` marked with `fn`'s hand-written backward: an identity node whose
 * VJP (for autodiff) is the backward block, lowered on its own for the same argument types.
 */
function withCustomBackward(
  l: FnLowering,
  fn: A.FnDecl,
  result: NodeId,
  scope: ReadonlyMap<string, Binding>,
): NodeId {
  const args: NodeId[] = [];
  const types = new Map<string, ArgType>();
  for (const p of fn.params) {
    const binding = scope.get(p.name.name);
    if (binding?.kind !== 'value') throw new Error(`internal: parameter ${p.name.name} unbound`);
    args.push(binding.value.node);
    types.set(p.name.name, l.b.type(binding.value.node));
  }
  const rule = lowerWithCustomBackward(fn, types, l.functions);
  const t = l.b.type(result);
  const marked = l.b.add({ op: 'reshape', shape: t.shape, dtype: t.dtype, inputs: [result] });
  l.customVjp.set(marked, { graph: rule.builder.build(rule.grads), args });
  return marked;
}

export function withDims<T>(l: FnLowering, dims: ReadonlyMap<string, number>, run: () => T): T {
  const current = new Map(l.dims);
  l.dims.clear();
  for (const [k, v] of dims) l.dims.set(k, v);
  try {
    return run();
  } finally {
    l.dims.clear();
    for (const [k, v] of current) l.dims.set(k, v);
  }
}

export function convertArg(
  l: FnLowering,
  node: NodeId,
  p: A.Param,
  span: A.Ident['span'],
  fnName: string,
): NodeId {
  const t = l.b.type(node);
  let converted = node;
  if (t.dtype !== p.type.dtype) {
    const literalish = l.b.node(node).op === 'fill';
    if (!(literalish || (t.dtype === 'i32' && p.type.dtype === 'f32'))) {
      throw new LowerError(
        'E_DTYPE',
        `argument ${p.name.name} of ${fnName} must be ${p.type.dtype}, got ${t.dtype}`,
        span,
      );
    }
    converted = l.b.cast(node, p.type.dtype);
  }
  l.bindDims(p.type, l.b.shape(converted), span, `argument ${p.name.name} of ${fnName}`);
  return converted;
}
