// `alignc check FILE…`: parse and check `.align` files (and everything they `use`) — names, types,
// symbolic shapes, built-in parameters and ranges. Prints every diagnostic with file:line:col and
// a caret excerpt and exits 1, or prints a one-line summary and exits 0. Front end only.

import { checkFilesOrThrow } from '../../compiler/check/index.js';
import { UsageError } from '../../runtime/errors.js';
import type { Command } from '../command.js';
import { compileCommand } from './compile.js';
import { fmtCommand } from './fmt.js';

export const checkCommand: Command = {
  name: 'check',
  summary: 'parse and type/shape-check .align files; every error with file:line:col',
  usage: 'alignc check FILE...',
  options: [
    { name: 'time', kind: 'boolean', description: 'print how long parsing and checking took' },
  ],
  async run(args) {
    if (args.positionals.length === 0)
      throw new UsageError('alignc check needs at least one .align file');
    const started = performance.now();
    const program = checkFilesOrThrow(args.positionals);
    const ms = performance.now() - started;
    const n = program.entries.length;
    const deps = program.modules.length - n;
    process.stdout.write(
      `ok: ${n} file${n === 1 ? '' : 's'} checked${deps > 0 ? ` (+${deps} imported)` : ''}` +
        (args.booleans.has('time') ? ` in ${ms.toFixed(1)} ms` : '') +
        '\n',
    );
    return 0;
  },
};

/** The front-end commands (check, compile, fmt), registered together in cli/commands/index.ts. */
export const languageCommands: readonly Command[] = [checkCommand, compileCommand, fmtCommand];
