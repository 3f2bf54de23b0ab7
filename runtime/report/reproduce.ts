// `alignc reproduce` end to end (runtime/report): builds the matrix of stage runs for a budget
// (reproduce-matrix.ts), runs what is not done yet (reproduce-execute.ts), aggregates the run
// logs (reproduce-results.ts) and writes docs/results.md (reproduce-document.ts) with its
// convergence plots as SVG and PNG (export-plots.ts).
// Flow: pipelines/reproduce/*.align → stage runs → run logs → **docs/results.md + plots**.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { FileError } from '../errors.js';
import { writePlotFiles } from './export-plots.js';
import type { Budget } from './reproduce-budgets.js';
import { resultsMarkdown } from './reproduce-document.js';
import { executeMatrix, type ExecuteSummary, type StageExecutor } from './reproduce-execute.js';
import { buildMatrix, type DetectorId, type Matrix, type SettingId } from './reproduce-matrix.js';
import { collectResults, groupPlot, type ReproduceResults } from './reproduce-results.js';

export interface ReproduceOptions {
  readonly root: string;
  readonly budget: Budget;
  readonly detectors: readonly DetectorId[];
  readonly seeds?: readonly number[];
  readonly fractions?: readonly number[];
  readonly settings?: readonly SettingId[];
  /** Run directories go under here (one folder per detector and seed). */
  readonly outDir: string;
  readonly resultsFile: string;
  readonly plotDir: string;
  readonly jobs: number;
  readonly executor: StageExecutor;
  /** Once true, no further run starts (Ctrl-C). */
  readonly stopped?: () => boolean;
  readonly command: string;
  readonly say: (line: string) => void;
  /** Only aggregate what is on disk; run nothing. */
  readonly collectOnly?: boolean;
}

export interface ReproduceOutcome {
  readonly matrix: Matrix;
  readonly execution: ExecuteSummary | undefined;
  readonly results: ReproduceResults;
  readonly markdown: string;
}

export async function reproduce(o: ReproduceOptions): Promise<ReproduceOutcome> {
  const t0 = performance.now();
  const matrix = buildMatrix(o);
  o.say(
    `reproduce: budget ${o.budget.name}, ${matrix.runs.length} stage runs under ${o.outDir}, ${o.jobs} at a time`,
  );
  const execution = o.collectOnly
    ? undefined
    : await executeMatrix(matrix.runs, {
        jobs: o.jobs,
        executor: o.executor,
        say: o.say,
        ...(o.stopped === undefined ? {} : { stopped: o.stopped }),
      });
  const results = collectResults(matrix);
  const text = resultsMarkdown(matrix, results, {
    command: o.command,
    date: new Date(),
    elapsedSeconds: (performance.now() - t0) / 1000,
    collectOnly: o.collectOnly === true,
    jobs: o.jobs,
    docDir: dirname(o.resultsFile),
    plotDir: o.plotDir,
  });
  // Formatted as `npm run lint` checks docs (Prettier, the repository's settings).
  const markdown = await format(text, {
    ...((await resolveConfig(o.resultsFile)) ?? {}),
    parser: 'markdown',
  });
  await writePlotFiles(
    o.plotDir,
    results.groups
      .filter((g) => g.comparison.settings.length > 0)
      .map((g) => ({ id: g.plotId, svg: groupPlot(g) })),
  );
  try {
    mkdirSync(dirname(o.resultsFile), { recursive: true });
    writeFileSync(o.resultsFile, markdown);
  } catch (error) {
    throw new FileError(`cannot write ${o.resultsFile}: ${String(error)}`, { cause: error });
  }
  o.say(`reproduce: wrote ${o.resultsFile} and ${results.groups.length} plots in ${o.plotDir}`);
  return { matrix, execution, results, markdown };
}
