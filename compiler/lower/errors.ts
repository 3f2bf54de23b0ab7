// Errors of compiler/lower (checked AST → IR). The checker catches most mistakes before lowering;
// these are the ones only concrete shapes reveal (a dimension bound to two sizes by the actual
// arguments, an index range that two tensors disagree on). Each is a located Diagnostic.

import type { Diagnostic, DiagnosticCode } from '../diagnostics.js';
import { AlignError, type SourceSpan } from '../../runtime/errors.js';

export class LowerError extends AlignError {
  readonly code: DiagnosticCode;
  constructor(code: DiagnosticCode, message: string, span: SourceSpan, hint?: string) {
    super(message, { span, hint });
    this.code = code;
  }

  toDiagnostic(): Diagnostic {
    return {
      code: this.code,
      message: this.message,
      span: this.span!,
      ...(this.hint ? { hint: this.hint } : {}),
    };
  }
}
