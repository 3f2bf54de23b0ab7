// `alignc report RUN_DIR`: writes the HTML report of a run (runtime/report) next to its log, or to
// --out, and with --plots DIR also each plot as SVG and PNG for the docs. Warnings (a partial last
// log line, a sample whose image is missing) go to stderr and into the page; the report is still made.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileError, UsageError } from '../../runtime/errors.js';
import { writePlotFiles } from '../../runtime/report/export-plots.js';
import { buildRunReport } from '../../runtime/report/run-report.js';
import type { Command } from '../command.js';

export const reportCommand: Command = {
  name: 'report',
  summary: 'write the HTML report of a run directory (loss and mAP curves, results, samples)',
  usage: 'alignc report RUN_DIR [--out FILE] [--plots DIR] [--max-samples N] [--linear-loss]',
  options: [
    {
      name: 'out',
      kind: 'string',
      placeholder: 'FILE',
      description: 'the HTML file to write (default RUN_DIR/report.html)',
    },
    {
      name: 'plots',
      kind: 'string',
      placeholder: 'DIR',
      description: 'also write every plot as DIR/NAME.svg and DIR/NAME.png',
    },
    {
      name: 'max-samples',
      kind: 'number',
      placeholder: 'N',
      description: 'draw at most N samples from RUN_DIR/images (default 6)',
    },
    { name: 'linear-loss', kind: 'boolean', description: 'linear instead of log loss axes' },
  ],
  async run(args) {
    if (args.positionals.length !== 1)
      throw new UsageError(
        args.positionals.length === 0
          ? 'alignc report needs a run directory'
          : `alignc report takes one run directory, got ${args.positionals.length} arguments`,
        { hint: 'usage: alignc report runs/NAME [--out FILE] [--plots DIR]' },
      );
    const runDir = args.positionals[0];
    const maxSamples = args.numbers.get('max-samples');
    if (maxSamples !== undefined && !(Number.isInteger(maxSamples) && maxSamples >= 0))
      throw new UsageError(`--max-samples needs a whole number >= 0, got ${maxSamples}`);
    const report = await buildRunReport(runDir, {
      maxSamples,
      lossScale: args.booleans.has('linear-loss') ? 'linear' : 'log',
    });
    const out = args.strings.get('out') ?? join(runDir, 'report.html');
    try {
      writeFileSync(out, report.html);
    } catch (error) {
      throw new FileError(`cannot write the report '${out}': ${String(error)}`, { cause: error });
    }
    for (const w of report.warnings) process.stderr.write(`warning: ${w}\n`);
    const log = report.log;
    process.stdout.write(
      `wrote ${out}: ${log.steps.length} steps, ${log.evals.length} evaluations, ` +
        `${report.samplesShown} samples, status ${log.end?.status ?? 'unfinished'}\n`,
    );
    const plotsDir = args.strings.get('plots');
    if (plotsDir !== undefined) {
      const files = await writePlotFiles(
        plotsDir,
        report.plots.map((p) => ({ id: p.id, svg: p.plot.svg })),
      );
      process.stdout.write(`wrote ${files.length} plot files into ${plotsDir}\n`);
    }
    return 0;
  },
};
