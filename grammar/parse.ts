// The front door of grammar/: `.align` text → tokens → CST → AST, or every syntax error found on
// the way, each a located Diagnostic. compiler/check, compiler/format and the CLI all start here.

import type { Diagnostic } from '../compiler/diagnostics.js';
import type { SourceSpan } from '../runtime/errors.js';
import type { Comment, Module } from './ast.js';
import { AstBuilder, ExpressionTooDeep, MAX_EXPRESSION_DEPTH } from './cst-to-ast.js';
import { recognitionDiagnostic, spanOfToken } from './errors.js';
import { alignParser, parseTokens } from './parser.js';
import {
  alignLexer,
  BlockComment,
  LBrace,
  LBracket,
  LParen,
  NumberLiteral,
  RBrace,
  RBracket,
  RParen,
} from './tokens.js';

/** Deeper nesting than this is refused up front: recursion depth stays bounded for any input. */
export const MAX_NESTING = 64;
/** Syntax errors reported per file; later ones are usually consequences of earlier ones. */
export const MAX_SYNTAX_ERRORS = 20;

export interface ParseResult {
  /** Present only when there were no syntax errors. */
  readonly module: Module | undefined;
  readonly diagnostics: readonly Diagnostic[];
}

export function parseSource(text: string, file: string): ParseResult {
  const lexed = alignLexer.tokenize(text);
  const diagnostics: Diagnostic[] = [];
  for (const e of lexed.errors) {
    const ch = text[e.offset] ?? '';
    const pos = { offset: e.offset, line: e.line ?? 1, column: e.column ?? 1 };
    const span = {
      file,
      start: pos,
      end: { ...pos, offset: e.offset + 1, column: pos.column + 1 },
    };
    if (ch === '"') {
      diagnostics.push({
        code: 'E_PARSE_STRING',
        message: 'this string has no closing quote on its line',
        span,
        hint: 'strings end on the line they start; escape quotes inside as \\"',
      });
    } else {
      diagnostics.push({
        code: 'E_PARSE_CHAR',
        message: `unexpected character ${JSON.stringify(text.slice(e.offset, e.offset + Math.max(1, e.length)))}`,
        span,
      });
    }
  }

  let depth = 0;
  for (const t of lexed.tokens) {
    const type = t.tokenType;
    if (type === LParen || type === LBracket || type === LBrace) depth++;
    else if (type === RParen || type === RBracket || type === RBrace)
      depth = Math.max(0, depth - 1);
    if (depth > MAX_NESTING) {
      diagnostics.push({
        code: 'E_PARSE_TOO_DEEP',
        message: `brackets are nested more than ${MAX_NESTING} deep here`,
        span: spanOfToken(t, file, text),
        hint: 'split the expression with `let`',
      });
      return { module: undefined, diagnostics };
    }
    if (type === NumberLiteral && !Number.isFinite(Number(t.image))) {
      diagnostics.push({
        code: 'E_PARSE_NUMBER',
        message: `the number ${t.image} is too large to represent`,
        span: spanOfToken(t, file, text),
      });
    }
  }

  const cst = parseTokens(lexed.tokens);
  // Recovery can cascade; one error per line (the first) and at most MAX_SYNTAX_ERRORS say enough.
  const linesWithError = new Set(diagnostics.map((d) => d.span.start.line));
  for (const e of alignParser.errors) {
    const d = recognitionDiagnostic(e, file, text);
    if (linesWithError.has(d.span.start.line) || linesWithError.size >= MAX_SYNTAX_ERRORS) continue;
    linesWithError.add(d.span.start.line);
    diagnostics.push(d);
  }
  if (diagnostics.length > 0) {
    diagnostics.sort((a, b) => a.span.start.offset - b.span.start.offset);
    return { module: undefined, diagnostics };
  }

  const builder = new AstBuilder(file);
  const comments: Comment[] = (lexed.groups.comments ?? []).map((t) => ({
    kind: 'Comment',
    text: t.image.replace(/\s+$/, ''),
    block: t.tokenType === BlockComment,
    span: builder.tokenSpan(t),
  }));
  try {
    const module = builder.module(cst, comments, text);
    const deep = firstTooDeep(module);
    if (deep) return { module: undefined, diagnostics: [tooDeep(deep)] };
    return { module, diagnostics };
  } catch (error) {
    if (error instanceof ExpressionTooDeep)
      return { module: undefined, diagnostics: [tooDeep(error.span)] };
    throw error;
  }
}

function tooDeep(span: SourceSpan): Diagnostic {
  return {
    code: 'E_PARSE_TOO_DEEP',
    message: `this expression nests more than ${MAX_EXPRESSION_DEPTH} operations deep`,
    span,
    hint: 'split it into steps with `let`',
  };
}

/** The span of the first node deeper than the limit, found without recursion (the AST may be deep). */
function firstTooDeep(module: Module): SourceSpan | undefined {
  const stack: { node: object; depth: number }[] = [{ node: module, depth: 0 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    const span = (node as { span?: SourceSpan }).span;
    if (depth > MAX_EXPRESSION_DEPTH + 16 && span) return span;
    // Children are pushed last-first so that the leftmost (earliest in the text) is visited first.
    for (const [key, value] of Object.entries(node).reverse()) {
      if (key === 'span' || key === 'keywordSpan' || key === 'sourceSpan' || key === 'source')
        continue;
      if (Array.isArray(value)) {
        for (const item of value)
          if (typeof item === 'object' && item !== null)
            stack.push({ node: item, depth: depth + 1 });
      } else if (typeof value === 'object' && value !== null)
        stack.push({ node: value, depth: depth + 1 });
    }
  }
  return undefined;
}
