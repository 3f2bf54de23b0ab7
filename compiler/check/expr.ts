// The expression checker of compiler/check: resolves names, computes the AlignType of every
// expression (recorded in CheckState.types) and reports type, dtype and shape errors. One checker
// serves all three places expressions appear — top-level declarations (config), stages, and `fn`
// bodies — with `mode` saying which built-ins and values are allowed. Calls live in calls.ts.

import { suggest as closest } from './suggest.js';
import type * as A from '../../grammar/ast.js';
import type { SourceSpan } from '../../runtime/errors.js';
import { checkCall } from './calls.js';
import { checkIndex, checkReduce } from './index-notation.js';
import { combine } from './elementwise.js';
import type { Scope, Symbol } from './scope.js';
import type { CheckState } from './state.js';
import { num, showType, tensor, UNKNOWN, type AlignType } from './types.js';

export type Mode = 'config' | 'stage' | 'fn';

export interface ExprContext {
  readonly mode: Mode;
  readonly scope: Scope;
  /** Names bound only inside this module (for messages about declarations used too early). */
  readonly file: string;
}

export class ExprChecker {
  constructor(readonly state: CheckState) {}

  check(e: A.Expr, ctx: ExprContext): AlignType {
    const t = this.compute(e, ctx);
    this.state.types.set(e, t);
    return t;
  }

  report(
    code: Parameters<CheckState['report']>[0],
    message: string,
    span: SourceSpan,
    hint?: string,
  ): AlignType {
    this.state.report(code, message, span, { hint });
    return UNKNOWN;
  }

  private compute(e: A.Expr, ctx: ExprContext): AlignType {
    switch (e.kind) {
      case 'Number':
        if (e.unit !== undefined) return { kind: 'quantity', unit: e.unit, value: e.value };
        return num(e.value, e.isInteger);
      case 'String':
        return { kind: 'string', value: e.value };
      case 'Bool':
        return ctx.mode === 'fn' ? tensor('bool') : { kind: 'boolean' };
      case 'Name':
        return this.name(e, ctx);
      case 'List':
        return this.list(e, ctx);
      case 'Paren':
        return this.check(e.inner, ctx);
      case 'Unary':
        return this.unary(e, ctx);
      case 'Binary':
        return this.binary(e, ctx);
      case 'Call':
        return checkCall(this, e, ctx);
      case 'Index':
        return checkIndex(this, e, ctx);
      case 'Member':
        return this.member(e, ctx);
      case 'Reduce':
        return checkReduce(this, e, ctx);
      case 'Cast': {
        const t = this.check(e.operand, ctx);
        if (t.kind === 'unknown') return UNKNOWN;
        if (ctx.mode === 'config')
          return this.report(
            'E_CONTEXT',
            'casts are tensor code; use them in `fn` or stages',
            e.span,
          );
        const r = combine([t], 'any');
        if (!r.ok) return this.report(r.code, r.message, e.operand.span);
        return { ...r.type, dtype: e.dtype };
      }
      default:
        return e satisfies never;
    }
  }

  /** Resolves a name, records its symbol, and reports unknown or misplaced names. */
  resolve(e: A.NameRef, ctx: ExprContext): Symbol | undefined {
    const sym = ctx.scope.lookup(e.name);
    if (!sym) {
      const near = closest(e.name, ctx.scope.visibleNames());
      this.state.report(
        'E_UNKNOWN_NAME',
        `unknown name \`${e.name}\`${near ? `; did you mean \`${near}\`?` : ''}`,
        e.span,
      );
      return undefined;
    }
    this.state.symbols.set(e, sym);
    return sym;
  }

  private name(e: A.NameRef, ctx: ExprContext): AlignType {
    const sym = this.resolve(e, ctx);
    if (!sym) return UNKNOWN;
    switch (sym.kind) {
      case 'decl': {
        if (sym.type === undefined) {
          return this.report(
            'E_UNKNOWN_NAME',
            `\`${e.name}\` is used before its declaration (line ${sym.decl.span.start.line})`,
            e.span,
            'declarations are read top to bottom; move this one up',
          );
        }
        if (
          ctx.mode === 'fn' &&
          !['number', 'boolean', 'list', 'unknown'].includes(sym.type.kind)
        ) {
          return this.report(
            'E_CONTEXT',
            `\`${e.name}\` is ${showType(sym.type)}; a \`fn\` body can only use tensors and numbers`,
            e.span,
          );
        }
        if (ctx.mode === 'fn' && sym.type.kind === 'boolean') return tensor('bool');
        return sym.type;
      }
      case 'fn':
        return { kind: 'fn', decl: sym.decl, file: sym.file };
      case 'stage':
        if (!sym.checked) {
          return this.report(
            'E_STAGE',
            `stage \`${e.name}\` does not run before this point`,
            e.span,
            'stages run in file order',
          );
        }
        return { kind: 'stage', name: e.name };
      case 'module':
        return { kind: 'module', file: sym.file };
      case 'local':
        return sym.type;
      case 'index':
        return tensor('i32');
      case 'builtin':
        return { kind: 'builtin', name: sym.sig.name };
      case 'constant':
        return ctx.mode === 'config' ? num(sym.value, false) : tensor('f32');
      default:
        return sym satisfies never;
    }
  }

  private list(e: A.ListExpr, ctx: ExprContext): AlignType {
    const items = e.items.map((i) => this.check(i, ctx));
    const known = items.filter((t) => t.kind !== 'unknown');
    const first = known[0];
    if (ctx.mode === 'fn') {
      if (known.some((t) => t.kind !== 'number'))
        return this.report('E_TYPE', 'a list in tensor code holds numbers only', e.span);
      return tensor('f32', items.length);
    }
    if (
      first &&
      known.some((t) => t.kind !== first.kind && !(t.kind === 'value' && first.kind === 'value'))
    ) {
      return this.report(
        'E_TYPE',
        `list items must all be of one kind; found ${showType(first)} and ${showType(known.find((t) => t.kind !== first.kind) ?? first)}`,
        e.span,
      );
    }
    if (first?.kind === 'number')
      return {
        kind: 'list',
        element: num(
          undefined,
          known.every((t) => t.kind === 'number' && t.integer),
        ),
        items,
      };
    return { kind: 'list', element: first ?? UNKNOWN, items };
  }

  private unary(e: A.UnaryExpr, ctx: ExprContext): AlignType {
    const t = this.check(e.operand, ctx);
    if (t.kind === 'unknown') return UNKNOWN;
    if (e.op === '-' && t.kind === 'number')
      return num(t.value === undefined ? undefined : -t.value, t.integer);
    if (e.op === 'not' && t.kind === 'boolean') return t;
    if (ctx.mode === 'config')
      return this.report('E_TYPE', `\`${e.op}\` cannot apply to ${showType(t)}`, e.span);
    const r = combine([t], e.op === 'not' ? 'bool' : 'number');
    return r.ok ? r.type : this.report(r.code, r.message, e.span);
  }

  private binary(e: A.BinaryExpr, ctx: ExprContext): AlignType {
    const l = this.check(e.left, ctx);
    const r = this.check(e.right, ctx);
    if (l.kind === 'unknown' || r.kind === 'unknown') return UNKNOWN;
    switch (e.op) {
      case '>>':
        return this.pipe(e, l, r);
      case '..': {
        if (l.kind !== 'number' || r.kind !== 'number')
          return this.report('E_TYPE', 'a range `a..b` needs two numbers', e.span);
        if (l.value !== undefined && r.value !== undefined && l.value > r.value) {
          return this.report('E_TYPE', `the range ${l.value}..${r.value} is empty`, e.span);
        }
        return { kind: 'range', low: l.value, high: r.value };
      }
      case '+':
      case '-':
      case '*':
      case '/':
      case '^': {
        if (l.kind === 'number' && r.kind === 'number') return foldArithmetic(e.op, l, r);
        if (ctx.mode === 'config')
          return this.report(
            'E_TYPE',
            `\`${e.op}\` cannot combine ${showType(l)} and ${showType(r)}`,
            e.span,
          );
        const c = combine([l, r], 'number');
        if (!c.ok) return this.report(c.code, c.message, e.span);
        return e.op === '/' || e.op === '^' ? { ...c.type, dtype: 'f32' } : c.type;
      }
      case '==':
      case '!=':
      case '<':
      case '<=':
      case '>':
      case '>=': {
        if (ctx.mode === 'config') {
          if (l.kind === 'number' && r.kind === 'number') return { kind: 'boolean' };
          return this.report(
            'E_TYPE',
            `\`${e.op}\` cannot compare ${showType(l)} and ${showType(r)}`,
            e.span,
          );
        }
        const c = combine([l, r], e.op === '==' || e.op === '!=' ? 'any' : 'number');
        return c.ok ? { ...c.type, dtype: 'bool' } : this.report(c.code, c.message, e.span);
      }
      case 'and':
      case 'or': {
        if (l.kind === 'boolean' && r.kind === 'boolean') return l;
        const c = combine([l, r], 'bool');
        return c.ok ? c.type : this.report(c.code, c.message, e.span);
      }
      default:
        return e.op satisfies never;
    }
  }

  private pipe(e: A.BinaryExpr, l: AlignType, r: AlignType): AlignType {
    const dom = (t: AlignType) => (t.kind === 'value' ? t.domain : undefined);
    const [a, b] = [dom(l), dom(r)];
    if (a === 'transform' && b === 'transform') return l;
    if ((a === 'proposals' || a === 'proposal_filter') && b === 'proposal_filter') return l;
    return this.report(
      'E_TYPE',
      `\`>>\` chains view transforms, or proposals with proposal filters; it cannot chain ${showType(l)} with ${showType(r)}`,
      e.span,
    );
  }

  private member(e: A.MemberExpr, ctx: ExprContext): AlignType {
    const t = this.check(e.target, ctx);
    const name = e.member.name;
    if (t.kind === 'unknown') return UNKNOWN;
    if (t.kind === 'record') {
      const field = t.fields.get(name);
      if (field) return field;
      const near = closest(name, [...t.fields.keys()]);
      return this.report(
        'E_UNKNOWN_MEMBER',
        `${t.name} has no field \`${name}\`${near ? `; did you mean \`${near}\`?` : ''}`,
        e.member.span,
        `fields: ${[...t.fields.keys()].join(', ')}`,
      );
    }
    if (t.kind === 'module') {
      const sym = moduleExport(this, t.file, name);
      if (!sym)
        return this.report('E_UNKNOWN_MEMBER', `the module has no \`${name}\``, e.member.span);
      if (sym.kind === 'fn') return { kind: 'fn', decl: sym.decl, file: sym.file };
      if (sym.kind === 'decl') return sym.type ?? UNKNOWN;
      return UNKNOWN;
    }
    return this.report('E_UNKNOWN_MEMBER', `${showType(t)} has no fields`, e.member.span);
  }
}

function foldArithmetic(
  op: A.ArithOp,
  l: { value: number | undefined; integer: boolean },
  r: { value: number | undefined; integer: boolean },
): AlignType {
  if (l.value === undefined || r.value === undefined)
    return num(undefined, l.integer && r.integer && op !== '/');
  const v =
    op === '+'
      ? l.value + r.value
      : op === '-'
        ? l.value - r.value
        : op === '*'
          ? l.value * r.value
          : op === '/'
            ? l.value / r.value
            : l.value ** r.value;
  return num(v, Number.isInteger(v) && l.integer && r.integer && op !== '/');
}

function moduleExport(checker: ExprChecker, file: string, name: string): Symbol | undefined {
  return checker.state.exports.get(file)?.get(name);
}
