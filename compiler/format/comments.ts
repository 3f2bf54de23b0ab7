// Where the `.align` formatter attaches line comments (compiler/format). A `// …` comment written
// in the middle of a statement forces its line to end there; left to Prettier's default it becomes
// a trailing comment of whatever expression precedes it, breaks that expression's group, and lands
// elsewhere after formatting, so a second run would attach it differently. Attaching such
// comments to the statement they are in makes formatting idempotent; comments after an argument,
// list item or parameter keep their place.

import { util } from 'prettier';
import type * as A from '../../grammar/ast.js';

type Node = A.AstNode | A.Comment;

interface CommentInfo extends A.Comment {
  enclosingNode?: Node;
  precedingNode?: Node;
  followingNode?: Node;
}

function contains(node: { span: A.Comment['span'] }, offset: number): boolean {
  return node.span.start.offset <= offset && offset < node.span.end.offset;
}

/** The innermost statement-level node whose text contains `offset`, if any. */
function statementAround(module: A.Module, offset: number): A.AstNode | undefined {
  const item = module.items.find((i) => contains(i, offset));
  if (!item) return undefined;
  switch (item.kind) {
    case 'Use':
    case 'ValueDecl':
      return item;
    case 'StageDecl':
      return item.body.find((s) => contains(s, offset));
    case 'FnDecl': {
      const first = item.body[0];
      if (first === undefined || offset < first.span.start.offset) {
        return offset < item.returnType.span.end.offset ? item : undefined;
      }
      const stmt = item.body.find((s) => contains(s, offset));
      if (stmt?.kind === 'Backward') return stmt.grads.find((g) => contains(g, offset));
      return stmt;
    }
    default:
      return item satisfies never;
  }
}

function isListElement(enclosing: Node, preceding: Node): boolean {
  return (
    (enclosing.kind === 'Call' && preceding.kind === 'Arg') ||
    enclosing.kind === 'List' ||
    (enclosing.kind === 'FnDecl' && preceding.kind === 'Param')
  );
}

export function attachLineComment(
  comment: CommentInfo,
  _text: string,
  _options: unknown,
  ast: Node,
): boolean {
  if (comment.block || ast.kind !== 'Module') return false;
  const { enclosingNode, precedingNode } = comment;
  if (enclosingNode && precedingNode && isListElement(enclosingNode, precedingNode)) return false;
  const statement = statementAround(ast, comment.span.start.offset);
  if (!statement) return false;
  util.addTrailingComment(statement, comment);
  return true;
}
