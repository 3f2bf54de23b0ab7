// Checking one `.align` module (compiler/check): builds its scope (built-ins, then imports, then
// its own declarations), reports duplicates and import conflicts, and checks every declaration in
// file order — values against their keyword, functions and stages by their own checkers. Modules
// are checked dependencies-first, so every import's exports are known here.

import type * as A from '../../grammar/ast.js';
import { builtinConstants, builtins } from './builtins/index.js';
import { checkFn } from './check-fn.js';
import { checkStage } from './check-stage.js';
import { reportRecursion } from './recursion.js';
import { ExprChecker } from './expr.js';
import type { LoadedModule } from './modules.js';
import { Scope, symbolSpan, type Symbol } from './scope.js';
import type { CheckState } from './state.js';
import { showType, type AlignType } from './types.js';

let builtinScope: Scope | undefined;

function builtinsScope(): Scope {
  if (builtinScope) return builtinScope;
  const s = new Scope(undefined);
  for (const sig of builtins.values()) s.define(sig.name, { kind: 'builtin', sig });
  for (const [name, value] of builtinConstants) s.define(name, { kind: 'constant', name, value });
  builtinScope = s;
  return s;
}

const DECL_EXPECTS: Record<A.ValueDeclKind, { fits: (t: AlignType) => boolean; what: string }> = {
  const: {
    fits: (t) =>
      ['number', 'string', 'boolean', 'quantity', 'range', 'list', 'value'].includes(t.kind),
    what: 'a number, string, list or block',
  },
  dataset: {
    fits: (t) => t.kind === 'value' && t.domain === 'dataset',
    what: 'a dataset such as coco(…)',
  },
  proposals: {
    fits: (t) => t.kind === 'value' && t.domain === 'proposals',
    what: 'proposals such as selective_search(…) >> nms(…)',
  },
  view: {
    fits: (t) => t.kind === 'value' && t.domain === 'transform',
    what: 'an augmentation pipeline such as resize(…) >> hflip(…)',
  },
  detector: {
    fits: (t) => t.kind === 'detector',
    what: 'a detector such as retinanet(…) or ema(…)',
  },
};

export function checkModule(m: LoadedModule, state: CheckState): void {
  const ast = m.ast;
  if (!ast) return;
  const scope = new Scope(builtinsScope());
  const checker = new ExprChecker(state);
  const importedFrom = new Map<string, A.UseDecl>();

  for (const { use, target } of m.imports) {
    if (target === undefined) continue;
    const exports = state.exports.get(target) ?? new Map<string, Symbol>();
    if (use.alias) {
      if (scope.define(use.alias.name, { kind: 'module', file: target, span: use.alias.span })) {
        state.report(
          'E_IMPORT_CONFLICT',
          `\`${use.alias.name}\` is already imported`,
          use.alias.span,
        );
      }
      continue;
    }
    for (const [name, sym] of exports) {
      const prior = scope.define(name, sym);
      if (prior && prior !== sym) {
        const first = importedFrom.get(name);
        state.report(
          'E_IMPORT_CONFLICT',
          `\`${name}\` is imported twice, by two different \`use\``,
          use.span,
          {
            hint: 'import one of them with `as` and qualify its names',
            notes: first ? [{ message: `\`${name}\` first imported here`, span: first.span }] : [],
          },
        );
      } else importedFrom.set(name, use);
    }
  }

  const own = new Map<string, Symbol>();
  for (const item of ast.items) {
    if (item.kind === 'Use') continue;
    const sym: Symbol =
      item.kind === 'ValueDecl'
        ? { kind: 'decl', decl: item, file: m.file, type: undefined }
        : item.kind === 'FnDecl'
          ? { kind: 'fn', decl: item, file: m.file }
          : { kind: 'stage', decl: item, file: m.file, checked: false };
    const name = item.name.name;
    const prior = scope.define(name, sym) ?? builtinsScope().lookup(name);
    if (prior) {
      const where = symbolSpan(prior);
      const imported = importedFrom.get(name);
      state.report(
        'E_DUPLICATE',
        prior.kind === 'builtin' || prior.kind === 'constant'
          ? `\`${name}\` is a built-in and cannot be redefined`
          : imported
            ? `\`${name}\` is already imported`
            : `\`${name}\` is already defined`,
        item.name.span,
        {
          notes:
            where && !imported
              ? [{ message: 'first defined here', span: where }]
              : imported
                ? [{ message: 'imported here', span: imported.span }]
                : [],
        },
      );
      continue;
    }
    if (item.kind !== 'StageDecl') own.set(name, sym);
  }

  for (const item of ast.items) {
    switch (item.kind) {
      case 'Use':
        break;
      case 'ValueDecl': {
        const t = checker.check(item.value, { mode: 'config', scope, file: m.file });
        const expected = DECL_EXPECTS[item.declKind];
        if (t.kind !== 'unknown' && !expected.fits(t)) {
          state.report(
            'E_DECL_KIND',
            `\`${item.declKind} ${item.name.name}\` must be ${expected.what}, not ${showType(t)}`,
            item.value.span,
          );
        }
        const sym = own.get(item.name.name);
        if (sym?.kind === 'decl' && sym.decl === item) sym.type = t;
        break;
      }
      case 'FnDecl':
        checkFn(checker, item, scope, m.file);
        break;
      case 'StageDecl': {
        checkStage(checker, item, scope, m.file);
        const sym = scope.lookup(item.name.name);
        if (sym?.kind === 'stage' && sym.decl === item) sym.checked = true;
        break;
      }
      default:
        item satisfies never;
    }
  }
  reportRecursion(
    ast.items.filter((i): i is A.FnDecl => i.kind === 'FnDecl'),
    state,
  );
  state.exports.set(m.path, own);
}
