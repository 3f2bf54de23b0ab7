// The Prettier printer for `.align`: AST (grammar/ast.ts) → Prettier doc. Used by the plugin in
// plugin.ts, which `alignc fmt` runs. Comments are attached by Prettier itself (leading and
// trailing); comments with nothing around them (an empty stage, a file of comments) are printed
// here as dangling. Blank lines between statements are kept, at most one.

import { doc, util, type AstPath, type Doc, type ParserOptions, type Printer } from 'prettier';
import type * as A from '../../grammar/ast.js';
import { BINARY_PRECEDENCE } from '../../grammar/cst-to-ast.js';
import { attachLineComment } from './comments.js';

const { group, indent, join, line, softline, hardline, ifBreak, lineSuffix, breakParent } =
  doc.builders;

/** A comment once Prettier has attached it. */
interface AttachedComment extends A.Comment {
  leading?: boolean;
  trailing?: boolean;
  printed?: boolean;
}

type Node = A.AstNode | A.Comment;
type WithComments = { comments?: AttachedComment[] };
type Print = (selector?: string | number | (string | number)[]) => Doc;

function danglingComments(path: AstPath<Node>): Doc[] {
  const node = path.node as Node & WithComments;
  const out: Doc[] = [];
  for (const c of node.comments ?? []) {
    if (c.leading || c.trailing || c.printed) continue;
    c.printed = true;
    out.push(c.text);
  }
  return out;
}

/** Statements one per line, keeping a single blank line where the source had one or more. */
function statements(
  path: AstPath<Node>,
  print: Print,
  key: string,
  options: ParserOptions<Node>,
): Doc {
  const parts: Doc[] = [];
  const items = (path.node as unknown as Record<string, readonly A.AstNode[]>)[key];
  path.each((child, index) => {
    parts.push(print());
    if (index < items.length - 1) {
      parts.push(hardline);
      const end = (child.node as A.AstNode).span.end.offset;
      if (util.isNextLineEmpty(options.originalText, end)) parts.push(hardline);
    }
  }, key as never);
  return parts;
}

function block(
  path: AstPath<Node>,
  print: Print,
  key: string,
  options: ParserOptions<Node>,
  opener: Doc,
): Doc {
  const items = (path.node as unknown as Record<string, readonly unknown[]>)[key];
  const dangling = danglingComments(path);
  if (items.length === 0 && dangling.length === 0) return [opener, ' {}'];
  const body: Doc[] = items.length > 0 ? [statements(path, print, key, options)] : [];
  if (dangling.length > 0) body.push(items.length > 0 ? hardline : '', join(hardline, dangling));
  return [opener, ' {', indent([hardline, ...body]), hardline, '}'];
}

/** `(a, b)` / `[a, b]` that breaks one item per line with a trailing comma when too long. */
function delimited(
  path: AstPath<Node>,
  print: Print,
  key: string,
  open: string,
  close: string,
): Doc {
  const dangling = danglingComments(path);
  const items = path.map(() => print(), key as never);
  if (items.length === 0)
    return dangling.length > 0 ? [open, join(' ', dangling), close] : [open, close];
  return group([open, indent([softline, join([',', line], items), ifBreak(',')]), softline, close]);
}

function clauseArgs(path: AstPath<Node>, print: Print, key: string): Doc {
  const args = path.map(() => print(), key as never);
  if (args.length === 0) return '';
  const [first, ...rest] = args;
  return rest.length === 0 ? first : [first, indent(rest.map((a) => [',', line, a]))];
}

function printBinary(path: AstPath<Node>, print: Print, node: A.BinaryExpr): Doc {
  const left = print('left');
  const right = print('right');
  if (node.op === '..') return [left, '..', right];
  if (node.op === '^') return [left, ' ^ ', right];
  const parent = path.parent as A.AstNode | null;
  const chained =
    parent?.kind === 'Binary' && BINARY_PRECEDENCE[parent.op] === BINARY_PRECEDENCE[node.op];
  const parts: Doc = [
    left,
    node.op === '>>' ? line : ' ',
    node.op,
    node.op === '>>' ? ' ' : line,
    right,
  ];
  if (chained) return parts;
  return group(node.op === '>>' ? indent(parts) : [left, ' ', node.op, indent([line, right])]);
}

function flattenPipe(node: A.Expr): A.Expr[] {
  return node.kind === 'Binary' && node.op === '>>'
    ? [...flattenPipe(node.left), node.right]
    : [node];
}

/**
 * Comments inside a construct with no node of their own around them (`use /* x *\/ std.boxes`) are
 * printed after the construct: block comments inline, line comments at the end of the line.
 */
function withDangling(path: AstPath<Node>, printed: Doc): Doc {
  const node = path.node as Node & WithComments;
  const parts: Doc[] = [printed];
  for (const c of node.comments ?? []) {
    if (c.leading || c.trailing || c.printed) continue;
    c.printed = true;
    // No breakParent: the comment goes to the end of the line wherever the group breaks.
    parts.push(c.block ? [' ', c.text] : lineSuffix([' ', c.text]));
  }
  return parts.length === 1 ? printed : parts;
}

export const alignPrinter: Printer<Node> = {
  print(path, options, print): Doc {
    return withDangling(path, printNode(path, options, print));
  },

  printComment(path): Doc {
    return (path.node as A.Comment).text;
  },

  handleComments: { endOfLine: attachLineComment, remaining: attachLineComment },

  canAttachComment(node: Node): boolean {
    return (
      typeof node === 'object' &&
      node !== null &&
      'kind' in node &&
      node.kind !== 'Comment' &&
      node.kind !== 'Ident' &&
      'span' in node
    );
  },

  isBlockComment(node: Node): boolean {
    return node.kind === 'Comment' && node.block;
  },

  getVisitorKeys(node: Node, nonTraversableKeys: Set<string>): string[] {
    return Object.keys(node).filter(
      (k) =>
        !nonTraversableKeys.has(k) &&
        k !== 'span' &&
        k !== 'keywordSpan' &&
        k !== 'sourceSpan' &&
        k !== 'source',
    );
  },
};

function printNode(path: AstPath<Node>, options: ParserOptions<Node>, print: Print): Doc {
  const node = path.node;
  switch (node.kind) {
    case 'Module': {
      const dangling = danglingComments(path);
      const body = statements(path, print, 'items', options);
      const parts: Doc[] = [body];
      if (dangling.length > 0)
        parts.push(node.items.length > 0 ? hardline : '', join(hardline, dangling));
      return node.items.length === 0 && dangling.length === 0 ? '' : [...parts, hardline];
    }
    case 'Use':
      return [
        'use ',
        node.source.kind === 'file' ? node.source.raw : node.source.segments.join('.'),
        node.alias ? [' as ', node.alias.name] : '',
      ];
    case 'ValueDecl':
      return group([
        node.declKind,
        ' ',
        node.name.name,
        ' =',
        valueAfterEquals(path, print, node.value),
      ]);
    case 'FnDecl':
      return block(
        path,
        print,
        'body',
        options,
        group([
          'fn ',
          node.name.name,
          delimited(path, print, 'params', '(', ')'),
          ' -> ',
          print('returnType'),
        ]),
      );
    case 'Param':
      return [node.name.name, ': ', print('type'), node.default ? [' = ', print('default')] : ''];
    case 'TensorType':
      return node.dims.length === 0
        ? node.dtype
        : [
            node.dtype,
            '[',
            join(
              ', ',
              path.map(() => print(), 'dims'),
            ),
            ']',
          ];
    case 'DimName':
      return node.name;
    case 'DimSize':
      return String(node.size);
    case 'StageDecl':
      return block(path, print, 'body', options, ['stage ', node.name.name]);
    case 'Let':
      return group([
        'let ',
        node.name.name,
        node.indices ? ['[', node.indices.map((i) => i.name).join(', '), ']'] : '',
        ' =',
        valueAfterEquals(path, print, node.value),
      ]);
    case 'Return':
      return ['return ', print('value')];
    case 'Backward':
      return block(path, print, 'grads', options, ['backward(', node.cotangent.name, ')']);
    case 'Grad':
      return group(['grad ', node.param.name, ' =', valueAfterEquals(path, print, node.value)]);
    case 'Match':
      return group(['match ', node.name.name, ' =', valueAfterEquals(path, print, node.value)]);
    case 'ViewBind':
      return group(['view ', node.name.name, ' =', valueAfterEquals(path, print, node.value)]);
    case 'Loss':
      return group([
        'loss ',
        node.name.name,
        ' = ',
        print('value'),
        path.map(() => [', ', print()], 'args'),
      ]);
    case 'Clause':
      return group([node.clause, ' ', clauseArgs(path, print, 'args')]);
    case 'Arg':
      return node.name ? [node.name.name, ': ', print('value')] : print('value');
    case 'Ident':
      return node.name;
    case 'Number':
      return node.unitText === undefined
        ? node.raw
        : node.unit === 'percent'
          ? [node.raw, '%']
          : [node.raw, ' ', node.unitText];
    case 'String':
      return node.raw;
    case 'Bool':
      return node.value ? 'true' : 'false';
    case 'Name':
      return node.name;
    case 'List':
      return delimited(path, print, 'items', '[', ']');
    case 'Paren':
      return ['(', print('inner'), ')'];
    case 'Unary':
      return node.op === 'not' ? ['not ', print('operand')] : ['-', print('operand')];
    case 'Binary':
      return printBinary(path, print, node);
    case 'Call':
      return [print('callee'), delimited(path, print, 'args', '(', ')')];
    case 'Index':
      return [
        print('target'),
        '[',
        join(
          ', ',
          path.map(() => print(), 'indices'),
        ),
        ']',
      ];
    case 'Member':
      return [print('target'), '.', node.member.name];
    case 'Reduce':
      return [
        node.op,
        node.indices ? ['[', node.indices.map((i) => i.name).join(', '), ']'] : '',
        '(',
        print('body'),
        ')',
      ];
    case 'Cast':
      return [node.dtype, '(', print('operand'), ')'];
    case 'Comment':
      return node.text;
    default:
      return node satisfies never;
  }
}

/** ` value`, or a `>>` chain on its own indented lines when it does not fit. */
function valueAfterEquals(path: AstPath<Node>, print: Print, value: A.Expr): Doc {
  if (value.kind === 'Binary' && value.op === '>>' && flattenPipe(value).length > 1) {
    return group(indent([line, print('value')]));
  }
  return [' ', print('value')];
}
