// The tokens of the `.align` language and the one lexer built from them. First step of the flow:
// `.align` text → tokens (here) → CST (parser.ts) → AST (cst-to-ast.ts) → compiler/check.
// Keywords are real tokens (so the parser stays LL(k) and small), but every keyword also belongs to
// the `AnyName` category, so `data:`, `max:` or `.loss` still work as parameter and field names.

import type { TokenType } from 'chevrotain';
import { chevrotain } from './chevrotain.js';

const { createToken, Lexer } = chevrotain;

/** Everything that can name a parameter or a field: identifiers and all keywords. */
export const AnyName = createToken({
  name: 'AnyName',
  pattern: Lexer.NA,
  label: 'a name',
});
/** Keywords that open a declaration bound to a name: `dataset x = …`. */
export const DeclKeyword = createToken({
  name: 'DeclKeyword',
  pattern: Lexer.NA,
  label: "'const', 'dataset', 'proposals', 'view' or 'detector'",
});
/** Keywords that open a stage clause: `data coco, batch: 2`. */
export const ClauseKeyword = createToken({
  name: 'ClauseKeyword',
  pattern: Lexer.NA,
  label: 'a stage clause (data, optimize, train, checkpoint, evaluate, init, report)',
});
/** Reductions written with index notation: `sum[d](…)`. */
export const ReduceKeyword = createToken({
  name: 'ReduceKeyword',
  pattern: Lexer.NA,
  label: 'a reduction (sum, mean, max, …)',
});
/** Element types of tensors: `f32[N, 4]`. */
export const DtypeKeyword = createToken({
  name: 'DtypeKeyword',
  pattern: Lexer.NA,
  label: "'f32', 'i32' or 'bool'",
});
/** Infix operators; their precedence is applied in cst-to-ast.ts, which keeps the CST flat. */
export const BinaryOperator = createToken({
  name: 'BinaryOperator',
  pattern: Lexer.NA,
  label: 'an operator',
});
/** Units written after a number: `12 epochs`, `500 iters`, `10%`. */
export const UnitKeyword = createToken({
  name: 'UnitKeyword',
  pattern: Lexer.NA,
  label: 'a unit (epochs, iters)',
});

export const Identifier = createToken({
  name: 'Identifier',
  pattern: /[A-Za-z_][A-Za-z0-9_]*/,
  categories: [AnyName],
  label: 'a name',
});

function keyword(word: string, ...categories: TokenType[]): TokenType {
  return createToken({
    name: `Kw_${word}`,
    pattern: new RegExp(`${word}\\b`),
    longer_alt: Identifier,
    categories: [AnyName, ...categories],
    label: `'${word}'`,
  });
}

export const Use = keyword('use');
export const As = keyword('as');
export const Const = keyword('const', DeclKeyword);
export const Dataset = keyword('dataset', DeclKeyword);
export const Proposals = keyword('proposals', DeclKeyword);
export const View = keyword('view', DeclKeyword);
export const Detector = keyword('detector', DeclKeyword);
export const Fn = keyword('fn');
export const Stage = keyword('stage');
export const Let = keyword('let');
export const Return = keyword('return');
export const Match = keyword('match');
export const Loss = keyword('loss');
export const Backward = keyword('backward');
export const Grad = keyword('grad');
export const True = keyword('true');
export const False = keyword('false');
export const And = keyword('and', BinaryOperator);
export const Or = keyword('or', BinaryOperator);
export const Not = keyword('not');

export const CLAUSE_WORDS = [
  'data',
  'optimize',
  'train',
  'checkpoint',
  'evaluate',
  'init',
  'report',
] as const;
export const REDUCE_WORDS = [
  'sum',
  'mean',
  'max',
  'min',
  'prod',
  'logsumexp',
  'argmax',
  'argmin',
  'any',
  'all',
] as const;
export const DTYPE_WORDS = ['f32', 'i32', 'bool'] as const;
export const UNIT_WORDS = ['epochs', 'epoch', 'iters', 'iter'] as const;

const clauseTokens = CLAUSE_WORDS.map((w) => keyword(w, ClauseKeyword));
const reduceTokens = REDUCE_WORDS.map((w) => keyword(w, ReduceKeyword));
const dtypeTokens = DTYPE_WORDS.map((w) => keyword(w, DtypeKeyword));
const unitTokens = UNIT_WORDS.map((w) => keyword(w, UnitKeyword));

export const LineComment = createToken({
  name: 'LineComment',
  pattern: /\/\/[^\n\r]*/,
  group: 'comments',
});
export const BlockComment = createToken({
  name: 'BlockComment',
  pattern: /\/\*[\s\S]*?\*\//,
  group: 'comments',
  line_breaks: true,
});
export const WhiteSpace = createToken({
  name: 'WhiteSpace',
  pattern: /[ \t\r\n]+/,
  group: Lexer.SKIPPED,
  line_breaks: true,
});

export const StringLiteral = createToken({
  name: 'StringLiteral',
  pattern: /"(?:[^"\\\n\r]|\\[\\"nt])*"/,
  label: 'a string',
});
export const NumberLiteral = createToken({
  name: 'NumberLiteral',
  pattern: /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/,
  label: 'a number',
});

export const Arrow = createToken({ name: 'Arrow', pattern: /->/, label: "'->'" });
export const Pipe = createToken({
  name: 'Pipe',
  pattern: />>/,
  label: "'>>'",
  categories: [BinaryOperator],
});
export const DotDot = createToken({
  name: 'DotDot',
  pattern: /\.\./,
  label: "'..'",
  categories: [BinaryOperator],
});
export const Dot = createToken({ name: 'Dot', pattern: /\./, label: "'.'" });
export const EqEq = createToken({
  name: 'EqEq',
  pattern: /==/,
  label: "'=='",
  categories: [BinaryOperator],
});
export const NotEq = createToken({
  name: 'NotEq',
  pattern: /!=/,
  label: "'!='",
  categories: [BinaryOperator],
});
export const LessEq = createToken({
  name: 'LessEq',
  pattern: /<=/,
  label: "'<='",
  categories: [BinaryOperator],
});
export const GreaterEq = createToken({
  name: 'GreaterEq',
  pattern: />=/,
  label: "'>='",
  categories: [BinaryOperator],
});
export const Less = createToken({
  name: 'Less',
  pattern: /</,
  label: "'<'",
  categories: [BinaryOperator],
});
export const Greater = createToken({
  name: 'Greater',
  pattern: />/,
  label: "'>'",
  categories: [BinaryOperator],
});
export const Equals = createToken({ name: 'Equals', pattern: /=/, label: "'='" });
export const Plus = createToken({
  name: 'Plus',
  pattern: /\+/,
  label: "'+'",
  categories: [BinaryOperator],
});
export const Minus = createToken({
  name: 'Minus',
  pattern: /-/,
  label: "'-'",
  categories: [BinaryOperator],
});
export const Star = createToken({
  name: 'Star',
  pattern: /\*/,
  label: "'*'",
  categories: [BinaryOperator],
});
export const Slash = createToken({
  name: 'Slash',
  pattern: /\//,
  label: "'/'",
  categories: [BinaryOperator],
});
export const Caret = createToken({
  name: 'Caret',
  pattern: /\^/,
  label: "'^'",
  categories: [BinaryOperator],
});
export const Percent = createToken({ name: 'Percent', pattern: /%/, label: "'%'" });
export const LParen = createToken({ name: 'LParen', pattern: /\(/, label: "'('" });
export const RParen = createToken({ name: 'RParen', pattern: /\)/, label: "')'" });
export const LBracket = createToken({ name: 'LBracket', pattern: /\[/, label: "'['" });
export const RBracket = createToken({ name: 'RBracket', pattern: /]/, label: "']'" });
export const LBrace = createToken({ name: 'LBrace', pattern: /{/, label: "'{'" });
export const RBrace = createToken({ name: 'RBrace', pattern: /}/, label: "'}'" });
export const Comma = createToken({ name: 'Comma', pattern: /,/, label: "','" });
export const Colon = createToken({ name: 'Colon', pattern: /:/, label: "':'" });

/** Order matters: comments before `/`, longer operators before their prefixes, keywords before `Identifier`. */
export const allTokens: TokenType[] = [
  WhiteSpace,
  LineComment,
  BlockComment,
  StringLiteral,
  NumberLiteral,
  Arrow,
  Pipe,
  DotDot,
  Dot,
  EqEq,
  NotEq,
  LessEq,
  GreaterEq,
  Less,
  Greater,
  Equals,
  Plus,
  Minus,
  Star,
  Slash,
  Caret,
  Percent,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
  Comma,
  Colon,
  Use,
  As,
  Const,
  Dataset,
  Proposals,
  View,
  Detector,
  Fn,
  Stage,
  Let,
  Return,
  Match,
  Loss,
  Backward,
  Grad,
  True,
  False,
  And,
  Or,
  Not,
  ...clauseTokens,
  ...reduceTokens,
  ...dtypeTokens,
  ...unitTokens,
  Identifier,
  AnyName,
  DeclKeyword,
  ClauseKeyword,
  ReduceKeyword,
  DtypeKeyword,
  UnitKeyword,
  BinaryOperator,
];

export const alignLexer = new Lexer(allTokens, {
  ensureOptimizations: true,
  positionTracking: 'full',
});
