// Shared option handling of the function-level commands (`alignc grad`, `alignc check-grad`):
// which file and function, `--set name=value` for hyperparameters with defaults, `--dims N=4,D=8`.

import type { FnDecl } from '../grammar/ast.js';
import { collectFunctions, type FunctionTable } from '../compiler/lower/functions.js';
import { UsageError } from '../runtime/errors.js';
import { closest, type ParsedArgs } from './command.js';

export interface FunctionTarget {
  readonly table: FunctionTable;
  readonly fn: FnDecl;
}

export function resolveFunction(args: ParsedArgs, command: string): FunctionTarget {
  const file = args.positionals[0];
  const name = args.strings.get('fn');
  if (!file || !name) {
    throw new UsageError(`alignc ${command} needs a FILE and --fn NAME`, {
      hint: `e.g. alignc ${command} pipelines/std/losses.align --fn giou_loss`,
    });
  }
  const table = collectFunctions(file);
  const fn = table.functions.get(name);
  if (!fn) {
    const near = closest(name, [...table.functions.keys()]);
    throw new UsageError(`no function ${name} in ${file} or the files it uses`, {
      hint: near
        ? `did you mean ${near}?`
        : `functions: ${[...table.functions.keys()].sort().join(', ')}`,
    });
  }
  return { table, fn };
}

/** `--set tau=0.2 --set gamma=1` → constants for parameters with defaults. */
export function parseConstants(args: ParsedArgs, fn: FnDecl): Map<string, number> {
  const out = new Map<string, number>();
  for (const item of args.lists.get('set') ?? []) {
    const [key, raw] = item.split('=');
    const value = Number(raw);
    if (!key || raw === undefined || !Number.isFinite(value)) {
      throw new UsageError(`--set ${item}: expected NAME=NUMBER`);
    }
    if (!fn.params.some((p) => p.name.name === key)) {
      throw new UsageError(`--set ${key}: ${fn.name.name} has no parameter ${key}`);
    }
    out.set(key, value);
  }
  return out;
}

/** `--dims N=4,D=8` → sizes of dimension names. */
export function parseDims(args: ParsedArgs): Map<string, number> {
  const out = new Map<string, number>();
  const raw = args.strings.get('dims');
  if (!raw) return out;
  for (const part of raw.split(',')) {
    const [key, value] = part.split('=');
    const size = Number(value);
    if (!key || !Number.isInteger(size) || size < 1) {
      throw new UsageError(`--dims ${raw}: expected NAME=SIZE,… with positive integer sizes`);
    }
    out.set(key.trim(), size);
  }
  return out;
}
