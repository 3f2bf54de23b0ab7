// The shape of one `alignc` sub-command and the argument parser they share. Each command lives in
// its own file under cli/commands/ and is listed in cli/commands/index.ts; cli/main.ts dispatches.

import { UsageError } from '../runtime/errors.js';

export type OptionKind = 'string' | 'number' | 'boolean' | 'list';

export interface OptionSpec {
  readonly name: string;
  readonly kind: OptionKind;
  readonly description: string;
  /** Shown in help; the parsed value is undefined when the flag is absent. */
  readonly placeholder?: string;
}

export interface ParsedArgs {
  readonly positionals: readonly string[];
  readonly strings: ReadonlyMap<string, string>;
  readonly numbers: ReadonlyMap<string, number>;
  readonly booleans: ReadonlySet<string>;
  readonly lists: ReadonlyMap<string, readonly string[]>;
}

/** What a command returns: the process exit status. */
export type ExitCode = number;

export interface Command {
  readonly name: string;
  /** One line for `alignc --help`. */
  readonly summary: string;
  /** e.g. `alignc check FILE...` */
  readonly usage: string;
  readonly options: readonly OptionSpec[];
  run(args: ParsedArgs): Promise<ExitCode>;
}

export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[]): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const positionals: string[] = [];
  const strings = new Map<string, string>();
  const numbers = new Map<string, number>();
  const booleans = new Set<string>();
  const lists = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = byName.get(name);
    if (!spec) {
      const known = specs.map((s) => `--${s.name}`).join(', ') || 'none';
      const near = closest(name, [...byName.keys()]);
      throw new UsageError(`unknown option --${name}`, {
        hint: near ? `did you mean --${near}? (options: ${known})` : `options: ${known}`,
      });
    }
    if (spec.kind === 'boolean') {
      if (eq >= 0) throw new UsageError(`option --${name} takes no value`);
      booleans.add(name);
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new UsageError(`option --${name} needs a value`);
      value = argv[++i];
    }
    switch (spec.kind) {
      case 'string':
        strings.set(name, value);
        break;
      case 'number': {
        const n = Number(value);
        if (value.trim() === '' || !Number.isFinite(n))
          throw new UsageError(`option --${name} needs a number, got '${value}'`);
        numbers.set(name, n);
        break;
      }
      case 'list':
        lists.set(name, [...(lists.get(name) ?? []), value]);
        break;
      default:
        throw new Error(`unhandled option kind ${spec.kind satisfies never}`);
    }
  }
  return { positionals, strings, numbers, booleans, lists };
}

/** The candidate within edit distance 2 of `word`, if any: for "did you mean" hints. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

export function formatCommandHelp(command: Command): string {
  const lines = [`usage: ${command.usage}`, '', command.summary];
  if (command.options.length > 0) {
    lines.push('', 'options:');
    for (const o of command.options) {
      const flag = o.kind === 'boolean' ? `--${o.name}` : `--${o.name} ${o.placeholder ?? 'VALUE'}`;
      lines.push(`  ${flag.padEnd(28)} ${o.description}`);
    }
  }
  return lines.join('\n');
}
