// The `alignc` command-line application: parses the sub-command, runs it, and turns errors into
// messages and exit statuses. User mistakes (AlignError) print as one message; anything else is an
// internal error with its stack. cli/main.ts is the executable that calls main().

import { AlignError } from '../runtime/errors.js';
import { setDebugLevel } from '../runtime/debug.js';
import { packageVersion } from '../runtime/package-root.js';
import { closest, formatCommandHelp, parseArgs } from './command.js';
import { commands } from './commands/index.js';

function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    'alignc — AlignDet-style detection pre-training pipelines, compiled to WebGPU',
    '',
    'usage: alignc <command> [options]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)} ${c.summary}`),
    '',
    'global options:',
    '  --help, -h        help for alignc or for a command',
    '  --version, -v     print the version',
    '  --debug N         debug output to stderr: 1 timings, 2 kernels, 3 WGSL, 4 IR (or ALIGNC_DEBUG=N)',
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const args = [...argv];
  const debugAt = args.indexOf('--debug');
  if (debugAt >= 0) {
    setDebugLevel(Number(args[debugAt + 1] ?? 1));
    args.splice(debugAt, 2);
  }
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? commands.find((c) => c.name === rest[0]) : undefined;
    process.stdout.write((topic ? formatCommandHelp(topic) : mainHelp()) + '\n');
    return name === undefined ? 1 : 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`alignc ${packageVersion()}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    const near = closest(
      name,
      commands.map((c) => c.name),
    );
    process.stderr.write(
      `error[E_USAGE]: unknown command '${name}'${near ? `; did you mean '${near}'?` : ''}\n` +
        `  hint: alignc --help lists the commands\n`,
    );
    return 1;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(formatCommandHelp(command) + '\n');
    return 0;
  }
  try {
    return await command.run(parseArgs(rest, command.options));
  } catch (error) {
    if (error instanceof AlignError) {
      process.stderr.write(error.render() + '\n');
      return 1;
    }
    process.stderr.write(
      `internal error in 'alignc ${name}' (a bug in alignc; please report it):\n`,
    );
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 2;
  }
}
