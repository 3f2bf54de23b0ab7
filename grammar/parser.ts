// The `.align` grammar as a chevrotain CstParser: tokens (tokens.ts) → CST. Pure grammar, no
// actions; grammar/cst-to-ast.ts turns the CST into the typed AST. One instance is built per process
// (self-analysis is the expensive part) and reused by resetting `input`. Error recovery is on, so a
// single run reports every syntax error it can get past.

import type { CstNode, IToken } from 'chevrotain';
import { chevrotain } from './chevrotain.js';
import { alignErrorMessages } from './errors.js';
import * as T from './tokens.js';

class AlignParser extends chevrotain.CstParser {
  constructor() {
    super(T.allTokens, {
      recoveryEnabled: true,
      maxLookahead: 3,
      nodeLocationTracking: 'full',
      errorMessageProvider: alignErrorMessages,
    });
    this.performSelfAnalysis();
  }

  module = this.RULE('module', () => {
    this.MANY(() => this.SUBRULE(this.topItem));
  });

  topItem = this.RULE('topItem', () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.useDecl) },
      { ALT: () => this.SUBRULE(this.valueDecl) },
      { ALT: () => this.SUBRULE(this.fnDecl) },
      { ALT: () => this.SUBRULE(this.stageDecl) },
    ]);
  });

  useDecl = this.RULE('useDecl', () => {
    this.CONSUME(T.Use);
    this.OR([
      { ALT: () => this.CONSUME(T.StringLiteral, { LABEL: 'file' }) },
      {
        ALT: () => {
          this.CONSUME(T.AnyName, { LABEL: 'segment' });
          this.MANY(() => {
            this.CONSUME(T.Dot);
            this.CONSUME2(T.AnyName, { LABEL: 'segment' });
          });
        },
      },
    ]);
    this.OPTION(() => {
      this.CONSUME(T.As);
      this.CONSUME(T.Identifier, { LABEL: 'alias' });
    });
  });

  valueDecl = this.RULE('valueDecl', () => {
    this.CONSUME(T.DeclKeyword);
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression, { LABEL: 'value' });
  });

  fnDecl = this.RULE('fnDecl', () => {
    this.CONSUME(T.Fn);
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.SUBRULE(this.param);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.param);
      });
      this.OPTION2(() => this.CONSUME2(T.Comma));
    });
    this.CONSUME(T.RParen);
    this.CONSUME(T.Arrow);
    this.SUBRULE(this.tensorType, { LABEL: 'returnType' });
    this.CONSUME(T.LBrace);
    this.MANY2(() => this.SUBRULE(this.fnStmt));
    this.CONSUME(T.RBrace);
  });

  param = this.RULE('param', () => {
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.CONSUME(T.Colon);
    this.SUBRULE(this.tensorType);
    this.OPTION(() => {
      this.CONSUME(T.Equals);
      this.SUBRULE(this.expression, { LABEL: 'default' });
    });
  });

  tensorType = this.RULE('tensorType', () => {
    this.CONSUME(T.DtypeKeyword);
    this.OPTION(() => {
      this.CONSUME(T.LBracket);
      this.SUBRULE(this.dim);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.dim);
      });
      this.CONSUME(T.RBracket);
    });
  });

  dim = this.RULE('dim', () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Identifier) },
      { ALT: () => this.CONSUME(T.NumberLiteral) },
    ]);
  });

  fnStmt = this.RULE('fnStmt', () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.letStmt) },
      { ALT: () => this.SUBRULE(this.returnStmt) },
      { ALT: () => this.SUBRULE(this.backwardStmt) },
    ]);
  });

  letStmt = this.RULE('letStmt', () => {
    this.CONSUME(T.Let);
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.OPTION(() => {
      this.CONSUME(T.LBracket);
      this.CONSUME2(T.Identifier, { LABEL: 'index' });
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.CONSUME3(T.Identifier, { LABEL: 'index' });
      });
      this.CONSUME(T.RBracket);
    });
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression, { LABEL: 'value' });
  });

  returnStmt = this.RULE('returnStmt', () => {
    this.CONSUME(T.Return);
    this.SUBRULE(this.expression, { LABEL: 'value' });
  });

  backwardStmt = this.RULE('backwardStmt', () => {
    this.CONSUME(T.Backward);
    this.CONSUME(T.LParen);
    this.CONSUME(T.Identifier, { LABEL: 'cotangent' });
    this.CONSUME(T.RParen);
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.gradStmt));
    this.CONSUME(T.RBrace);
  });

  gradStmt = this.RULE('gradStmt', () => {
    this.CONSUME(T.Grad);
    this.CONSUME(T.Identifier, { LABEL: 'param' });
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression, { LABEL: 'value' });
  });

  stageDecl = this.RULE('stageDecl', () => {
    this.CONSUME(T.Stage);
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.stageStmt));
    this.CONSUME(T.RBrace);
  });

  stageStmt = this.RULE('stageStmt', () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.letStmt) },
      { ALT: () => this.SUBRULE(this.matchStmt) },
      { ALT: () => this.SUBRULE(this.lossStmt) },
      { ALT: () => this.SUBRULE(this.viewStmt) },
      { ALT: () => this.SUBRULE(this.clauseStmt) },
    ]);
  });

  matchStmt = this.RULE('matchStmt', () => {
    this.CONSUME(T.Match);
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression, { LABEL: 'value' });
  });

  lossStmt = this.RULE('lossStmt', () => {
    this.CONSUME(T.Loss);
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression, { LABEL: 'value' });
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE(this.argument);
    });
  });

  viewStmt = this.RULE('viewStmt', () => {
    this.CONSUME(T.View);
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression, { LABEL: 'value' });
  });

  clauseStmt = this.RULE('clauseStmt', () => {
    this.CONSUME(T.ClauseKeyword);
    this.SUBRULE(this.argument);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE2(this.argument);
    });
  });

  argument = this.RULE('argument', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.AnyName, { LABEL: 'argName' });
          this.CONSUME(T.Colon);
          this.SUBRULE(this.expression, { LABEL: 'value' });
        },
      },
      { ALT: () => this.SUBRULE2(this.expression, { LABEL: 'value' }) },
    ]);
  });

  /** A flat chain `a op b op c`; cst-to-ast.ts applies precedence and associativity. */
  expression = this.RULE('expression', () => {
    this.SUBRULE(this.prefixExpr, { LABEL: 'operand' });
    this.MANY(() => {
      this.CONSUME(T.BinaryOperator, { LABEL: 'operator' });
      this.SUBRULE2(this.prefixExpr, { LABEL: 'operand' });
    });
  });

  prefixExpr = this.RULE('prefixExpr', () => {
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Minus, { LABEL: 'prefix' }) },
        { ALT: () => this.CONSUME(T.Not, { LABEL: 'prefix' }) },
      ]);
    });
    this.SUBRULE(this.postfixExpr, { LABEL: 'operand' });
  });

  postfixExpr = this.RULE('postfixExpr', () => {
    this.SUBRULE(this.primary);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.SUBRULE(this.callSuffix, { LABEL: 'suffix' }) },
        { ALT: () => this.SUBRULE(this.indexSuffix, { LABEL: 'suffix' }) },
        { ALT: () => this.SUBRULE(this.memberSuffix, { LABEL: 'suffix' }) },
      ]);
    });
  });

  callSuffix = this.RULE('callSuffix', () => {
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.SUBRULE(this.argument);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.argument);
      });
      this.OPTION2(() => this.CONSUME2(T.Comma));
    });
    this.CONSUME(T.RParen);
  });

  indexSuffix = this.RULE('indexSuffix', () => {
    this.CONSUME(T.LBracket);
    this.SUBRULE(this.expression, { LABEL: 'index' });
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE2(this.expression, { LABEL: 'index' });
    });
    this.CONSUME(T.RBracket);
  });

  memberSuffix = this.RULE('memberSuffix', () => {
    this.CONSUME(T.Dot);
    this.CONSUME(T.AnyName, { LABEL: 'member' });
  });

  primary = this.RULE('primary', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.NumberLiteral);
          this.OPTION(() => {
            this.OR2([
              { ALT: () => this.CONSUME(T.UnitKeyword, { LABEL: 'unit' }) },
              { ALT: () => this.CONSUME(T.Percent, { LABEL: 'unit' }) },
            ]);
          });
        },
      },
      { ALT: () => this.CONSUME(T.StringLiteral) },
      { ALT: () => this.CONSUME(T.True) },
      { ALT: () => this.CONSUME(T.False) },
      { ALT: () => this.CONSUME(T.Identifier) },
      { ALT: () => this.SUBRULE(this.listExpr) },
      { ALT: () => this.SUBRULE(this.parenExpr) },
      { ALT: () => this.SUBRULE(this.reduceExpr) },
      { ALT: () => this.SUBRULE(this.castExpr) },
    ]);
  });

  listExpr = this.RULE('listExpr', () => {
    this.CONSUME(T.LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.expression, { LABEL: 'item' });
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.expression, { LABEL: 'item' });
      });
      this.OPTION2(() => this.CONSUME2(T.Comma));
    });
    this.CONSUME(T.RBracket);
  });

  parenExpr = this.RULE('parenExpr', () => {
    this.CONSUME(T.LParen);
    this.SUBRULE(this.expression, { LABEL: 'inner' });
    this.CONSUME(T.RParen);
  });

  reduceExpr = this.RULE('reduceExpr', () => {
    this.CONSUME(T.ReduceKeyword);
    this.OPTION(() => {
      this.CONSUME(T.LBracket);
      this.CONSUME(T.Identifier, { LABEL: 'index' });
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.CONSUME2(T.Identifier, { LABEL: 'index' });
      });
      this.CONSUME(T.RBracket);
    });
    this.CONSUME(T.LParen);
    this.SUBRULE(this.expression, { LABEL: 'body' });
    this.CONSUME(T.RParen);
  });

  castExpr = this.RULE('castExpr', () => {
    this.CONSUME(T.DtypeKeyword);
    this.CONSUME(T.LParen);
    this.SUBRULE(this.expression, { LABEL: 'operand' });
    this.CONSUME(T.RParen);
  });
}

/** The one parser of the process; reset with `input` before each use. */
export const alignParser = new AlignParser();

export function parseTokens(tokens: IToken[]): CstNode {
  alignParser.input = tokens;
  return alignParser.module();
}
