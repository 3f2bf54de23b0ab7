// Calls in compiler/check: a call of a built-in (checked against its signature table), of a user
// `fn` (arguments bound to the declared symbolic shapes, result shape substituted) or of a detector
// on a view inside a stage. Called by the expression checker for every Call node.

import type * as A from '../../grammar/ast.js';
import { matchArgs, bindBuiltinArgs } from './args.js';
import { builtins, tensorVariantBuiltins } from './builtins/index.js';
import { detectorOutput } from './builtins/stage.js';
import type { ExprChecker, ExprContext } from './expr.js';
import { ShapeBinding } from './shapes.js';
import { showShape, showType, UNKNOWN, type AlignType, type TensorType } from './types.js';

export function tensorTypeOf(t: A.TensorTypeExpr): TensorType {
  return {
    kind: 'tensor',
    dtype: t.dtype,
    shape: t.dims.map((d) =>
      d.kind === 'DimName' ? { kind: 'sym', name: d.name } : { kind: 'const', size: d.size },
    ),
  };
}

function calleeName(e: A.Expr): string {
  if (e.kind === 'Name') return e.name;
  if (e.kind === 'Member') return e.member.name;
  return 'this expression';
}

export function checkCall(c: ExprChecker, e: A.CallExpr, ctx: ExprContext): AlignType {
  const callee = c.check(e.callee, ctx);
  const argTypes = new Map<A.Arg, AlignType>();
  for (const a of e.args) argTypes.set(a, c.check(a.value, ctx));
  const typeOf = (a: A.Arg) => argTypes.get(a) ?? UNKNOWN;
  const name = calleeName(e.callee);
  switch (callee.kind) {
    case 'builtin':
      return builtinCall(c, e, ctx, callee.name, typeOf);
    case 'fn':
      return fnCall(c, e, ctx, callee.decl, typeOf);
    case 'detector':
      return detectorCall(c, e, ctx, callee, typeOf);
    case 'unknown':
      return UNKNOWN;
    default:
      c.state.report(
        'E_NOT_CALLABLE',
        `\`${name}\` is ${showType(callee)}, which cannot be called`,
        e.callee.span,
      );
      return UNKNOWN;
  }
}

function builtinCall(
  c: ExprChecker,
  e: A.CallExpr,
  ctx: ExprContext,
  name: string,
  typeOf: (a: A.Arg) => AlignType,
): AlignType {
  // A name with a tensor meaning and a block meaning (`normalize`) is tensor code inside `fn`, and
  // in a stage when called like a tensor function (positional arguments only).
  const variant = tensorVariantBuiltins.get(name);
  const tensorLike =
    ctx.mode === 'fn' || (ctx.mode === 'stage' && e.args.every((a) => a.name === undefined));
  const sig = variant && tensorLike ? variant : builtins.get(name);
  if (!sig) return UNKNOWN;
  if (!sig.contexts.includes(ctx.mode)) {
    const where =
      ctx.mode === 'fn'
        ? `\`${name}\` is not tensor code; it cannot be used inside \`fn\``
        : ctx.mode === 'config'
          ? `\`${name}\` ${sig.contexts.includes('fn') ? 'is tensor code' : 'runs only inside stages'}; it cannot be used in a top-level declaration`
          : `\`${name}\` belongs in a top-level declaration, not in a stage`;
    c.state.report('E_CONTEXT', where, e.callee.span);
    return UNKNOWN;
  }
  const bound = bindBuiltinArgs(name, sig.params, e.args, e.span, typeOf, c.state);
  return sig.result(bound, {
    callSpan: e.span,
    report: (code, message, span, hint) => c.state.report(code, message, span, { hint }),
  });
}

/** A number, boolean or list argument seen as the tensor a `fn` parameter receives. */
function argAsTensor(t: AlignType, want: TensorType): TensorType | string | undefined {
  switch (t.kind) {
    case 'tensor':
      return t;
    case 'number':
      if (want.shape.length !== 0) return `expected ${showShape(want)} but got a single number`;
      if (want.dtype === 'bool') return 'expected bool but got a number';
      if (want.dtype === 'i32' && !t.integer) return 'expected an i32 but got a fractional number';
      return want;
    case 'boolean':
      return { kind: 'tensor', dtype: 'bool', shape: [] };
    case 'list':
      if (t.items.every((i) => i.kind === 'number')) {
        return {
          kind: 'tensor',
          dtype: want.dtype === 'i32' ? 'i32' : 'f32',
          shape: [{ kind: 'const', size: t.items.length }],
        };
      }
      return undefined;
    default:
      return undefined;
  }
}

function fnCall(
  c: ExprChecker,
  e: A.CallExpr,
  ctx: ExprContext,
  decl: A.FnDecl,
  typeOf: (a: A.Arg) => AlignType,
): AlignType {
  const name = decl.name.name;
  if (ctx.mode === 'config') {
    c.state.report(
      'E_CONTEXT',
      `\`${name}\` is tensor code; call it from a stage or another \`fn\``,
      e.callee.span,
    );
    return UNKNOWN;
  }
  const params = decl.params.map((p) => ({
    name: p.name.name,
    required: p.default === undefined,
    variadic: false,
  }));
  const matched = matchArgs(name, params, e.args, e.span, c.state);
  const binding = new ShapeBinding();
  let failed = false;
  for (const p of decl.params) {
    const arg = matched.get(p.name.name)?.[0];
    if (!arg) continue;
    const got = typeOf(arg);
    if (got.kind === 'unknown') continue;
    const want = tensorTypeOf(p.type);
    const t = argAsTensor(got, want);
    if (t === undefined) {
      c.state.report(
        'E_ARG_TYPE',
        `argument \`${p.name.name}\` of \`${name}\` must be ${showShape(want)}, not ${showType(got)}`,
        arg.value.span,
      );
      failed = true;
      continue;
    }
    if (typeof t === 'string') {
      c.state.report(
        'E_SHAPE_MISMATCH',
        `argument \`${p.name.name}\` of \`${name}\`: ${t}`,
        arg.value.span,
      );
      failed = true;
      continue;
    }
    if (t.dtype !== want.dtype) {
      c.state.report(
        'E_DTYPE',
        `argument \`${p.name.name}\` of \`${name}\` must be ${want.dtype}, not ${t.dtype} (${showShape(t)})`,
        arg.value.span,
        { hint: `convert with ${want.dtype}(…)` },
      );
      failed = true;
      continue;
    }
    const why = binding.bind(want, t, p.name.name);
    if (why) {
      c.state.report(
        'E_SHAPE_MISMATCH',
        `argument \`${p.name.name}\` of \`${name}\`: ${why}`,
        arg.value.span,
      );
      failed = true;
    }
  }
  if (failed) return UNKNOWN;
  return binding.apply(tensorTypeOf(decl.returnType));
}

function detectorCall(
  c: ExprChecker,
  e: A.CallExpr,
  ctx: ExprContext,
  det: AlignType,
  typeOf: (a: A.Arg) => AlignType,
): AlignType {
  if (ctx.mode !== 'stage') {
    c.state.report('E_CONTEXT', 'a detector runs only inside a stage', e.callee.span);
    return UNKNOWN;
  }
  const [arg, ...rest] = e.args;
  if (!arg || rest.length > 0 || arg.name !== undefined) {
    c.state.report('E_TOO_MANY_ARGS', 'a detector takes exactly one view, e.g. online(v1)', e.span);
    return UNKNOWN;
  }
  const t = typeOf(arg);
  if (t.kind === 'unknown') return UNKNOWN;
  if (t.kind !== 'record' || t.name !== 'view sample') {
    c.state.report(
      'E_ARG_TYPE',
      `a detector runs on a view (from \`view v = …\`), not on ${showType(t)}`,
      arg.value.span,
    );
    return UNKNOWN;
  }
  return detectorOutput(det, arg.value.kind === 'Name' ? arg.value.name : 'view');
}
