// How built-in blocks and functions are described for compiler/check: named parameters with a
// type spec, a numeric range and a one-line doc, plus a rule for the result type. The tables in
// config.ts, tensor.ts and stage.ts are data in this shape; the checker and docs/language.md read
// them, and compiler/lower will map each built-in name to its runtime routine.

import type { SourceSpan } from '../../../runtime/errors.js';
import type { DiagnosticCode } from '../../diagnostics.js';
import type { Unit } from '../../../grammar/ast.js';
import { showType, type AlignType, type Domain } from '../types.js';

export type TypeSpec =
  | { readonly kind: 'number'; readonly integer?: boolean }
  | { readonly kind: 'string'; readonly values?: readonly string[] }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'quantity'; readonly units: readonly Unit[] }
  | { readonly kind: 'range' }
  | { readonly kind: 'list'; readonly of: TypeSpec }
  | { readonly kind: 'domain'; readonly domain: Domain }
  | { readonly kind: 'tensor' }
  | { readonly kind: 'detector' }
  | { readonly kind: 'record'; readonly name: string }
  | { readonly kind: 'stage' }
  | { readonly kind: 'oneOf'; readonly of: readonly TypeSpec[] };

export interface ParamSig {
  readonly name: string;
  readonly type: TypeSpec;
  readonly required?: boolean;
  /** Inclusive bounds of a number, of every number in a list, or of a range's ends. */
  readonly min?: number;
  readonly max?: number;
  /** Collects every remaining positional argument (e.g. `mlp(256, 256)`). */
  readonly variadic?: boolean;
  readonly doc: string;
}

export type BuiltinContext = 'config' | 'stage' | 'fn';

export interface BoundArgs {
  /** The checked type of a parameter's argument; a variadic parameter yields the first one. */
  get(name: string): AlignType | undefined;
  all(name: string): readonly AlignType[];
  span(name: string): SourceSpan | undefined;
}

export interface ResultContext {
  readonly callSpan: SourceSpan;
  report(code: DiagnosticCode, message: string, span: SourceSpan, hint?: string): void;
}

export interface BuiltinSig {
  readonly name: string;
  readonly doc: string;
  readonly contexts: readonly BuiltinContext[];
  readonly params: readonly ParamSig[];
  readonly result: (args: BoundArgs, ctx: ResultContext) => AlignType;
}

export const spec = {
  number: { kind: 'number' } as TypeSpec,
  int: { kind: 'number', integer: true } as TypeSpec,
  string: { kind: 'string' } as TypeSpec,
  bool: { kind: 'boolean' } as TypeSpec,
  range: { kind: 'range' } as TypeSpec,
  tensor: { kind: 'tensor' } as TypeSpec,
  detector: { kind: 'detector' } as TypeSpec,
  stage: { kind: 'stage' } as TypeSpec,
  domain: (domain: Domain): TypeSpec => ({ kind: 'domain', domain }),
  list: (of: TypeSpec): TypeSpec => ({ kind: 'list', of }),
  oneOf: (...of: TypeSpec[]): TypeSpec => ({ kind: 'oneOf', of }),
  quantity: (...units: Unit[]): TypeSpec => ({ kind: 'quantity', units }),
  enumOf: (...values: string[]): TypeSpec => ({ kind: 'string', values }),
  record: (name: string): TypeSpec => ({ kind: 'record', name }),
};

export function describeSpec(s: TypeSpec): string {
  switch (s.kind) {
    case 'number':
      return s.integer ? 'an integer' : 'a number';
    case 'string':
      return s.values ? `one of ${s.values.map((v) => `"${v}"`).join(', ')}` : 'a string';
    case 'boolean':
      return 'true or false';
    case 'quantity':
      return s.units
        .map((u) => (u === 'percent' ? 'a percentage like 10%' : `a count like 12 ${u}s`))
        .join(' or ');
    case 'range':
      return 'a range like 1..9';
    case 'list':
      return `a list of ${describeSpec(s.of).replace(/^an? /, '')}s`;
    case 'domain':
      return `a ${s.domain.replace('_', ' ')}`;
    case 'tensor':
      return 'a tensor';
    case 'detector':
      return 'a detector';
    case 'record':
      return `a ${s.name}`;
    case 'stage':
      return 'a stage';
    case 'oneOf':
      return s.of.map(describeSpec).join(' or ');
    default:
      return s satisfies never;
  }
}

/** Whether a checked argument fits a parameter's spec (unknown fits everything). */
export function accepts(s: TypeSpec, t: AlignType): boolean {
  if (t.kind === 'unknown') return true;
  switch (s.kind) {
    case 'number':
      return t.kind === 'number' && (!s.integer || t.integer);
    case 'string':
      return (
        t.kind === 'string' && (!s.values || t.value === undefined || s.values.includes(t.value))
      );
    case 'boolean':
      return t.kind === 'boolean';
    case 'quantity':
      return t.kind === 'quantity' && s.units.includes(t.unit);
    case 'range':
      return t.kind === 'range';
    case 'list':
      return t.kind === 'list' && t.items.every((i) => accepts(s.of, i));
    case 'domain':
      return t.kind === 'value' && t.domain === s.domain;
    case 'tensor':
      return t.kind === 'tensor' || t.kind === 'number' || t.kind === 'boolean';
    case 'detector':
      return t.kind === 'detector';
    case 'record':
      return t.kind === 'record' && t.name === s.name;
    case 'stage':
      return t.kind === 'stage';
    case 'oneOf':
      return s.of.some((o) => accepts(o, t));
    default:
      return s satisfies never;
  }
}

/** The known numbers inside a value, for range checks: a number, a list's numbers, a range's ends. */
export function knownNumbers(t: AlignType): number[] {
  switch (t.kind) {
    case 'number':
    case 'quantity':
      return t.value === undefined ? [] : [t.value];
    case 'range':
      return [t.low, t.high].filter((v): v is number => v !== undefined);
    case 'list':
      return t.items.flatMap(knownNumbers);
    default:
      return [];
  }
}

export function argTypeMessage(fn: string, p: ParamSig, got: AlignType): string {
  return `\`${p.name}\` of \`${fn}\` must be ${describeSpec(p.type)}, not ${showType(got)}`;
}
