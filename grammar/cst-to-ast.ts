// The CST → AST visitor: turns chevrotain's untyped concrete syntax tree (parser.ts) into the typed
// AST (ast.ts), attaching a SourceSpan to every node. It runs only on a CST that parsed without
// errors, so every child the grammar requires is present; a missing one is an internal bug.

import type { CstElement, CstNode, IToken } from 'chevrotain';
import type { SourcePosition, SourceSpan } from '../runtime/errors.js';
import type * as A from './ast.js';

type Children = Record<string, CstElement[] | undefined>;

function isToken(e: CstElement): e is IToken {
  return (e as IToken).image !== undefined;
}

export class AstBuilder {
  constructor(private readonly file: string) {}

  // ------------------------------------------------------------ spans and child access

  private pos(
    offset: number,
    line: number | undefined,
    column: number | undefined,
  ): SourcePosition {
    return { offset, line: line ?? 1, column: column ?? 1 };
  }

  tokenSpan(t: IToken): SourceSpan {
    return {
      file: this.file,
      start: this.pos(t.startOffset, t.startLine, t.startColumn),
      end: this.pos((t.endOffset ?? t.startOffset) + 1, t.endLine, (t.endColumn ?? 0) + 1),
    };
  }

  private nodeSpan(n: CstNode): SourceSpan {
    const l = n.location;
    if (!l || Number.isNaN(l.startOffset))
      throw new Error(`internal: CST node ${n.name} has no location`);
    return {
      file: this.file,
      start: this.pos(l.startOffset, l.startLine, l.startColumn),
      end: this.pos((l.endOffset ?? l.startOffset) + 1, l.endLine, (l.endColumn ?? 0) + 1),
    };
  }

  private join(a: SourceSpan, b: SourceSpan): SourceSpan {
    return { file: this.file, start: a.start, end: b.end };
  }

  private all(n: CstNode, key: string): CstElement[] {
    return (n.children as Children)[key] ?? [];
  }

  private nodes(n: CstNode, key: string): CstNode[] {
    return this.all(n, key).filter((e): e is CstNode => !isToken(e));
  }

  private tokens(n: CstNode, key: string): IToken[] {
    return this.all(n, key).filter(isToken);
  }

  private node(n: CstNode, key: string): CstNode {
    const found = this.nodes(n, key)[0];
    if (!found) throw new Error(`internal: CST node ${n.name} lacks ${key}`);
    return found;
  }

  private token(n: CstNode, key: string): IToken {
    const found = this.tokens(n, key)[0];
    if (!found) throw new Error(`internal: CST node ${n.name} lacks token ${key}`);
    return found;
  }

  private maybeNode(n: CstNode, key: string): CstNode | undefined {
    return this.nodes(n, key)[0];
  }

  private ident(t: IToken): A.Ident {
    return { kind: 'Ident', name: t.image, span: this.tokenSpan(t) };
  }

  // ------------------------------------------------------------ top level

  module(n: CstNode, comments: readonly A.Comment[], text: string): A.Module {
    const items = this.nodes(n, 'topItem').map((t) => this.topItem(t));
    const end = this.endOfText(text);
    return {
      kind: 'Module',
      file: this.file,
      items,
      comments,
      span: { file: this.file, start: { offset: 0, line: 1, column: 1 }, end },
    };
  }

  private endOfText(text: string): SourcePosition {
    const lines = text.split('\n');
    return { offset: text.length, line: lines.length, column: lines[lines.length - 1].length + 1 };
  }

  private topItem(n: CstNode): A.TopItem {
    const use = this.maybeNode(n, 'useDecl');
    if (use) return this.useDecl(use);
    const value = this.maybeNode(n, 'valueDecl');
    if (value) return this.valueDecl(value);
    const fn = this.maybeNode(n, 'fnDecl');
    if (fn) return this.fnDecl(fn);
    return this.stageDecl(this.node(n, 'stageDecl'));
  }

  private useDecl(n: CstNode): A.UseDecl {
    const aliasToken = this.tokens(n, 'alias')[0];
    const alias = aliasToken ? this.ident(aliasToken) : undefined;
    const file = this.tokens(n, 'file')[0];
    if (file) {
      return {
        kind: 'Use',
        source: { kind: 'file', path: unquote(file.image), raw: file.image },
        sourceSpan: this.tokenSpan(file),
        alias,
        span: this.nodeSpan(n),
      };
    }
    const segments = this.tokens(n, 'segment');
    return {
      kind: 'Use',
      source: { kind: 'std', segments: segments.map((s) => s.image) },
      sourceSpan: this.join(
        this.tokenSpan(segments[0]),
        this.tokenSpan(segments[segments.length - 1]),
      ),
      alias,
      span: this.nodeSpan(n),
    };
  }

  private valueDecl(n: CstNode): A.ValueDecl {
    return {
      kind: 'ValueDecl',
      declKind: this.token(n, 'DeclKeyword').image as A.ValueDeclKind,
      name: this.ident(this.token(n, 'name')),
      value: this.expression(this.node(n, 'value')),
      span: this.nodeSpan(n),
    };
  }

  private fnDecl(n: CstNode): A.FnDecl {
    return {
      kind: 'FnDecl',
      name: this.ident(this.token(n, 'name')),
      params: this.nodes(n, 'param').map((p) => this.param(p)),
      returnType: this.tensorType(this.node(n, 'returnType')),
      body: this.nodes(n, 'fnStmt').map((s) => this.fnStmt(s)),
      span: this.nodeSpan(n),
    };
  }

  private param(n: CstNode): A.Param {
    const def = this.maybeNode(n, 'default');
    return {
      kind: 'Param',
      name: this.ident(this.token(n, 'name')),
      type: this.tensorType(this.node(n, 'tensorType')),
      default: def ? this.expression(def) : undefined,
      span: this.nodeSpan(n),
    };
  }

  private tensorType(n: CstNode): A.TensorTypeExpr {
    return {
      kind: 'TensorType',
      dtype: this.token(n, 'DtypeKeyword').image as A.Dtype,
      dims: this.nodes(n, 'dim').map((d) => this.dim(d)),
      span: this.nodeSpan(n),
    };
  }

  private dim(n: CstNode): A.DimExpr {
    const name = this.tokens(n, 'Identifier')[0];
    if (name) return { kind: 'DimName', name: name.image, span: this.tokenSpan(name) };
    const size = this.token(n, 'NumberLiteral');
    return { kind: 'DimSize', size: Number(size.image), span: this.tokenSpan(size) };
  }

  private fnStmt(n: CstNode): A.FnStmt {
    const let_ = this.maybeNode(n, 'letStmt');
    if (let_) return this.letStmt(let_);
    const ret = this.maybeNode(n, 'returnStmt');
    if (ret) {
      return {
        kind: 'Return',
        value: this.expression(this.node(ret, 'value')),
        span: this.nodeSpan(ret),
      };
    }
    const bw = this.node(n, 'backwardStmt');
    return {
      kind: 'Backward',
      cotangent: this.ident(this.token(bw, 'cotangent')),
      grads: this.nodes(bw, 'gradStmt').map((g) => ({
        kind: 'Grad' as const,
        param: this.ident(this.token(g, 'param')),
        value: this.expression(this.node(g, 'value')),
        span: this.nodeSpan(g),
      })),
      span: this.nodeSpan(bw),
    };
  }

  private letStmt(n: CstNode): A.LetStmt {
    const indexTokens = this.tokens(n, 'index');
    return {
      kind: 'Let',
      name: this.ident(this.token(n, 'name')),
      indices: indexTokens.length > 0 ? indexTokens.map((t) => this.ident(t)) : undefined,
      value: this.expression(this.node(n, 'value')),
      span: this.nodeSpan(n),
    };
  }

  private stageDecl(n: CstNode): A.StageDecl {
    return {
      kind: 'StageDecl',
      name: this.ident(this.token(n, 'name')),
      body: this.nodes(n, 'stageStmt').map((s) => this.stageStmt(s)),
      span: this.nodeSpan(n),
    };
  }

  private stageStmt(n: CstNode): A.StageStmt {
    const let_ = this.maybeNode(n, 'letStmt');
    if (let_) return this.letStmt(let_);
    const match = this.maybeNode(n, 'matchStmt');
    if (match) {
      return {
        kind: 'Match',
        name: this.ident(this.token(match, 'name')),
        value: this.expression(this.node(match, 'value')),
        span: this.nodeSpan(match),
      };
    }
    const loss = this.maybeNode(n, 'lossStmt');
    if (loss) {
      return {
        kind: 'Loss',
        name: this.ident(this.token(loss, 'name')),
        value: this.expression(this.node(loss, 'value')),
        args: this.nodes(loss, 'argument').map((a) => this.argument(a)),
        span: this.nodeSpan(loss),
      };
    }
    const view = this.maybeNode(n, 'viewStmt');
    if (view) {
      return {
        kind: 'ViewBind',
        name: this.ident(this.token(view, 'name')),
        value: this.expression(this.node(view, 'value')),
        span: this.nodeSpan(view),
      };
    }
    const clause = this.node(n, 'clauseStmt');
    const keyword = this.token(clause, 'ClauseKeyword');
    return {
      kind: 'Clause',
      clause: keyword.image as A.ClauseKind,
      keywordSpan: this.tokenSpan(keyword),
      args: this.nodes(clause, 'argument').map((a) => this.argument(a)),
      span: this.nodeSpan(clause),
    };
  }

  private argument(n: CstNode): A.Arg {
    const name = this.tokens(n, 'argName')[0];
    return {
      kind: 'Arg',
      name: name ? this.ident(name) : undefined,
      value: this.expression(this.node(n, 'value')),
      span: this.nodeSpan(n),
    };
  }

  // ------------------------------------------------------------ expressions

  /** An `expression` node: a flat chain of operands and operators, climbed by precedence. */
  expression(n: CstNode): A.Expr {
    const operands = this.nodes(n, 'operand');
    const operators = this.tokens(n, 'operator');
    let next = 0;
    let opAt = 0;

    const operand = (): A.Expr => {
      const node = operands[next++];
      return applyPrefixes(this.tokens(node, 'prefix'), 0, this.node(node, 'operand'));
    };
    let depth = 0;
    const applyPrefixes = (prefixes: IToken[], i: number, postfix: CstNode): A.Expr => {
      if (prefixes.length > MAX_EXPRESSION_DEPTH) {
        throw new ExpressionTooDeep(this.tokenSpan(prefixes[0]));
      }
      if (i === prefixes.length) return this.postfix(postfix);
      const op: A.UnaryOp = prefixes[i].image === 'not' ? 'not' : '-';
      const inner = climb(applyPrefixes(prefixes, i + 1, postfix), PREFIX_PRECEDENCE[op] + 1);
      return {
        kind: 'Unary',
        op,
        operand: inner,
        span: this.join(this.tokenSpan(prefixes[i]), inner.span),
      };
    };
    const climb = (first: A.Expr, minPrecedence: number): A.Expr => {
      let left = first;
      while (opAt < operators.length) {
        const op = operators[opAt].image as A.BinaryOp;
        const precedence = BINARY_PRECEDENCE[op];
        if (precedence < minPrecedence) break;
        opAt++;
        if (++depth > MAX_EXPRESSION_DEPTH)
          throw new ExpressionTooDeep(this.tokenSpan(operators[opAt - 1]));
        const right = climb(operand(), op === '^' ? precedence : precedence + 1);
        depth--;
        left = { kind: 'Binary', op, left, right, span: this.join(left.span, right.span) };
      }
      return left;
    };
    return climb(operand(), 0);
  }

  private postfix(n: CstNode): A.Expr {
    let acc = this.primary(this.node(n, 'primary'));
    for (const suffix of this.nodes(n, 'suffix')) {
      const span = this.join(acc.span, this.nodeSpan(suffix));
      switch (suffix.name) {
        case 'callSuffix':
          acc = {
            kind: 'Call',
            callee: acc,
            args: this.nodes(suffix, 'argument').map((a) => this.argument(a)),
            span,
          };
          break;
        case 'indexSuffix':
          acc = {
            kind: 'Index',
            target: acc,
            indices: this.nodes(suffix, 'index').map((e) => this.expression(e)),
            span,
          };
          break;
        case 'memberSuffix':
          acc = {
            kind: 'Member',
            target: acc,
            member: this.ident(this.token(suffix, 'member')),
            span,
          };
          break;
        default:
          throw new Error(`internal: unexpected CST suffix ${suffix.name}`);
      }
    }
    return acc;
  }

  private primary(n: CstNode): A.Expr {
    const span = this.nodeSpan(n);
    const num = this.tokens(n, 'NumberLiteral')[0];
    if (num) {
      const unitToken = this.tokens(n, 'unit')[0];
      const unitText = unitToken?.image;
      return {
        kind: 'Number',
        value: Number(num.image),
        raw: num.image,
        isInteger: /^\d+$/.test(num.image),
        unit: unitText === undefined ? undefined : unitOf(unitText),
        unitText,
        span,
      };
    }
    const str = this.tokens(n, 'StringLiteral')[0];
    if (str) return { kind: 'String', value: unquote(str.image), raw: str.image, span };
    if (this.tokens(n, 'Kw_true')[0]) return { kind: 'Bool', value: true, span };
    if (this.tokens(n, 'Kw_false')[0]) return { kind: 'Bool', value: false, span };
    const id = this.tokens(n, 'Identifier')[0];
    if (id) return { kind: 'Name', name: id.image, span };
    const list = this.maybeNode(n, 'listExpr');
    if (list)
      return { kind: 'List', items: this.nodes(list, 'item').map((i) => this.expression(i)), span };
    const paren = this.maybeNode(n, 'parenExpr');
    if (paren) return { kind: 'Paren', inner: this.expression(this.node(paren, 'inner')), span };
    const reduce = this.maybeNode(n, 'reduceExpr');
    if (reduce) {
      const idx = this.tokens(reduce, 'index');
      return {
        kind: 'Reduce',
        op: this.token(reduce, 'ReduceKeyword').image as A.ReduceOp,
        indices: idx.length > 0 ? idx.map((t) => this.ident(t)) : undefined,
        body: this.expression(this.node(reduce, 'body')),
        span,
      };
    }
    const cast = this.node(n, 'castExpr');
    return {
      kind: 'Cast',
      dtype: this.token(cast, 'DtypeKeyword').image as A.Dtype,
      operand: this.expression(this.node(cast, 'operand')),
      span,
    };
  }
}

/**
 * How deeply operations may nest in one expression (operator chains and prefix runs included):
 * keeps every recursive pass over the AST (checker, formatter, lowering) within the stack.
 */
export const MAX_EXPRESSION_DEPTH = 200;

/** Thrown while building the AST of an over-deep expression; parse.ts turns it into a diagnostic. */
export class ExpressionTooDeep extends Error {
  constructor(readonly span: SourceSpan) {
    super('expression too deep');
  }
}

/** Binding strength of infix operators; `^` is right-associative, all others left. */
export const BINARY_PRECEDENCE: Readonly<Record<A.BinaryOp, number>> = {
  '>>': 1,
  or: 2,
  and: 3,
  '==': 5,
  '!=': 5,
  '<': 5,
  '<=': 5,
  '>': 5,
  '>=': 5,
  '..': 6,
  '+': 7,
  '-': 7,
  '*': 8,
  '/': 8,
  '^': 10,
};

/** `not a < b` is `not (a < b)`; `-x ^ 2` is `-(x ^ 2)` but `-a * b` is `(-a) * b`. */
const PREFIX_PRECEDENCE: Readonly<Record<A.UnaryOp, number>> = { not: 4, '-': 9 };

function unitOf(text: string): A.Unit {
  if (text === '%') return 'percent';
  if (text.startsWith('epoch')) return 'epoch';
  return 'iter';
}

/** The value of a string literal: strips the quotes and resolves `\\`, `\"`, `\n`, `\t`. */
export function unquote(raw: string): string {
  return raw
    .slice(1, -1)
    .replace(/\\([\\"nt])/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}
