// The state one run of compiler/check accumulates: diagnostics, and the side tables that make the
// AST a *checked* AST — the type of every expression and the symbol of every resolved name.
// compiler/lower reads these tables instead of re-deriving anything.

import type { Expr, NameRef } from '../../grammar/ast.js';
import type { SourceSpan } from '../../runtime/errors.js';
import type { Diagnostic, DiagnosticCode, DiagnosticNote } from '../diagnostics.js';
import type { Symbol } from './scope.js';
import type { AlignType } from './types.js';

export class CheckState {
  readonly diagnostics: Diagnostic[] = [];
  readonly types = new Map<Expr, AlignType>();
  readonly symbols = new Map<NameRef, Symbol>();
  /** What each checked module offers to `use`: its top-level declarations and functions. */
  readonly exports = new Map<string, Map<string, Symbol>>();

  report(
    code: DiagnosticCode,
    message: string,
    span: SourceSpan,
    extra: { hint?: string; notes?: DiagnosticNote[] } = {},
  ): void {
    this.diagnostics.push({ code, message, span, ...extra });
  }
}
