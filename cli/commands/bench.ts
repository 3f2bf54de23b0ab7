// `alignc bench`: the performance benchmarks of the compute core (bench/): matmul, convolutions
// forward and backward, a fused elementwise chain, a reduction and the per-dispatch overhead, each
// the median wall-clock time of several rounds with the result read back, as a program sees it.
// Prints a table; `--json FILE` also writes the results with the adapter and date.

import { writeFileSync } from 'node:fs';
import { FileError, UsageError } from '../../runtime/errors.js';
import type { Command } from '../command.js';

export const benchCommand: Command = {
  name: 'bench',
  summary: 'benchmark matmul, conv2d fwd/bwd, fused elementwise, reduction and dispatch overhead',
  usage: 'alignc bench [--only NAME] [--rounds N] [--json FILE]',
  options: [
    {
      name: 'only',
      kind: 'list',
      description: 'run only cases whose name or group contains NAME (repeatable)',
      placeholder: 'NAME',
    },
    {
      name: 'rounds',
      kind: 'number',
      description: 'timed rounds per case (default 5)',
      placeholder: 'N',
    },
    {
      name: 'json',
      kind: 'string',
      description: 'write the results as JSON to FILE',
      placeholder: 'FILE',
    },
    { name: 'list', kind: 'boolean', description: 'list the case names and exit' },
  ],
  async run(args) {
    const { benchCases } = await import('../../bench/cases.js');
    const all = benchCases();
    if (args.booleans.has('list')) {
      process.stdout.write(all.map((c) => `${c.name}  (${c.group})`).join('\n') + '\n');
      return 0;
    }
    const only = args.lists.get('only') ?? [];
    const cases =
      only.length === 0
        ? all
        : all.filter((c) => only.some((o) => c.name.includes(o) || c.group.includes(o)));
    if (cases.length === 0) {
      throw new UsageError(`no benchmark matches --only ${only.join(', ')}`, {
        hint: `cases: ${all.map((c) => c.name).join(', ')}`,
      });
    }
    const rounds = args.numbers.get('rounds') ?? 5;
    if (!Number.isInteger(rounds) || rounds < 1)
      throw new UsageError('--rounds needs a positive integer');
    const { acquireGpu, releaseGpu } = await import('../../runtime/gpu/index.js');
    const ctx = await acquireGpu();
    const results = [];
    try {
      process.stdout.write(
        `adapter: ${ctx.info.device} (${ctx.info.backend}); ${rounds} rounds, median wall clock, result read back\n`,
      );
      for (const c of cases) {
        const r = await c.run(ctx, rounds);
        results.push(r);
        process.stdout.write(
          `${r.name.padEnd(62)} ${r.ms.toFixed(3).padStart(10)} ms  ${r.value.toFixed(2).padStart(9)} ${r.unit}\n`,
        );
      }
    } finally {
      await releaseGpu(ctx);
    }
    const file = args.strings.get('json');
    if (file) {
      const report = {
        date: new Date().toISOString(),
        adapter: {
          device: ctx.info.device,
          backend: ctx.info.backend,
          isSoftware: ctx.info.isSoftware,
        },
        rounds,
        results,
      };
      try {
        writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
      } catch (error) {
        throw new FileError(
          `cannot write ${file}: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    return 0;
  },
};
