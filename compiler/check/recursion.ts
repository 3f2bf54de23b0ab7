// Recursion between user `fn`s (compiler/check): tensor functions are inlined into the stage's
// tensor graph by compiler/lower, so a function may not call itself, directly or through others.
// Runs after a module's functions are checked, on the resolved call graph.

import type * as A from '../../grammar/ast.js';
import { callsIn } from '../../grammar/ast-walk.js';
import type { CheckState } from './state.js';

/** Calls every function of `fn` in its body (including inside comprehensions and backward blocks). */
export function calledFunctions(fn: A.FnDecl, state: CheckState): A.FnDecl[] {
  const out: A.FnDecl[] = [];
  const visit = (e: A.Expr): void => {
    for (const call of callsIn(e)) {
      const callee = call.callee.kind === 'Name' ? state.symbols.get(call.callee) : undefined;
      if (callee?.kind === 'fn') out.push(callee.decl);
    }
  };
  for (const s of fn.body) {
    if (s.kind === 'Backward') s.grads.forEach((g) => visit(g.value));
    else visit(s.value);
  }
  return out;
}

/** Reports each cycle once, at the first function of the module that starts it. */
export function reportRecursion(fns: readonly A.FnDecl[], state: CheckState): void {
  const reported = new Set<A.FnDecl>();
  for (const start of fns) {
    const path: A.FnDecl[] = [];
    const onPath = new Set<A.FnDecl>();
    const done = new Set<A.FnDecl>();
    const dfs = (fn: A.FnDecl): boolean => {
      path.push(fn);
      onPath.add(fn);
      for (const callee of calledFunctions(fn, state)) {
        if (callee === start) {
          if (!path.some((f) => reported.has(f))) {
            const chain = [...path, start].map((f) => f.name.name).join(' → ');
            state.report(
              'E_RECURSION',
              `\`${start.name.name}\` calls itself (${chain})`,
              start.name.span,
              {
                hint: 'tensor functions are inlined into the stage graph; write the repetition out or use a reduction',
              },
            );
            path.forEach((f) => reported.add(f));
          }
          return true;
        }
        if (!onPath.has(callee) && !done.has(callee) && dfs(callee)) return true;
      }
      path.pop();
      onPath.delete(fn);
      done.add(fn);
      return false;
    };
    dfs(start);
  }
}
