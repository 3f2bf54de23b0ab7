// `alignc reproduce`: the BCCD reproduction of AlignDet's claim (issue #9) — fine-tunes RetinaNet
// (and FCOS, when its pipeline exists) from random init, image-domain and AlignDet pre-training
// over seeds and labelled fractions, then writes docs/results.md and its plots. `npm run reproduce`
// runs the `medium` budget on WebGPU. This file parses flags; runtime/report/reproduce*.ts does the work.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../runtime/errors.js';
import { packageRoot } from '../../runtime/package-root.js';
import { BUDGET_NAMES, BUDGETS, isBudgetName } from '../../runtime/report/reproduce-budgets.js';
import { isDone, runArguments } from '../../runtime/report/reproduce-execute.js';
import { childProcessExecutor } from '../../runtime/report/reproduce-executors.js';
import {
  buildMatrix,
  DETECTORS,
  reproducePipeline,
  SETTINGS,
} from '../../runtime/report/reproduce-matrix.js';
import { reproduce } from '../../runtime/report/reproduce.js';
import type { Command } from '../command.js';

function numberList(text: string | undefined, flag: string): number[] | undefined {
  if (text === undefined) return undefined;
  const values = text.split(',').map((x) => Number(x.trim().replace(/%$/, '')));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v) || v < 0))
    throw new UsageError(`${flag} needs a comma-separated list of numbers, got '${text}'`);
  return values;
}

/** A comma-separated list whose items must each be one of `allowed`. */
function oneOf<T extends string>(
  text: string | undefined,
  allowed: readonly T[],
  flag: string,
): T[] | undefined {
  if (text === undefined) return undefined;
  const items = text.split(',').map((x) => x.trim());
  for (const item of items)
    if (!(allowed as readonly string[]).includes(item))
      throw new UsageError(`unknown value '${item}' in ${flag}`, {
        hint: `choose from ${allowed.join(', ')}`,
      });
  return items as T[];
}

export const reproduceCommand: Command = {
  name: 'reproduce',
  summary: 'the BCCD reproduction (issue #9): run the matrix, write docs/results.md and plots',
  usage:
    'alignc reproduce [--budget tiny|small|medium|full] [--jobs N] [--detectors retinanet,fcos] [--settings scratch,image,aligndet] [--seeds 0,1,2] [--fractions 10,100] [--backend cpu-reference|webgpu] [--out DIR] [--collect-only] [--dry-run]',
  options: [
    {
      name: 'budget',
      kind: 'string',
      placeholder: BUDGET_NAMES.join('|'),
      description: 'sizes of every stage (default small, about 45 min on a quiet 2-core machine)',
    },
    {
      name: 'jobs',
      kind: 'number',
      placeholder: 'N',
      description: 'runs at once (default 2 on the CPU reference, 1 on WebGPU)',
    },
    {
      name: 'backend',
      kind: 'string',
      placeholder: 'cpu-reference|webgpu',
      description: 'the backend of every `alignc run` (default cpu-reference)',
    },
    {
      name: 'detectors',
      kind: 'string',
      placeholder: 'LIST',
      description: 'retinanet,fcos (default: those with a pipelines/reproduce file)',
    },
    {
      name: 'settings',
      kind: 'string',
      placeholder: 'LIST',
      description: 'scratch,image,aligndet (default: every one the pipelines have)',
    },
    {
      name: 'seeds',
      kind: 'string',
      placeholder: 'LIST',
      description: "override the budget's seeds",
    },
    {
      name: 'fractions',
      kind: 'string',
      placeholder: 'LIST',
      description: "override the budget's labelled fractions, in percent",
    },
    {
      name: 'out',
      kind: 'string',
      placeholder: 'DIR',
      description: 'run directories (default runs/reproduce/<budget>)',
    },
    {
      name: 'results',
      kind: 'string',
      placeholder: 'FILE',
      description: 'the Markdown to write (default docs/results.md)',
    },
    {
      name: 'plots',
      kind: 'string',
      placeholder: 'DIR',
      description: 'where the plots go (default docs/results)',
    },
    {
      name: 'collect-only',
      kind: 'boolean',
      description: 'run nothing; aggregate what is on disk',
    },
    { name: 'dry-run', kind: 'boolean', description: 'print the alignc run commands still to do' },
  ],
  async run(args) {
    if (args.positionals.length > 0)
      throw new UsageError(`alignc reproduce takes no file, got '${args.positionals[0]}'`);
    const budgetName = args.strings.get('budget') ?? 'small';
    if (!isBudgetName(budgetName))
      throw new UsageError(
        `--budget must be one of ${BUDGET_NAMES.join(', ')}, not '${budgetName}'`,
      );
    const budget = BUDGETS[budgetName];
    const root = packageRoot();
    const requested = oneOf(args.strings.get('detectors'), DETECTORS, '--detectors');
    const detectors = requested ?? DETECTORS.filter((d) => existsSync(reproducePipeline(root, d)));
    const backend = args.strings.get('backend') ?? 'cpu-reference';
    if (backend !== 'cpu-reference' && backend !== 'webgpu')
      throw new UsageError(`--backend must be cpu-reference or webgpu, not '${backend}'`);
    // lavapipe already spreads one run over every core (and dawn.node spins one while it waits).
    const jobs = args.numbers.get('jobs') ?? (backend === 'webgpu' ? 1 : 2);
    if (!Number.isInteger(jobs) || jobs < 1)
      throw new UsageError(`--jobs needs a whole number >= 1, got ${jobs}`);
    const settings = oneOf(
      args.strings.get('settings'),
      SETTINGS.map((x) => x.id),
      '--settings',
    );
    const seeds = numberList(args.strings.get('seeds'), '--seeds');
    const fractions = numberList(args.strings.get('fractions'), '--fractions');
    const outDir = args.strings.get('out') ?? `runs/reproduce/${budget.name}`;
    const options = {
      root,
      budget,
      detectors,
      ...(seeds === undefined ? {} : { seeds }),
      ...(fractions === undefined ? {} : { fractions }),
      ...(settings === undefined ? {} : { settings }),
      outDir,
    };
    if (args.booleans.has('dry-run')) {
      for (const run of buildMatrix(options).runs)
        if (!isDone(run))
          process.stdout.write(
            `alignc run ${[...runArguments({ ...run, resume: false }), '--backend', backend].join(' ')}\n`,
          );
      return 0;
    }
    const cliMain = fileURLToPath(new URL('../main.js', import.meta.url));
    const children = childProcessExecutor(cliMain, ['--backend', backend]);
    // Ctrl-C or SIGTERM: no new run starts, the running ones save a checkpoint and stop, and
    // results.md is still written from what finished. Invoking the command again resumes.
    let stopped = false;
    const stop = (signal: NodeJS.Signals) => {
      if (!stopped) process.stderr.write(`reproduce: ${signal}, stopping the running runs\n`);
      stopped = true;
      children.interrupt();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    let outcome: Awaited<ReturnType<typeof reproduce>>;
    try {
      outcome = await reproduce({
        ...options,
        resultsFile: args.strings.get('results') ?? 'docs/results.md',
        plotDir: args.strings.get('plots') ?? 'docs/results',
        jobs,
        executor: children.execute,
        stopped: () => stopped,
        command: ['alignc', 'reproduce', ...process.argv.slice(3)].join(' '),
        say: (line) => process.stderr.write(line + '\n'),
        collectOnly: args.booleans.has('collect-only'),
      });
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    if (stopped) return 130;
    const failed = outcome.execution?.failed ?? [];
    for (const f of failed)
      process.stderr.write(
        `failed: ${f.id}: ${f.error instanceof Error ? f.error.message : String(f.error)}\n`,
      );
    return failed.length === 0 ? 0 : 1;
  },
};
