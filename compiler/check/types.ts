// The types of compiler/check: what every `.align` expression evaluates to, from config values
// (numbers, strings, datasets, detectors) to tensors with symbolic shapes (`f32[N, 4]`). The
// checker records one AlignType per expression; compiler/lower reads them back.

import type { Dtype, FnDecl, Unit } from '../../grammar/ast.js';

export type Dim =
  | { readonly kind: 'sym'; readonly name: string }
  | { readonly kind: 'const'; readonly size: number };

export interface TensorType {
  readonly kind: 'tensor';
  readonly dtype: Dtype;
  readonly shape: readonly Dim[];
}

/** The kinds of configuration value the built-in blocks produce and accept. */
export type Domain =
  | 'dataset'
  | 'proposals'
  | 'proposal_filter'
  | 'transform'
  | 'backbone'
  | 'neck'
  | 'head'
  | 'anchors'
  | 'mlp'
  | 'schedule'
  | 'optimizer'
  | 'warmup'
  | 'lr_schedule'
  | 'metric';

/** `encoder`: an image-domain network (backbone, global pool, projector, optional predictor). */
export type DetectorFamily = 'retinanet' | 'fcos' | 'faster_rcnn' | 'encoder';

export type AlignType =
  | TensorType
  /** A number known when the file is checked; `value` when it is a literal or a folded const. */
  | { readonly kind: 'number'; readonly integer: boolean; readonly value: number | undefined }
  | { readonly kind: 'string'; readonly value: string | undefined }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'quantity'; readonly unit: Unit; readonly value: number | undefined }
  | { readonly kind: 'range'; readonly low: number | undefined; readonly high: number | undefined }
  | { readonly kind: 'list'; readonly element: AlignType; readonly items: readonly AlignType[] }
  | {
      readonly kind: 'value';
      readonly domain: Domain;
      /** Which built-in made it, and the numbers later blocks need (e.g. an MLP's output width). */
      readonly builtin: string;
      readonly props: Readonly<Record<string, number>>;
    }
  | {
      readonly kind: 'detector';
      readonly family: DetectorFamily;
      readonly embed: number | undefined;
      readonly classes: number | undefined;
      /** Class-specific box regression: `deltas` is f32[S, regClasses, 4] (R-CNN `fc_reg`). */
      readonly regClasses: number | undefined;
      /** An encoder's predictor width: `prediction` is f32[B, predict] (BYOL). */
      readonly predict?: number;
      readonly ema: boolean;
    }
  | {
      readonly kind: 'record';
      readonly name: string;
      readonly fields: ReadonlyMap<string, AlignType>;
    }
  | { readonly kind: 'fn'; readonly decl: FnDecl; readonly file: string }
  | { readonly kind: 'builtin'; readonly name: string }
  | { readonly kind: 'stage'; readonly name: string }
  | { readonly kind: 'module'; readonly file: string }
  /** After an error: accepted everywhere so one mistake yields one diagnostic. */
  | { readonly kind: 'unknown' };

export const UNKNOWN: AlignType = { kind: 'unknown' };

export function sym(name: string): Dim {
  return { kind: 'sym', name };
}
export function size(n: number): Dim {
  return { kind: 'const', size: n };
}
export function tensor(dtype: Dtype, ...shape: (Dim | string | number)[]): TensorType {
  return {
    kind: 'tensor',
    dtype,
    shape: shape.map((d) => (typeof d === 'string' ? sym(d) : typeof d === 'number' ? size(d) : d)),
  };
}
export function num(
  value?: number,
  integer = value !== undefined && Number.isInteger(value),
): AlignType {
  return { kind: 'number', integer, value };
}

export function dimEquals(a: Dim, b: Dim): boolean {
  return a.kind === 'sym'
    ? b.kind === 'sym' && a.name === b.name
    : b.kind === 'const' && a.size === b.size;
}

export function showDim(d: Dim): string {
  return d.kind === 'sym' ? d.name : String(d.size);
}

export function showShape(t: TensorType): string {
  return t.shape.length === 0 ? t.dtype : `${t.dtype}[${t.shape.map(showDim).join(', ')}]`;
}

/** How a type reads in a message: `f32[N, 4]`, `dataset`, `list of transform`. */
export function showType(t: AlignType): string {
  switch (t.kind) {
    case 'tensor':
      return showShape(t);
    case 'number':
      return t.integer ? 'an integer' : 'a number';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true/false';
    case 'quantity':
      return t.unit === 'percent' ? 'a percentage' : `a count of ${t.unit}s`;
    case 'range':
      return 'a range';
    case 'list':
      return `a list of ${showType(t.element)}`;
    case 'value':
      return t.domain.replace('_', ' ');
    case 'detector':
      return `a ${t.family} detector`;
    case 'record':
      return t.name;
    case 'fn':
      return `function \`${t.decl.name.name}\``;
    case 'builtin':
      return `built-in \`${t.name}\``;
    case 'stage':
      return `stage \`${t.name}\``;
    case 'module':
      return 'a module';
    case 'unknown':
      return 'unknown';
    default:
      return t satisfies never;
  }
}

/** Numbers and booleans used in tensor code are rank-0 tensors. */
export function asTensor(t: AlignType): TensorType | undefined {
  switch (t.kind) {
    case 'tensor':
      return t;
    case 'number':
      return tensor(t.integer ? 'i32' : 'f32');
    case 'boolean':
      return tensor('bool');
    default:
      return undefined;
  }
}
