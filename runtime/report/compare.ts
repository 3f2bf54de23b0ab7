// Comparison of several runs (runtime/report: run logs of one experiment → the table and the
// convergence plot of docs/results.md, written by the reproduction script). Runs are grouped by a
// setting (e.g. "retinanet / aligndet"); per setting: mean ± sample standard deviation over seeds
// of the final AP and AP50 of one stage, and of AP at chosen fine-tune iterations.

import type { RunLog } from '../io/run-log-reader.js';
import type { EvalRecord } from '../io/run-log.js';
import { seriesColour } from './colours.js';
import { linePlot, type LinePlot } from './svg-plot.js';

export interface ComparedRun {
  /** The group this run belongs to; runs of one setting differ only in their seed. */
  readonly setting: string;
  readonly log: RunLog;
  /** The stage whose evaluations count for this run; default the comparison's `stage`. */
  readonly stage?: string;
}

/** Mean and sample standard deviation (n − 1 in the denominator; NaN when n < 2). */
export interface MeanStd {
  readonly mean: number;
  readonly std: number;
  readonly n: number;
}

export interface SettingSummary {
  readonly setting: string;
  /** The header seeds of the runs, in input order. */
  readonly seeds: readonly number[];
  /** From each run's last evaluation in the stage. */
  readonly ap: MeanStd;
  readonly ap50: MeanStd;
  /** AP at each of the comparison's iterations, over the runs that evaluated at that step. */
  readonly apAt: readonly MeanStd[];
}

export interface Comparison {
  readonly stage: string;
  readonly iterations: readonly number[];
  readonly settings: readonly SettingSummary[];
}

export interface CompareOptions {
  /** The stage whose evaluations are compared, e.g. `finetune`. */
  readonly stage: string;
  /** Steps for the convergence columns; default: every step at which all runs evaluated. */
  readonly iterations?: readonly number[];
}

/** Mean and sample std of the values that are measured (finite and not pycocotools' -1). */
export function meanStd(values: readonly number[]): MeanStd {
  const v = values.filter((x) => Number.isFinite(x) && x !== -1);
  const n = v.length;
  if (n === 0) return { mean: NaN, std: NaN, n };
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const std = n < 2 ? NaN : Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  return { mean, std, n };
}

/** A setting name from a run header's settings, e.g. `settingOf(log, ['detector', 'init'])`. */
export function settingOf(log: RunLog, keys: readonly string[]): string {
  return keys.map((k) => String(log.header.settings[k] ?? '?')).join(' / ');
}

function evalsOf(log: RunLog, stage: string): EvalRecord[] {
  return log.evals.filter((e) => e.stage === stage);
}

export function compareRuns(runs: readonly ComparedRun[], options: CompareOptions): Comparison {
  const { stage } = options;
  const evalsOfRun = (r: ComparedRun) => evalsOf(r.log, r.stage ?? stage);
  let iterations = options.iterations;
  if (iterations === undefined) {
    const stepSets = runs.map((r) => new Set(evalsOfRun(r).map((e) => e.step)));
    iterations = [...(stepSets[0] ?? [])]
      .filter((s) => stepSets.every((set) => set.has(s)))
      .sort((a, b) => a - b);
  }
  const its = iterations;
  const settings: SettingSummary[] = [];
  for (const setting of [...new Set(runs.map((r) => r.setting))]) {
    const group = runs.filter((r) => r.setting === setting);
    const last = group.map((r) => evalsOfRun(r).at(-1));
    settings.push({
      setting,
      seeds: group.map((r) => r.log.header.seed),
      ap: meanStd(last.map((e) => e?.stats.AP ?? NaN)),
      ap50: meanStd(last.map((e) => e?.stats.AP50 ?? NaN)),
      apAt: its.map((step) =>
        meanStd(group.map((r) => evalsOfRun(r).find((e) => e.step === step)?.stats.AP ?? NaN)),
      ),
    });
  }
  return { stage, iterations: its, settings };
}

/** "50.9 ± 1.2" in AP points (× 100); "n/a" when nothing was measured; std omitted for n = 1. */
export function formatMeanStd(m: MeanStd, expectedN?: number): string {
  if (m.n === 0) return 'n/a';
  const mean = (m.mean * 100).toFixed(1);
  const body = Number.isNaN(m.std) ? mean : `${mean} ± ${(m.std * 100).toFixed(1)}`;
  return expectedN !== undefined && m.n < expectedN ? `${body} (n=${m.n})` : body;
}

/** A Markdown table: setting, seeds, AP, AP50, then AP at each iteration. */
export function comparisonMarkdown(c: Comparison): string {
  const head = ['setting', 'seeds', 'AP', 'AP50', ...c.iterations.map((i) => `AP @ ${i}`)];
  const rows = c.settings.map((s) => [
    s.setting,
    s.seeds.join(', '),
    formatMeanStd(s.ap, s.seeds.length),
    formatMeanStd(s.ap50, s.seeds.length),
    ...s.apAt.map((m) => formatMeanStd(m, s.seeds.length)),
  ]);
  const line = (cells: readonly string[]) =>
    `| ${cells.map((x) => x.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(head), line(head.map((_, i) => (i < 2 ? '---' : '---:'))), ...rows.map(line)].join(
    '\n',
  );
}

/** Mean AP against iteration per setting, with a ± 1 std band, as an SVG plot. */
export function comparisonPlot(c: Comparison, title: string): LinePlot {
  return linePlot({
    title,
    xLabel: `${c.stage} step`,
    yLabel: 'AP',
    yRange: [0, 0.1],
    series: c.settings.map((s, i) => {
      const points = c.iterations.flatMap((x, j) =>
        s.apAt[j].n > 0 ? [{ x, y: s.apAt[j].mean, std: s.apAt[j].std }] : [],
      );
      return {
        name: `${s.setting} (n=${s.seeds.length})`,
        colour: seriesColour(i),
        points: points.map(({ x, y }) => ({ x, y })),
        band: points
          .filter((p) => !Number.isNaN(p.std))
          .map((p) => ({ x: p.x, low: p.y - p.std, high: p.y + p.std })),
      };
    }),
  });
}
