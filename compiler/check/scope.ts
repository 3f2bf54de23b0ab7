// Name resolution for compiler/check: what a name can refer to (a declaration, a function, a stage,
// an imported module, a local of a stage or function, an index variable, a built-in) and the
// nested scopes that map names to those symbols. The checker records the symbol of every
// resolved name, which compiler/lower reads back.

import type { FnDecl, StageDecl, ValueDecl } from '../../grammar/ast.js';
import type { SourceSpan } from '../../runtime/errors.js';
import type { BuiltinSig } from './builtins/spec.js';
import type { AlignType, Dim } from './types.js';

/** An index variable of a comprehension (`let s[i, j] = …`) or reduction (`sum[d](…)`). */
export interface IndexVar {
  readonly name: string;
  readonly span: SourceSpan;
  /** The axis it runs over, inferred from its first use as an index. */
  range: { dim: Dim; from: SourceSpan } | undefined;
}

export type Symbol =
  | {
      readonly kind: 'decl';
      readonly decl: ValueDecl;
      readonly file: string;
      type: AlignType | undefined;
    }
  | { readonly kind: 'fn'; readonly decl: FnDecl; readonly file: string }
  | { readonly kind: 'stage'; readonly decl: StageDecl; readonly file: string; checked: boolean }
  | { readonly kind: 'module'; readonly file: string; readonly span: SourceSpan }
  | {
      readonly kind: 'local';
      readonly name: string;
      readonly span: SourceSpan;
      readonly type: AlignType;
    }
  | { readonly kind: 'index'; readonly index: IndexVar }
  | { readonly kind: 'builtin'; readonly sig: BuiltinSig }
  | { readonly kind: 'constant'; readonly name: string; readonly value: number };

export function symbolSpan(s: Symbol): SourceSpan | undefined {
  switch (s.kind) {
    case 'decl':
    case 'fn':
    case 'stage':
      return s.decl.name.span;
    case 'module':
    case 'local':
      return s.span;
    case 'index':
      return s.index.span;
    case 'builtin':
    case 'constant':
      return undefined;
    default:
      return s satisfies never;
  }
}

export class Scope {
  private readonly names = new Map<string, Symbol>();

  constructor(readonly parent: Scope | undefined) {}

  lookup(name: string): Symbol | undefined {
    return this.names.get(name) ?? this.parent?.lookup(name);
  }

  /** Defines a name here; returns the symbol it collides with in this scope, if any. */
  define(name: string, symbol: Symbol): Symbol | undefined {
    const prior = this.names.get(name);
    if (prior) return prior;
    this.names.set(name, symbol);
    return undefined;
  }

  ownNames(): IterableIterator<[string, Symbol]> {
    return this.names.entries();
  }

  /** Every visible name, for "did you mean" hints. */
  visibleNames(): string[] {
    const out = [...this.names.keys()];
    return this.parent ? [...out, ...this.parent.visibleNames()] : out;
  }

  child(): Scope {
    return new Scope(this);
  }
}
