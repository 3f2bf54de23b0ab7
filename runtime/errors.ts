// The base class of every error a user can cause, anywhere in the flow (text → AST → IR → kernels →
// runtime). The CLI prints these as their message alone and exits with status 1; anything that is
// not an AlignError is an internal bug and is printed with its stack.

/** A position in a source file, 1-based line and column. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
  /** 0-based character offset into the file text. */
  readonly offset: number;
}

/** A half-open range of source text in one file. */
export interface SourceSpan {
  readonly file: string;
  readonly start: SourcePosition;
  readonly end: SourcePosition;
}

export function formatSpan(span: SourceSpan): string {
  return `${span.file}:${span.start.line}:${span.start.column}`;
}

export abstract class AlignError extends Error {
  /** A stable identifier, e.g. `E_GPU_NO_ADAPTER`; documented and tested. */
  abstract readonly code: string;
  /** What the user can do about it. */
  readonly hint: string | undefined;
  /** Where in a source file, when the error is about one. */
  readonly span: SourceSpan | undefined;

  constructor(
    message: string,
    options: { hint?: string; span?: SourceSpan; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
    this.span = options.span;
  }

  /** The text the CLI prints: `file:line:col: error[CODE]: message` plus the hint. */
  render(): string {
    const where = this.span ? `${formatSpan(this.span)}: ` : '';
    const hint = this.hint ? `\n  hint: ${this.hint}` : '';
    return `${where}error[${this.code}]: ${this.message}${hint}`;
  }
}

/** A command-line usage mistake: unknown flag, missing argument, bad value. */
export class UsageError extends AlignError {
  readonly code = 'E_USAGE';
}

/** A file that cannot be read or written. */
export class FileError extends AlignError {
  readonly code = 'E_FILE';
}
