// The typed AST of a `.align` file: what grammar/cst-to-ast.ts builds from the CST and what
// compiler/check, compiler/format and (later) compiler/lower consume. Every node is a member of a
// discriminated union on `kind` and carries the `SourceSpan` of the text it came from, so every
// later diagnostic can point at `file:line:col`.

import type { SourceSpan } from '../runtime/errors.js';

interface NodeBase {
  readonly span: SourceSpan;
}

/** A name as written at its definition or use site. */
export interface Ident extends NodeBase {
  readonly kind: 'Ident';
  readonly name: string;
}

// ---------------------------------------------------------------- expressions

export type Unit = 'epoch' | 'iter' | 'percent';

export interface NumberLit extends NodeBase {
  readonly kind: 'Number';
  readonly value: number;
  /** As written, so the formatter keeps `1e-4` as `1e-4`. */
  readonly raw: string;
  readonly isInteger: boolean;
  /** `12 epochs`, `500 iters`, `10%`. */
  readonly unit: Unit | undefined;
  /** The unit word as written (`epoch` or `epochs`), for the formatter. */
  readonly unitText: string | undefined;
}

export interface StringLit extends NodeBase {
  readonly kind: 'String';
  readonly value: string;
  readonly raw: string;
}

export interface BoolLit extends NodeBase {
  readonly kind: 'Bool';
  readonly value: boolean;
}

export interface NameRef extends NodeBase {
  readonly kind: 'Name';
  readonly name: string;
}

export interface ListExpr extends NodeBase {
  readonly kind: 'List';
  readonly items: readonly Expr[];
}

export interface ParenExpr extends NodeBase {
  readonly kind: 'Paren';
  readonly inner: Expr;
}

export type UnaryOp = '-' | 'not';
export interface UnaryExpr extends NodeBase {
  readonly kind: 'Unary';
  readonly op: UnaryOp;
  readonly operand: Expr;
}

export type ArithOp = '+' | '-' | '*' | '/' | '^';
export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';
export type LogicOp = 'and' | 'or';
/** `a >> b`: composes augmentations and proposal filters, left to right. */
export type PipeOp = '>>';
/** `1..9`: an inclusive range of numbers. */
export type RangeOp = '..';
export type BinaryOp = ArithOp | CompareOp | LogicOp | PipeOp | RangeOp;

export interface BinaryExpr extends NodeBase {
  readonly kind: 'Binary';
  readonly op: BinaryOp;
  readonly left: Expr;
  readonly right: Expr;
}

/** One argument of a call or clause: positional when `name` is absent. */
export interface Arg extends NodeBase {
  readonly kind: 'Arg';
  readonly name: Ident | undefined;
  readonly value: Expr;
}

export interface CallExpr extends NodeBase {
  readonly kind: 'Call';
  readonly callee: Expr;
  readonly args: readonly Arg[];
}

/** `x[i, j]`: inside a comprehension an element; outside, a gather along the first axis. */
export interface IndexExpr extends NodeBase {
  readonly kind: 'Index';
  readonly target: Expr;
  readonly indices: readonly Expr[];
}

export interface MemberExpr extends NodeBase {
  readonly kind: 'Member';
  readonly target: Expr;
  readonly member: Ident;
}

export type ReduceOp =
  'sum' | 'mean' | 'max' | 'min' | 'prod' | 'logsumexp' | 'argmax' | 'argmin' | 'any' | 'all';

/** `sum[d](q[i, d] * k[j, d])`; without `[…]` the reduction runs over every axis of the operand. */
export interface ReduceExpr extends NodeBase {
  readonly kind: 'Reduce';
  readonly op: ReduceOp;
  readonly indices: readonly Ident[] | undefined;
  readonly body: Expr;
}

export type Dtype = 'f32' | 'i32' | 'bool';

/** `f32(mask)`: an element-type conversion. */
export interface CastExpr extends NodeBase {
  readonly kind: 'Cast';
  readonly dtype: Dtype;
  readonly operand: Expr;
}

export type Expr =
  | NumberLit
  | StringLit
  | BoolLit
  | NameRef
  | ListExpr
  | ParenExpr
  | UnaryExpr
  | BinaryExpr
  | CallExpr
  | IndexExpr
  | MemberExpr
  | ReduceExpr
  | CastExpr;

// ---------------------------------------------------------------- types

export interface DimName extends NodeBase {
  readonly kind: 'DimName';
  readonly name: string;
}
export interface DimSize extends NodeBase {
  readonly kind: 'DimSize';
  readonly size: number;
}
export type DimExpr = DimName | DimSize;

/** `f32`, `i32[N]`, `f32[N, 4]`. */
export interface TensorTypeExpr extends NodeBase {
  readonly kind: 'TensorType';
  readonly dtype: Dtype;
  readonly dims: readonly DimExpr[];
}

// ---------------------------------------------------------------- statements

/** `let x = e` or, with index variables, the comprehension `let s[i, j] = e`. */
export interface LetStmt extends NodeBase {
  readonly kind: 'Let';
  readonly name: Ident;
  readonly indices: readonly Ident[] | undefined;
  readonly value: Expr;
}

export interface ReturnStmt extends NodeBase {
  readonly kind: 'Return';
  readonly value: Expr;
}

/** `grad x = e` inside a `backward` block. */
export interface GradStmt extends NodeBase {
  readonly kind: 'Grad';
  readonly param: Ident;
  readonly value: Expr;
}

/** `backward(dy) { grad x = … }`: a hand-written vector–Jacobian product. */
export interface BackwardStmt extends NodeBase {
  readonly kind: 'Backward';
  readonly cotangent: Ident;
  readonly grads: readonly GradStmt[];
}

export type FnStmt = LetStmt | ReturnStmt | BackwardStmt;

/** `match m = max_iou(…)`: a non-differentiable assignment of predictions to boxes. */
export interface MatchStmt extends NodeBase {
  readonly kind: 'Match';
  readonly name: Ident;
  readonly value: Expr;
}

/** `loss reg = l1(…), weight: 1.0`: one named, weighted term of the stage's total loss. */
export interface LossStmt extends NodeBase {
  readonly kind: 'Loss';
  readonly name: Ident;
  readonly value: Expr;
  readonly args: readonly Arg[];
}

/** `view v1 = aug`: one augmented view of the stage's current batch. */
export interface ViewStmt extends NodeBase {
  readonly kind: 'ViewBind';
  readonly name: Ident;
  readonly value: Expr;
}

export type ClauseKind =
  'data' | 'optimize' | 'train' | 'checkpoint' | 'evaluate' | 'init' | 'report';

/** `data coco, proposals: ss, batch: 2` and the other stage settings. */
export interface ClauseStmt extends NodeBase {
  readonly kind: 'Clause';
  readonly clause: ClauseKind;
  readonly keywordSpan: SourceSpan;
  readonly args: readonly Arg[];
}

export type StageStmt = LetStmt | MatchStmt | LossStmt | ViewStmt | ClauseStmt;

// ---------------------------------------------------------------- top level

/** `use std.losses`, `use "common.align" as common`. */
export interface UseDecl extends NodeBase {
  readonly kind: 'Use';
  readonly source:
    | { readonly kind: 'std'; readonly segments: readonly string[] }
    | { readonly kind: 'file'; readonly path: string; readonly raw: string };
  readonly sourceSpan: SourceSpan;
  readonly alias: Ident | undefined;
}

export type ValueDeclKind = 'const' | 'dataset' | 'proposals' | 'view' | 'detector';

/** `dataset coco = coco(…)`, `detector online = retinanet(…)`, `const tau = 0.5`. */
export interface ValueDecl extends NodeBase {
  readonly kind: 'ValueDecl';
  readonly declKind: ValueDeclKind;
  readonly name: Ident;
  readonly value: Expr;
}

export interface Param extends NodeBase {
  readonly kind: 'Param';
  readonly name: Ident;
  readonly type: TensorTypeExpr;
  readonly default: Expr | undefined;
}

/** `fn giou(a: f32[N, 4], b: f32[N, 4]) -> f32[N] { … }` */
export interface FnDecl extends NodeBase {
  readonly kind: 'FnDecl';
  readonly name: Ident;
  readonly params: readonly Param[];
  readonly returnType: TensorTypeExpr;
  readonly body: readonly FnStmt[];
}

export interface StageDecl extends NodeBase {
  readonly kind: 'StageDecl';
  readonly name: Ident;
  readonly body: readonly StageStmt[];
}

export type TopItem = UseDecl | ValueDecl | FnDecl | StageDecl;

export interface Comment {
  readonly kind: 'Comment';
  /** Including the `//` or `/* … *\/` markers. */
  readonly text: string;
  readonly block: boolean;
  readonly span: SourceSpan;
}

export interface Module extends NodeBase {
  readonly kind: 'Module';
  readonly file: string;
  readonly items: readonly TopItem[];
  readonly comments: readonly Comment[];
}

export type AstNode =
  | Module
  | TopItem
  | StageStmt
  | FnStmt
  | GradStmt
  | Param
  | TensorTypeExpr
  | DimExpr
  | Expr
  | Arg
  | Ident;
