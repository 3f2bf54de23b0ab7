// Typed readers of the plan's configuration values (compiler/lower/plan.ts `ConfigValue`): a block
// call `{block, args}`, a `>>` chain `{pipeline}`, a reference `{ref}`, a quantity `{value, unit}`,
// a range `{from, to}`, numbers, strings, lists. Every reader names the item it reads and the
// plan's `file:line:col`, so a value the runner cannot use says where it came from.
// Flow: plan (configuration data) → **readers** → runtime objects (runtime/run).

import type { ConfigValue } from '../../compiler/lower/plan.js';
import { RunPlanError, RunUnsupportedError } from './errors.js';

export interface BlockValue {
  readonly block: string;
  readonly args: Readonly<Record<string, ConfigValue>>;
}

export interface Quantity {
  readonly value: number;
  readonly unit: string;
}

function isRecord(v: ConfigValue | undefined): v is { readonly [key: string]: ConfigValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A reader of one plan item's values, remembering where the item is for its errors. */
export class ConfigReader {
  constructor(
    /** What is being read, e.g. `detector online`. */
    readonly what: string,
    readonly at: string,
  ) {}

  fail(message: string, hint?: string): never {
    throw new RunPlanError(`${this.what}: ${message}`, this.at, hint);
  }

  block(v: ConfigValue | undefined, role: string): BlockValue {
    if (isRecord(v) && typeof v.block === 'string' && isRecord(v.args))
      return { block: v.block, args: v.args };
    return this.fail(`${role} should be a block call, got ${JSON.stringify(v)}`);
  }

  /** The steps of a `>>` chain (a single block is a chain of one). */
  chain(v: ConfigValue | undefined, role: string): BlockValue[] {
    if (isRecord(v) && Array.isArray(v.pipeline))
      return (v.pipeline as readonly ConfigValue[]).map((s) => this.block(s, role));
    return [this.block(v, role)];
  }

  ref(v: ConfigValue | undefined, role: string): string {
    if (isRecord(v) && typeof v.ref === 'string') return v.ref;
    return this.fail(`${role} should name a declaration, got ${JSON.stringify(v)}`);
  }

  isRef(v: ConfigValue | undefined): boolean {
    return isRecord(v) && typeof v.ref === 'string';
  }

  number(v: ConfigValue | undefined, role: string): number;
  number(v: ConfigValue | undefined, role: string, fallback: number): number;
  number(v: ConfigValue | undefined, role: string, fallback?: number): number {
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    return this.fail(`${role} should be a number, got ${JSON.stringify(v)}`);
  }

  optionalNumber(v: ConfigValue | undefined, role: string): number | undefined {
    return v === undefined ? undefined : this.number(v, role);
  }

  integer(v: ConfigValue | undefined, role: string, fallback?: number): number {
    const n = fallback === undefined ? this.number(v, role) : this.number(v, role, fallback);
    if (!Number.isInteger(n)) this.fail(`${role} should be an integer, got ${n}`);
    return n;
  }

  string(v: ConfigValue | undefined, role: string, fallback?: string): string {
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v === 'string') return v;
    return this.fail(`${role} should be a string, got ${JSON.stringify(v)}`);
  }

  boolean(v: ConfigValue | undefined, role: string, fallback: boolean): boolean {
    if (v === undefined) return fallback;
    if (typeof v === 'boolean') return v;
    return this.fail(`${role} should be true or false, got ${JSON.stringify(v)}`);
  }

  list(v: ConfigValue | undefined, role: string): readonly ConfigValue[] {
    if (Array.isArray(v)) return v as readonly ConfigValue[];
    return this.fail(`${role} should be a list, got ${JSON.stringify(v)}`);
  }

  numbers(v: ConfigValue | undefined, role: string): number[] {
    return this.list(v, role).map((x, i) => this.number(x, `${role}[${i}]`));
  }

  strings(v: ConfigValue | undefined, role: string): string[] {
    return this.list(v, role).map((x, i) => this.string(x, `${role}[${i}]`));
  }

  quantity(v: ConfigValue | undefined, role: string): Quantity {
    if (isRecord(v) && typeof v.value === 'number' && typeof v.unit === 'string')
      return { value: v.value, unit: v.unit };
    return this.fail(`${role} should be a quantity such as 10 iters, got ${JSON.stringify(v)}`);
  }

  range(v: ConfigValue | undefined, role: string): readonly [number, number] {
    if (isRecord(v) && typeof v.from === 'number' && typeof v.to === 'number')
      return [v.from, v.to];
    return this.fail(`${role} should be a range such as 3..7, got ${JSON.stringify(v)}`);
  }

  /** Fails on any argument of `b` outside `known` (named, so a typo'd or new one is visible). */
  onlyArgs(b: BlockValue, known: readonly string[], hint?: string): void {
    for (const name of Object.keys(b.args))
      if (!known.includes(name))
        throw new RunUnsupportedError(
          `${this.what}: ${b.block}(${name}: …) is not supported by alignc run yet`,
          this.at,
          hint ?? `supported arguments of ${b.block}: ${known.join(', ') || 'none'}`,
        );
  }
}
