// Located diagnostics of the `.align` front end (grammar/ and compiler/check): the stable codes,
// the `Diagnostic` record, rendering with a caret excerpt, and the AlignError that carries a batch
// of them to the CLI. Every user mistake in a pipeline file ends up here, never as a stack trace.

import { AlignError, formatSpan, type SourceSpan } from '../runtime/errors.js';

/** Every code the front end can emit, with the one-line meaning documented in docs/language.md. */
export const DIAGNOSTIC_CODES = {
  E_PARSE_CHAR: 'a character that cannot start any token',
  E_PARSE_STRING: 'a string literal without its closing quote',
  E_PARSE_EXPECTED: 'the parser expected a specific token and found another',
  E_PARSE_UNEXPECTED: 'a token that cannot start or continue the construct being parsed',
  E_PARSE_TOO_DEEP: 'brackets nested deeper than the front end accepts',
  E_PARSE_NUMBER: 'a number literal that is not a finite number',
  E_IMPORT_NOT_FOUND: '`use` names a file or std module that does not exist',
  E_IMPORT_CYCLE: 'files that `use` each other in a cycle',
  E_IMPORT_CONFLICT: 'two imports bring in the same name',
  E_DUPLICATE: 'a name defined twice in the same scope',
  E_UNKNOWN_NAME: 'a name that is not defined, imported or built in',
  E_UNKNOWN_MEMBER: 'a field that the value does not have',
  E_UNKNOWN_PARAM: 'a named argument that the function or block does not take',
  E_MISSING_ARG: 'a required argument was not given',
  E_TOO_MANY_ARGS: 'more positional arguments than the function or block takes',
  E_DUPLICATE_ARG: 'the same parameter given twice',
  E_ARG_TYPE: 'an argument of the wrong kind (e.g. a string where a number is expected)',
  E_ARG_RANGE: 'a numeric argument outside its allowed range',
  E_DECL_KIND:
    'a declaration whose value is not what its keyword says (e.g. `dataset x = resnet(…)`)',
  E_NOT_CALLABLE: 'a call of something that is not a function, block or detector',
  E_CONTEXT: 'a construct used where it is not allowed (e.g. a detector call inside `fn`)',
  E_TYPE: 'an operator or function applied to values of the wrong type',
  E_DTYPE: 'tensor element types that do not fit (e.g. i32 + f32 without a cast)',
  E_SHAPE_MISMATCH: 'tensor shapes that cannot be combined or do not match a declaration',
  E_RANK: 'a tensor indexed or used with the wrong number of axes',
  E_INDEX_UNBOUND: 'an index variable used outside any comprehension or reduction that binds it',
  E_INDEX_RANGE:
    'an index variable whose range cannot be inferred or is inferred twice differently',
  E_RETURN: 'a function body without exactly one `return`, or statements after it',
  E_RECURSION: 'a `fn` that calls itself, directly or through other functions',
  E_BACKWARD: 'a `backward` block that does not fit its function',
  E_STAGE: 'a stage that lacks a required clause or repeats one',
} as const;

export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;

export interface DiagnosticNote {
  readonly message: string;
  readonly span: SourceSpan;
}

export interface Diagnostic {
  readonly code: DiagnosticCode;
  readonly message: string;
  readonly span: SourceSpan;
  readonly hint?: string;
  /** Related places, e.g. the first definition of a duplicate. */
  readonly notes?: readonly DiagnosticNote[];
}

/** The widest source excerpt shown under a diagnostic, in characters. */
const EXCERPT_WIDTH = 100;

/** Lets rendering find the text of any file a diagnostic points into. */
export type SourceLookup = (file: string) => string | undefined;

function excerpt(span: SourceSpan, sources: SourceLookup): string {
  const text = sources(span.file);
  if (text === undefined) return '';
  const lines = text.split('\n');
  const line = lines[span.start.line - 1];
  if (line === undefined) return '';
  let shown = line.replace(/\t/g, ' ').replace(/\r$/, '');
  let startCol = Math.max(1, span.start.column);
  let endCol =
    span.end.line === span.start.line ? Math.max(span.end.column, startCol + 1) : shown.length + 1;
  // A very long line is cut to a window around the caret.
  if (shown.length > EXCERPT_WIDTH) {
    const from = Math.max(0, startCol - 1 - 40);
    const prefix = from > 0 ? '…' : '';
    const window = shown.slice(from, from + EXCERPT_WIDTH);
    const suffix = from + EXCERPT_WIDTH < shown.length ? '…' : '';
    shown = prefix + window + suffix;
    startCol = startCol - from + prefix.length;
    endCol = Math.min(endCol - from + prefix.length, prefix.length + window.length + 1);
  }
  const width = Math.max(1, Math.min(endCol, shown.length + 1) - startCol);
  const gutter = String(span.start.line);
  const pad = ' '.repeat(gutter.length);
  return (
    `\n${pad} |\n${gutter} | ${shown}\n` +
    `${pad} | ${' '.repeat(startCol - 1)}${'^'.repeat(width)}`
  );
}

/** `file:line:col: error[CODE]: message`, a caret excerpt, then the hint and notes. */
export function renderDiagnostic(d: Diagnostic, sources: SourceLookup): string {
  let out = `${formatSpan(d.span)}: error[${d.code}]: ${d.message}${excerpt(d.span, sources)}`;
  if (d.hint) out += `\n  hint: ${d.hint}`;
  for (const note of d.notes ?? []) out += `\n  note: ${formatSpan(note.span)}: ${note.message}`;
  return out;
}

export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  if (a.span.file !== b.span.file) return a.span.file < b.span.file ? -1 : 1;
  return a.span.start.offset - b.span.start.offset || a.code.localeCompare(b.code);
}

/** A batch of diagnostics as one AlignError, so the CLI prints them all and exits with status 1. */
export class DiagnosticsError extends AlignError {
  readonly code: string;
  readonly diagnostics: readonly Diagnostic[];
  private readonly sources: SourceLookup;

  constructor(diagnostics: readonly Diagnostic[], sources: SourceLookup) {
    const sorted = [...diagnostics].sort(compareDiagnostics);
    const first = sorted[0];
    super(first ? first.message : 'no diagnostics', { span: first?.span, hint: first?.hint });
    this.code = first ? first.code : 'E_UNKNOWN';
    this.diagnostics = sorted;
    this.sources = sources;
  }

  override render(): string {
    const n = this.diagnostics.length;
    const body = this.diagnostics.map((d) => renderDiagnostic(d, this.sources)).join('\n\n');
    return `${body}\n\n${n} error${n === 1 ? '' : 's'}`;
  }
}
