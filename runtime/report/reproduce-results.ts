// The results of the BCCD reproduction (runtime/report, the end of `alignc reproduce`): reads the
// fine-tuning run directories of the matrix (every log file of each, merged), groups them per
// detector and labelled fraction, and aggregates per setting with compare.ts — mean ± sample std
// over seeds of the final AP and AP50, AP at each evaluated iteration — plus the per-seed paired
// differences of each pre-trained setting against random init and of AlignDet against
// image-domain only. `resultsMarkdown` writes
// docs/results.md from that; the convergence plots go next to it as SVG and PNG.
// Flow: run logs → **aggregation** → docs/results.md + docs/results/*.svg|png.

import { AlignError } from '../errors.js';
import type { RunLog } from '../io/run-log-reader.js';
import type { EndRecord, RunEndStatus } from '../io/run-log.js';
import { listCheckpoints } from '../train/checkpoint.js';
import {
  compareRuns,
  comparisonMarkdown,
  comparisonPlot,
  meanStd,
  type ComparedRun,
  type Comparison,
  type MeanStd,
} from './compare.js';
import { readRunDirLog, segmentWallSeconds, type MergedRunLog } from './merged-run-log.js';
import {
  SETTINGS,
  type DetectorId,
  type Matrix,
  type SettingId,
  type StageRun,
} from './reproduce-matrix.js';

const label = (id: SettingId) => SETTINGS.find((s) => s.id === id)?.label ?? id;

/**
 * A setting against a baseline setting, seed by seed (same seed = same data and subset): each
 * pre-trained setting against random init, and AlignDet against image-domain only — the paper's
 * own claim (box-domain pre-training on top of an image-domain backbone).
 */
export interface PairedDifference {
  readonly setting: SettingId;
  readonly baseline: SettingId;
  /** AP(setting) − AP(baseline) of the seeds both finished, and their mean ± std. */
  readonly differences: readonly number[];
  readonly ap: MeanStd;
  /** How many of those seeds the setting is above the baseline. */
  readonly better: number;
}

/** The comparisons reported, in order: (b) − (a), (c) − (a), (c) − (b). */
const PAIRS: readonly (readonly [SettingId, SettingId])[] = [
  ['image', 'scratch'],
  ['aligndet', 'scratch'],
  ['aligndet', 'image'],
];

export interface GroupResult {
  readonly detector: DetectorId;
  readonly fraction: number;
  readonly comparison: Comparison;
  readonly paired: readonly PairedDifference[];
  /** Settings of the matrix with no finished run in this group. */
  readonly missing: readonly SettingId[];
  readonly plotId: string;
}

export interface ReproduceResults {
  readonly groups: readonly GroupResult[];
  /** Sum of every run's own wall time (pre-training and fine-tuning), seconds. */
  readonly runSeconds: number;
  /** Wall seconds per fine-tuning run, for the budget table. */
  readonly finetuneSeconds: MeanStd;
  readonly pretrainSeconds: MeanStd;
  /** One header of the runs (machine, start time), or undefined when nothing ran. */
  readonly anyLog: RunLog | undefined;
  /** Every backend the runs used, as `name` or `name on adapter`, sorted. */
  readonly backends: readonly string[];
  readonly unfinished: readonly string[];
  /** What the fine-tuning runs were evaluated on (from one of their eval records). */
  readonly evaluatedOn:
    { readonly split: string; readonly images: number; readonly boxes: number } | undefined;
}

function lastEvalAp(log: RunLog, stage: string): number | undefined {
  return log.evals.filter((e) => e.stage === stage).at(-1)?.stats.AP;
}

/** The paired differences of PAIRS, for the pairs where both settings have runs of a seed. */
export function pairedDifferences(
  runs: readonly (ComparedRun & { id: SettingId })[],
): PairedDifference[] {
  const apBySeed = (id: SettingId) =>
    new Map(
      runs
        .filter((r) => r.id === id)
        .flatMap((r) => {
          const ap = lastEvalAp(r.log, r.stage ?? '');
          return ap === undefined || !Number.isFinite(ap) ? [] : [[r.log.header.seed, ap] as const];
        }),
    );
  const out: PairedDifference[] = [];
  for (const [setting, baseline] of PAIRS) {
    const mine = apBySeed(setting);
    const base = apBySeed(baseline);
    const differences = [...mine].flatMap(([seed, ap]) => {
      const b = base.get(seed);
      return b === undefined ? [] : [ap - b];
    });
    // Without a baseline run of the same seed there is nothing to pair with.
    if (differences.length === 0) continue;
    out.push({
      setting,
      baseline,
      differences,
      ap: meanStd(differences),
      better: differences.filter((d) => d > 0).length,
    });
  }
  return out;
}

function lastEnd(log: RunLog): EndRecord | undefined {
  for (let i = log.records.length - 1; i >= 0; i--) {
    const r = log.records[i];
    if (r.kind === 'end') return r;
  }
  return undefined;
}

function endStatus(log: RunLog): RunEndStatus | undefined {
  return lastEnd(log)?.status;
}

/** ` (failed: why)` for a run whose log ends in failure or interruption, else nothing. */
function stopReason(log: RunLog): string {
  const end = lastEnd(log);
  if (end === undefined || end.status === 'completed') return '';
  return ` (${end.status}${end.message ? `: ${end.message.split('\n')[0]}` : ''})`;
}

/** Reads the finished runs of the matrix and aggregates them. */
export function collectResults(matrix: Matrix): ReproduceResults {
  const unfinished: string[] = [];
  const logs = new Map<string, RunLog>();
  let runSeconds = 0;
  const ftSeconds: number[] = [];
  const ptSeconds: number[] = [];
  const seenDirs = new Set<string>();
  const finishedIds = new Set<string>();
  for (const run of matrix.runs) {
    let log: MergedRunLog;
    try {
      log = readRunDirLog(run.runDir);
    } catch (error) {
      // No run directory, or one whose run never wrote a readable log: not finished.
      if (!(error instanceof AlignError)) throw error;
      unfinished.push(run.id);
      continue;
    }
    logs.set(run.id, log);
    const stageSeconds = log.segments
      .filter((g) => g.steps.some((s) => s.stage === run.stage))
      .reduce((t, g) => t + segmentWallSeconds(g), 0);
    (run.kind === 'finetune' ? ftSeconds : ptSeconds).push(stageSeconds);
    if (!seenDirs.has(run.runDir)) {
      seenDirs.add(run.runDir);
      runSeconds += log.segments.reduce((t, g) => t + segmentWallSeconds(g), 0);
    }
    // A fine-tuning run (its own directory, one stage) is finished when its log ends `completed`
    // with an evaluation: one stopped early (e.g. by the NaN guard) may have logged evaluations
    // already, and those are not its result. Pre-training: the stage's complete checkpoint.
    const finished =
      run.kind === 'finetune'
        ? lastEvalAp(log, run.stage) !== undefined && endStatus(log) === 'completed'
        : listCheckpoints(run.runDir).some((c) => c.meta.stage === run.stage && c.meta.complete);
    if (finished) finishedIds.add(run.id);
    else unfinished.push(run.id + stopReason(log));
  }
  const groups: GroupResult[] = [];
  for (const d of matrix.detectors)
    for (const fraction of [...new Set(matrix.runs.map((r) => r.fraction))]) {
      if (fraction === undefined) continue;
      const mine = matrix.runs.filter(
        (r): r is StageRun & { setting: SettingId } =>
          r.kind === 'finetune' &&
          r.detector === d.detector &&
          r.fraction === fraction &&
          r.setting !== undefined &&
          finishedIds.has(r.id),
      );
      const compared = mine.map((r) => ({
        id: r.setting,
        setting: label(r.setting),
        stage: r.stage,
        log: logs.get(r.id)!,
      }));
      const comparison = compareRuns(compared, { stage: 'fine-tuning' });
      groups.push({
        detector: d.detector,
        fraction,
        comparison,
        paired: pairedDifferences(compared),
        missing: d.settings.filter((s) => !mine.some((r) => r.setting === s)),
        plotId: `${d.detector}-${fraction}pct`,
      });
    }
  const anEval = matrix.runs
    .filter((r) => r.kind === 'finetune')
    .flatMap((r) => logs.get(r.id)?.evals.filter((e) => e.stage === r.stage) ?? [])
    .at(0);
  return {
    groups,
    runSeconds,
    evaluatedOn:
      anEval === undefined
        ? undefined
        : { split: anEval.split, images: anEval.counts.images, boxes: anEval.counts.groundTruth },
    finetuneSeconds: meanStd(ftSeconds),
    pretrainSeconds: meanStd(ptSeconds),
    anyLog: logs.values().next().value,
    backends: backendsOf(logs.values()),
    unfinished,
  };
}

/** The distinct backends in the logs' headers (`alignc run` records `settings.backend`). */
function backendsOf(logs: Iterable<RunLog>): string[] {
  const seen = new Set<string>();
  for (const log of logs) {
    const name = String(log.header.settings.backend ?? 'unknown backend');
    const adapter = log.header.machine.adapter;
    seen.add(adapter === null ? name : `${name} on ${adapter}`);
  }
  return [...seen].sort();
}

export const DETECTOR_NAMES: Readonly<Record<DetectorId, string>> = {
  retinanet: 'RetinaNet',
  fcos: 'FCOS',
};

/** The convergence plot of one group: mean AP against fine-tuning step, ± 1 std band. */
export function groupPlot(g: GroupResult): string {
  return comparisonPlot(
    g.comparison,
    `${DETECTOR_NAMES[g.detector]}, ${g.fraction} % of BCCD train labelled`,
  ).svg;
}

function points(m: MeanStd): string {
  if (m.n === 0) return 'n/a';
  const mean = `${m.mean >= 0 ? '+' : ''}${(m.mean * 100).toFixed(1)}`;
  return Number.isNaN(m.std) ? mean : `${mean} ± ${(m.std * 100).toFixed(1)}`;
}

/** The per-group section: the table, the plot, the paired differences. */
export function groupMarkdown(g: GroupResult, plotPath: string): string {
  const lines = [
    `### ${DETECTOR_NAMES[g.detector]}, ${g.fraction} % labels`,
    '',
    g.comparison.settings.length === 0 ? '_No finished run._' : comparisonMarkdown(g.comparison),
    '',
  ];
  for (const p of g.paired)
    lines.push(
      `- ${label(p.setting)} − ${label(p.baseline)}, paired by seed: **${points(p.ap)} AP points** ` +
        `(higher in ${p.better} of ${p.differences.length} seeds; per seed ${p.differences.map((d) => (d * 100).toFixed(1)).join(', ')}).`,
    );
  for (const m of g.missing) lines.push(`- ${label(m)}: no finished run.`);
  if (g.comparison.settings.length > 0) lines.push('', `![${g.plotId}](${plotPath})`);
  return lines.join('\n');
}
