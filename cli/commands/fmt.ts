// `alignc fmt [--check] FILE…`: formats `.align` files in place with the Prettier plugin
// (compiler/format). With --check nothing is written; files that would change are listed and the
// exit status is 1. Syntax errors are reported like `alignc check` does.

import { readFileSync, writeFileSync } from 'node:fs';
import { FileError, UsageError } from '../../runtime/errors.js';
import type { Command } from '../command.js';

export const fmtCommand: Command = {
  name: 'fmt',
  summary: 'format .align files in place (Prettier plugin); --check only reports',
  usage: 'alignc fmt [--check] FILE...',
  options: [
    {
      name: 'check',
      kind: 'boolean',
      description: 'write nothing; exit 1 if a file is not formatted',
    },
  ],
  async run(args) {
    if (args.positionals.length === 0)
      throw new UsageError('alignc fmt needs at least one .align file');
    const checkOnly = args.booleans.has('check');
    // Prettier is large; only `alignc fmt` pays for loading it.
    const { formatAlign } = await import('../../compiler/format/format.js');
    const unformatted: string[] = [];
    for (const file of args.positionals) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (cause) {
        throw new FileError(`cannot read ${file}`, { cause });
      }
      const formatted = await formatAlign(text, file);
      if (formatted === text) continue;
      unformatted.push(file);
      if (!checkOnly) {
        try {
          writeFileSync(file, formatted);
        } catch (cause) {
          throw new FileError(`cannot write ${file}`, { cause });
        }
      }
    }
    if (checkOnly) {
      for (const f of unformatted) process.stdout.write(`not formatted: ${f}\n`);
      return unformatted.length > 0 ? 1 : 0;
    }
    for (const f of unformatted) process.stdout.write(`formatted ${f}\n`);
    return 0;
  },
};
