// The run log: one JSON object per line in `runs/NAME/log.jsonl`, written by a training run (the
// runtime end of the flow: stages → steps → this log) and read by `alignc report` and the
// reproduction script. This file is the format's contract: the record types, their field meanings
// and the JSON encoding of numbers. Writing is run-log-writer.ts, reading run-log-reader.ts,
// the field-by-field check both use is run-log-check.ts. docs/reports.md describes it for users.
//
// Records, in file order:
//   header      exactly one, first: who/what/where/when of the run
//   step        one per logged optimizer step: losses, learning rate, throughput, time split
//   eval        one per evaluation: the COCO numbers runtime/eval produced
//   checkpoint  one per checkpoint written
//   end         at most one, last: completed / interrupted / failed (absent while running or
//               when the process was killed before it could say)
//
// Numbers: JSON has no NaN or ±Infinity, yet a diverging loss is exactly what a log must show. In
// every numeric field of a step or eval record the strings "NaN", "Infinity" and "-Infinity"
// stand for those values; the reader turns them back into numbers.

import type { CategoryReport, BboxEvalReport } from '../eval/coco-eval.js';
import { COCO_STAT_NAMES, type CocoStatName } from '../eval/summarize.js';

/** The value of every header's `format` field; bumped when a reader could misread a new log. */
export const RUN_LOG_FORMAT = 'alignc-run-log/1';

/** The file name of the log inside a run directory. */
export const RUN_LOG_FILE = 'log.jsonl';

export interface MachineDescription {
  /** `process.platform`-`process.arch`, e.g. `linux-x64`. */
  readonly platform: string;
  /** CPU model string and logical core count. */
  readonly cpu: string;
  readonly cpuCount: number;
  readonly memoryBytes: number;
  /** `process.version`, e.g. `v20.19.0`. */
  readonly node: string;
  /** The WebGPU adapter as `alignc doctor` names it (vendor, architecture, driver), or null. */
  readonly adapter: string | null;
}

export interface RunHeader {
  readonly kind: 'header';
  readonly format: typeof RUN_LOG_FORMAT;
  /** Unique without git: UTC start time plus random hex, e.g. `20261127T101324Z-3fa9c1`. */
  readonly runId: string;
  /** The run's name, usually the run directory's name. */
  readonly name: string;
  /** The `.align` file as given on the command line, and the SHA-256 of its text at start. */
  readonly pipeline: string;
  readonly pipelineSha256: string;
  readonly seed: number;
  /** `process.argv` from the command name on, e.g. `["alignc", "run", "x.align"]`. */
  readonly command: readonly string[];
  readonly machine: MachineDescription;
  /** ISO 8601 UTC. Every record's `wallSeconds` counts from here. */
  readonly startedAt: string;
  /** Free-form settings worth showing in the report (detector, labelled fraction, budget…). */
  readonly settings: Readonly<Record<string, string | number | boolean>>;
}

/** Shares of one step's wall time; they need not sum to exactly 1 (the rest is "other"). */
export interface StepTimeShare {
  readonly data: number;
  readonly forward: number;
  readonly backward: number;
  readonly optimizer: number;
}

export interface StepRecord {
  readonly kind: 'step';
  /** The pipeline stage, e.g. `box_domain`, `finetune`. */
  readonly stage: string;
  /** Optimizer steps done in this stage, counting from 1; strictly increasing within a stage. */
  readonly step: number;
  /** 0-based epoch the step belongs to (an integer). */
  readonly epoch: number;
  /** Seconds since the header's `startedAt`. */
  readonly wallSeconds: number;
  readonly lr: number;
  /**
   * Each named loss term as it enters the objective (already weighted), for this step. The
   * objective is their sum; the report plots each term and the sum.
   */
  readonly losses: Readonly<Record<string, number>>;
  /**
   * The global L2 norm of the gradients before clipping (absent in logs written before it was
   * recorded); a run that diverges or stops learning usually shows it here first.
   */
  readonly gradNorm?: number;
  readonly imagesPerSecond: number;
  readonly timeShare: StepTimeShare;
}

/** The part of runtime/eval's BboxEvalReport a log keeps (no counts' image ids). */
export interface EvalNumbers {
  /** The 12 COCO stats by name; -1 where nothing could be measured (as pycocotools). */
  readonly stats: Readonly<Record<CocoStatName, number>>;
  readonly perCategory: readonly CategoryReport[];
  readonly vocAp50: number;
  readonly counts: BboxEvalReport['counts'];
}

export interface EvalRecord extends EvalNumbers {
  readonly kind: 'eval';
  readonly stage: string;
  /** The stage's step count when evaluated (0 = before any training). */
  readonly step: number;
  readonly wallSeconds: number;
  /** The split or ground-truth file evaluated on, e.g. `val`. */
  readonly split: string;
}

export interface CheckpointRecord {
  readonly kind: 'checkpoint';
  readonly stage: string;
  readonly step: number;
  readonly wallSeconds: number;
  /** Relative to the run directory, e.g. `checkpoints/finetune-500.safetensors`. */
  readonly path: string;
}

export const RUN_END_STATUSES = ['completed', 'interrupted', 'failed'] as const;
export type RunEndStatus = (typeof RUN_END_STATUSES)[number];

export interface EndRecord {
  readonly kind: 'end';
  readonly status: RunEndStatus;
  readonly wallSeconds: number;
  /** Why it stopped, for `interrupted` (e.g. `SIGINT`) and `failed` (the error message). */
  readonly message: string | null;
}

/** Every record after the header. */
export type RunBodyRecord = StepRecord | EvalRecord | CheckpointRecord | EndRecord;
export type RunRecord = RunHeader | RunBodyRecord;
export type RunRecordKind = RunRecord['kind'];
export const RUN_RECORD_KINDS: readonly RunRecordKind[] = [
  'header',
  'step',
  'eval',
  'checkpoint',
  'end',
];

/** The eval record fields from a report of runtime/eval's `evaluateBbox`. */
export function evalNumbersOf(report: BboxEvalReport): EvalNumbers {
  return {
    stats: report.byName,
    perCategory: report.perCategory,
    vocAp50: report.vocAp50,
    counts: report.counts,
  };
}

export { COCO_STAT_NAMES, type CocoStatName };

/** JSON text of one record, non-finite numbers as "NaN" / "Infinity" / "-Infinity", no newline. */
export function encodeRunRecord(record: RunRecord): string {
  return JSON.stringify(record, (_key, value: unknown) =>
    typeof value === 'number' && !Number.isFinite(value) ? String(value) : value,
  );
}
