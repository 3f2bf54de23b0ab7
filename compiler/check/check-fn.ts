// Checking one user `fn` (compiler/check): parameters and their defaults, `let` bindings and
// comprehensions with index-variable ranges, exactly one `return` whose shape matches the declared
// result, and an optional hand-written `backward` block whose gradients match the parameters.

import type * as A from '../../grammar/ast.js';
import { tensorTypeOf } from './calls.js';
import type { ExprChecker, ExprContext } from './expr.js';
import { bindIndices, rangesOf } from './index-notation.js';
import type { Scope } from './scope.js';
import {
  dimEquals,
  showShape,
  showType,
  tensor,
  type AlignType,
  type TensorType,
} from './types.js';

/** Whether a value (tensor, literal number or list) fits a declared tensor type exactly. */
function fitsDeclared(got: AlignType, want: TensorType): string | undefined {
  if (got.kind === 'unknown') return undefined;
  if (got.kind === 'number') {
    if (want.shape.length !== 0) return `expected ${showShape(want)} but got a single number`;
    if (want.dtype === 'bool' || (want.dtype === 'i32' && !got.integer))
      return `expected ${want.dtype} but got ${got.value ?? 'a number'}`;
    return undefined;
  }
  if (got.kind !== 'tensor') return `expected ${showShape(want)} but got ${showType(got)}`;
  if (got.dtype !== want.dtype) return `expected ${showShape(want)} but got ${showShape(got)}`;
  if (
    got.shape.length !== want.shape.length ||
    got.shape.some((d, i) => !dimEquals(d, want.shape[i]))
  ) {
    return `expected ${showShape(want)} but got ${showShape(got)}`;
  }
  return undefined;
}

/** A `let` in a `fn` or stage: a whole value, or a comprehension over index variables. */
export function checkLet(c: ExprChecker, s: A.LetStmt, ctx: ExprContext): AlignType {
  if (!s.indices) return c.check(s.value, ctx);
  const inner = bindIndices(c, s.indices, ctx);
  const body = c.check(s.value, inner.ctx);
  const ranges = rangesOf(c, inner.vars);
  if (body.kind === 'unknown' || !ranges) return { kind: 'unknown' };
  const element = body.kind === 'number' ? tensor(body.integer ? 'i32' : 'f32') : body;
  if (element.kind !== 'tensor') {
    c.state.report(
      'E_TYPE',
      `a comprehension computes tensor elements, not ${showType(body)}`,
      s.value.span,
    );
    return { kind: 'unknown' };
  }
  if (element.shape.length > 0) {
    c.state.report(
      'E_RANK',
      `the body of \`let ${s.name.name}[…]\` must be one element, but it is ${showShape(element)}`,
      s.value.span,
      {
        hint: 'index every axis of each tensor in it',
      },
    );
    return { kind: 'unknown' };
  }
  return { kind: 'tensor', dtype: element.dtype, shape: ranges };
}

export function checkFn(c: ExprChecker, fn: A.FnDecl, moduleScope: Scope, file: string): void {
  const scope = moduleScope.child();
  const ctx: ExprContext = { mode: 'fn', scope, file };
  const name = fn.name.name;
  const paramSyms = new Set<string>();
  for (const p of fn.params) {
    const want = tensorTypeOf(p.type);
    for (const d of p.type.dims) paramSyms.add(d.kind === 'DimName' ? d.name : '');
    if (
      scope.define(p.name.name, { kind: 'local', name: p.name.name, span: p.name.span, type: want })
    ) {
      c.state.report(
        'E_DUPLICATE',
        `parameter \`${p.name.name}\` appears twice in \`${name}\``,
        p.name.span,
      );
    }
    if (p.default) {
      const got = c.check(p.default, { mode: 'fn', scope: moduleScope, file });
      const why = fitsDeclared(got, want);
      if (why)
        c.state.report('E_SHAPE_MISMATCH', `default of \`${p.name.name}\`: ${why}`, p.default.span);
    }
  }
  for (const d of fn.returnType.dims) {
    if (d.kind === 'DimName' && !paramSyms.has(d.name)) {
      c.state.report(
        'E_SHAPE_MISMATCH',
        `the result size \`${d.name}\` is not a size of any parameter`,
        d.span,
        {
          hint: 'result shapes are built from the sizes of the parameters',
        },
      );
    }
  }

  const declared = tensorTypeOf(fn.returnType);
  let returned: A.ReturnStmt | undefined;
  let backward: A.BackwardStmt | undefined;
  for (const s of fn.body) {
    switch (s.kind) {
      case 'Let': {
        if (returned) c.state.report('E_RETURN', 'statements after `return` never run', s.span);
        const t = checkLet(c, s, ctx);
        const prior = scope.define(s.name.name, {
          kind: 'local',
          name: s.name.name,
          span: s.name.span,
          type: t,
        });
        if (prior) {
          c.state.report(
            'E_DUPLICATE',
            `\`${s.name.name}\` is already defined in \`${name}\``,
            s.name.span,
            {
              hint: 'values in `fn` are immutable; pick a new name',
            },
          );
        }
        break;
      }
      case 'Return': {
        if (returned) {
          c.state.report(
            'E_RETURN',
            `\`${name}\` already returned at line ${returned.span.start.line}`,
            s.span,
          );
          break;
        }
        returned = s;
        const got = c.check(s.value, ctx);
        const why = fitsDeclared(got, declared);
        if (why)
          c.state.report(
            'E_SHAPE_MISMATCH',
            `\`${name}\` must return ${showShape(declared)}: ${why}`,
            s.value.span,
          );
        break;
      }
      case 'Backward': {
        if (!returned) c.state.report('E_BACKWARD', '`backward` must come after `return`', s.span);
        if (backward)
          c.state.report('E_BACKWARD', `\`${name}\` already has a backward block`, s.span);
        backward = s;
        checkBackward(c, fn, s, ctx, declared);
        break;
      }
      default:
        s satisfies never;
    }
  }
  if (!returned)
    c.state.report('E_RETURN', `\`${name}\` never returns a value`, fn.name.span, {
      hint: 'end the body with `return …`',
    });
}

function checkBackward(
  c: ExprChecker,
  fn: A.FnDecl,
  b: A.BackwardStmt,
  ctx: ExprContext,
  declared: TensorType,
): void {
  const scope = ctx.scope.child();
  if (
    scope.define(b.cotangent.name, {
      kind: 'local',
      name: b.cotangent.name,
      span: b.cotangent.span,
      type: declared,
    })
  ) {
    c.state.report('E_DUPLICATE', `\`${b.cotangent.name}\` is already defined`, b.cotangent.span);
  }
  const inner: ExprContext = { ...ctx, scope };
  const seen = new Set<string>();
  for (const g of b.grads) {
    const param = fn.params.find((p) => p.name.name === g.param.name);
    const got = c.check(g.value, inner);
    if (!param) {
      c.state.report(
        'E_BACKWARD',
        `\`${g.param.name}\` is not a parameter of \`${fn.name.name}\``,
        g.param.span,
      );
      continue;
    }
    if (seen.has(g.param.name))
      c.state.report('E_BACKWARD', `the gradient of \`${g.param.name}\` is given twice`, g.span);
    seen.add(g.param.name);
    const want = tensorTypeOf(param.type);
    if (want.dtype !== 'f32')
      c.state.report(
        'E_BACKWARD',
        `\`${g.param.name}\` is ${want.dtype}; only f32 parameters have gradients`,
        g.span,
      );
    const why = fitsDeclared(got, want);
    if (why)
      c.state.report('E_SHAPE_MISMATCH', `gradient of \`${g.param.name}\`: ${why}`, g.value.span);
  }
  for (const p of fn.params) {
    if (p.type.dtype === 'f32' && p.default === undefined && !seen.has(p.name.name)) {
      c.state.report(
        'E_BACKWARD',
        `the backward block gives no gradient for \`${p.name.name}\``,
        b.span,
        {
          hint: `add \`grad ${p.name.name} = …\` (write 0 * ${p.name.name} if it has none)`,
        },
      );
    }
  }
}
