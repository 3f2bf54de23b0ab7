// Walking `.align` expressions (grammar → AST → **walk** → check, lower): the direct
// sub-expressions of an expression, and every call inside one. The checker's recursion check and
// the plan's record of the functions a stage step calls share it.

import type * as A from './ast.js';

/** The expressions directly inside `e`, in source order (a call's callee, then its arguments). */
export function subExpressions(e: A.Expr): readonly A.Expr[] {
  switch (e.kind) {
    case 'Number':
    case 'String':
    case 'Bool':
    case 'Name':
      return [];
    case 'List':
      return e.items;
    case 'Paren':
      return [e.inner];
    case 'Unary':
    case 'Cast':
      return [e.operand];
    case 'Binary':
      return [e.left, e.right];
    case 'Call':
      return [e.callee, ...e.args.map((a) => a.value)];
    case 'Index':
      return [e.target, ...e.indices];
    case 'Member':
      return [e.target];
    case 'Reduce':
      return [e.body];
    default:
      return e satisfies never;
  }
}

/** Every call in `e` (itself included), outermost first. */
export function callsIn(e: A.Expr): A.CallExpr[] {
  const out: A.CallExpr[] = [];
  const visit = (x: A.Expr): void => {
    if (x.kind === 'Call') out.push(x);
    subExpressions(x).forEach(visit);
  };
  visit(e);
  return out;
}
