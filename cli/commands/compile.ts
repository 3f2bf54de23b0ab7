// `alignc compile FILE --emit ast|ir|wgsl`: shows what the compiler makes of a pipeline. `ast`
// prints the checked AST of the file as JSON (spans included). `ir` and `wgsl` need
// compiler/lower, which does not exist yet; they fail with E_EMIT_UNAVAILABLE instead of guessing.

import { checkFilesOrThrow } from '../../compiler/check/index.js';
import { AlignError, UsageError } from '../../runtime/errors.js';
import type { Command } from '../command.js';

/** A compiler output that this build of alignc cannot produce yet. */
export class EmitUnavailableError extends AlignError {
  readonly code = 'E_EMIT_UNAVAILABLE';
}

const EMITS = ['ast', 'ir', 'wgsl'] as const;
type Emit = (typeof EMITS)[number];

function isEmit(s: string): s is Emit {
  return (EMITS as readonly string[]).includes(s);
}

export const compileCommand: Command = {
  name: 'compile',
  summary: 'show what the compiler makes of a pipeline (--emit ast; ir and wgsl later)',
  usage: 'alignc compile FILE --emit ast|ir|wgsl',
  options: [
    {
      name: 'emit',
      kind: 'string',
      placeholder: 'ast|ir|wgsl',
      description: 'what to print (default ast)',
    },
  ],
  async run(args) {
    if (args.positionals.length !== 1)
      throw new UsageError('alignc compile needs exactly one .align file');
    const emit = args.strings.get('emit') ?? 'ast';
    if (!isEmit(emit))
      throw new UsageError(`--emit must be one of ${EMITS.join(', ')}, not '${emit}'`);
    const program = checkFilesOrThrow(args.positionals);
    switch (emit) {
      case 'ast': {
        const module = program.entries[0]?.ast;
        process.stdout.write(JSON.stringify(module, null, 2) + '\n');
        return 0;
      }
      case 'ir':
      case 'wgsl':
        throw new EmitUnavailableError(
          `--emit ${emit} is not available yet: lowering to IR (compiler/lower) is not built`,
          {
            hint: 'alignc check and alignc compile --emit ast work today',
          },
        );
      default:
        return emit satisfies never;
    }
  },
};
