// Syntax error messages of the `.align` parser: a chevrotain error-message provider that speaks in
// the language's terms (`expected ')' but found 'stage'`), and the translation of chevrotain's
// recognition exceptions into located Diagnostics with stable codes. Part of text → CST.

import type {
  IParserErrorMessageProvider,
  IRecognitionException,
  IToken,
  TokenType,
} from 'chevrotain';
import { chevrotain } from './chevrotain.js';
import type { Diagnostic, DiagnosticCode } from '../compiler/diagnostics.js';
import type { SourceSpan } from '../runtime/errors.js';

const { EOF } = chevrotain;

const RULE_DESCRIPTIONS: Record<string, string> = {
  module: 'at the top level',
  topItem: 'at the top level',
  useDecl: 'in a `use` import',
  valueDecl: 'in a declaration',
  fnDecl: 'in a `fn` declaration',
  param: 'in a parameter',
  tensorType: 'in a tensor type',
  dim: 'in a tensor shape',
  fnStmt: 'in a function body',
  letStmt: 'in a `let`',
  returnStmt: 'in a `return`',
  backwardStmt: 'in a `backward` block',
  gradStmt: 'in a `grad` statement',
  stageDecl: 'in a `stage`',
  stageStmt: 'in a stage body',
  matchStmt: 'in a `match`',
  lossStmt: 'in a `loss`',
  viewStmt: 'in a `view`',
  clauseStmt: 'in a stage clause',
  argument: 'in an argument',
  callSuffix: 'in a call',
  indexSuffix: 'in an index',
  listExpr: 'in a list',
  parenExpr: 'in parentheses',
  reduceExpr: 'in a reduction',
  castExpr: 'in a cast',
};

export function describeRule(rule: string): string {
  return RULE_DESCRIPTIONS[rule] ?? 'in an expression';
}

function tokenLabel(t: TokenType): string {
  if (t === EOF) return 'end of file';
  return t.LABEL ?? t.name;
}

export function describeToken(t: IToken): string {
  if (t.tokenType === EOF) return 'end of file';
  return `'${t.image.length > 20 ? `${t.image.slice(0, 20)}…` : t.image}'`;
}

function oneOf(labels: string[]): string {
  const unique = [...new Set(labels)];
  if (unique.includes('a number') && unique.includes('a string') && unique.includes('a name')) {
    return unique.includes(
      'a stage clause (data, optimize, train, checkpoint, evaluate, init, report)',
    )
      ? 'a statement'
      : 'an expression';
  }
  if (unique.length <= 1) return unique[0] ?? 'something else';
  if (unique.length > 8) return `${unique.slice(0, 8).join(', ')}, …`;
  return `${unique.slice(0, -1).join(', ')} or ${unique[unique.length - 1]}`;
}

export const alignErrorMessages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual, ruleName }) {
    if (expected === EOF) {
      return `unexpected ${describeToken(actual)}; expected a declaration (use, const, dataset, proposals, view, detector, fn or stage)`;
    }
    return `expected ${tokenLabel(expected)} but found ${describeToken(actual)} ${describeRule(ruleName)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return `unexpected ${describeToken(firstRedundant)}; expected a declaration (use, const, dataset, proposals, view, detector, fn or stage)`;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, ruleName }) {
    const firsts = expectedPathsPerAlt.flatMap((paths) => paths.map((p) => p[0])).filter(Boolean);
    const found = actual[0];
    return `expected ${oneOf(firsts.map(tokenLabel))} but found ${found ? describeToken(found) : 'end of file'} ${describeRule(ruleName)}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, ruleName }) {
    const firsts = expectedIterationPaths.map((p) => p[0]).filter(Boolean);
    const found = actual[0];
    return `expected ${oneOf(firsts.map(tokenLabel))} but found ${found ? describeToken(found) : 'end of file'} ${describeRule(ruleName)}`;
  },
};

/** Where an error token sits; EOF tokens have no position, so they point at the end of the text. */
export function spanOfToken(t: IToken, file: string, text: string): SourceSpan {
  if (t.tokenType === EOF || Number.isNaN(t.startOffset)) return endSpan(file, text);
  const start = { offset: t.startOffset, line: t.startLine ?? 1, column: t.startColumn ?? 1 };
  const end = {
    offset: (t.endOffset ?? t.startOffset) + 1,
    line: t.endLine ?? start.line,
    column: (t.endColumn ?? start.column) + 1,
  };
  return { file, start, end };
}

export function endSpan(file: string, text: string): SourceSpan {
  const lines = text.split('\n');
  const line = lines.length;
  const column = lines[line - 1].length + 1;
  const pos = { offset: text.length, line, column };
  return { file, start: pos, end: pos };
}

export function recognitionDiagnostic(
  e: IRecognitionException,
  file: string,
  text: string,
): Diagnostic {
  const code: DiagnosticCode =
    e.name === 'MismatchedTokenException' ? 'E_PARSE_EXPECTED' : 'E_PARSE_UNEXPECTED';
  return { code, message: e.message, span: spanOfToken(e.token, file, text) };
}
