// One run directory's log as one RunLog (runtime/report: `RUN/log.jsonl` + `RUN/log.resume-N.jsonl`
// → this merge → the HTML report and the reproduction's aggregation). A resumed run or a
// `--stage` run in an existing directory writes its own log file (runtime/train/run-log-files.ts);
// read alone, `log.jsonl` would miss everything done after the first process ended.
//
// Merge rules, segment by segment in writing order:
// - a later segment's steps of a stage replace the earlier segments' steps of that stage from its
//   first step on (a resume repeats the steps after its checkpoint), and their evaluations at
//   those steps;
// - an evaluation replaces an earlier one of the same stage and step;
// - checkpoint records are all kept; the end record is the last segment's;
// - `wallSeconds` are moved onto the first header's clock (each segment counts from its own
//   `startedAt`), so the merged records share one time axis; the gaps between processes are in it.

import { join } from 'node:path';
import { FileError } from '../errors.js';
import { readRunLog, type RunLog } from '../io/run-log-reader.js';
import { RUN_LOG_FILE, type RunBodyRecord } from '../io/run-log.js';
import { runLogFiles } from '../train/run-log-files.js';

export interface MergedRunLog extends RunLog {
  /** The logs it was merged from, in writing order (one for a run that was never continued). */
  readonly segments: readonly RunLog[];
}

/** Seconds of each segment's own clock: its last record's `wallSeconds`. */
export function segmentWallSeconds(log: RunLog): number {
  let t = 0;
  for (const r of log.records) t = Math.max(t, r.wallSeconds);
  return t;
}

function startSeconds(log: RunLog): number {
  const t = Date.parse(log.header.startedAt);
  return Number.isFinite(t) ? t / 1000 : 0;
}

function shifted(r: RunBodyRecord, by: number): RunBodyRecord {
  return by === 0 ? r : { ...r, wallSeconds: r.wallSeconds + by };
}

/** Merges the logs of one run directory, given in writing order. */
export function mergeRunLogs(segments: readonly RunLog[]): MergedRunLog {
  const first = segments[0];
  if (first === undefined) throw new Error('mergeRunLogs needs at least one log');
  const t0 = startSeconds(first);
  let merged: RunBodyRecord[] = [];
  for (const segment of segments) {
    const firstStep = new Map<string, number>();
    for (const s of segment.steps) if (!firstStep.has(s.stage)) firstStep.set(s.stage, s.step);
    const evalKeys = new Set(segment.evals.map((e) => `${e.stage}\u0000${e.step}`));
    merged = merged.filter((r) => {
      if (r.kind === 'end') return false;
      if (r.kind === 'checkpoint') return true;
      const from = firstStep.get(r.stage);
      if (from !== undefined && r.step >= from) return false;
      return !(r.kind === 'eval' && evalKeys.has(`${r.stage}\u0000${r.step}`));
    });
    const offset = Math.max(0, startSeconds(segment) - t0);
    merged.push(...segment.records.map((r) => shifted(r, offset)));
  }
  // Earlier segments' end records were dropped above: only the last one says how the run stopped.
  const last = segments[segments.length - 1];
  const records = merged;
  const end = records.find((r) => r.kind === 'end') ?? null;
  return {
    path: first.path,
    header: first.header,
    records,
    steps: records.filter((r) => r.kind === 'step'),
    evals: records.filter((r) => r.kind === 'eval'),
    checkpoints: records.filter((r) => r.kind === 'checkpoint'),
    end,
    truncatedLastLine: last.truncatedLastLine,
    segments,
  };
}

/** Reads every log file of `runDir` and merges them (see the rules above). */
export function readRunDirLog(runDir: string): MergedRunLog {
  const files = runLogFiles(runDir);
  if (files.length === 0)
    throw new FileError(`cannot read the run log '${join(runDir, RUN_LOG_FILE)}': no such file`, {
      hint: 'give a run directory written by `alignc run`',
    });
  return mergeRunLogs(files.map(readRunLog));
}
