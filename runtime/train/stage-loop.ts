// The training loop of one pipeline stage (runtime/train; what `alignc run` drives for each stage
// after lowering has produced its step): pulls batches in a deterministic order, runs the step,
// checks every loss term (NaN/Inf guard), reports progress, logs a step record with the time share
// of data / forward / backward / optimizer, checkpoints every N steps and at the stage end, and stops
// cleanly on Ctrl-C. `resumeFrom` continues a checkpointed stage exactly: tensors, data position
// (epoch, batch), schedules and random streams are all restored or re-derived from the seed.
// Flow: lowered stage → **loop** (batches → step → guard → log / checkpoint) → next stage.

import { relative } from 'node:path';
import { Rng } from '../rng.js';
import type { CheckpointRecord, StepRecord } from '../io/run-log.js';
import { scheduleValue } from '../optim/schedules.js';
import {
  CHECKPOINT_FORMAT,
  listCheckpoints,
  pruneCheckpoints,
  saveCheckpoint,
  type CheckpointMeta,
  type LoadedCheckpoint,
  type LrScheduleSpec,
  type TensorGroups,
} from './checkpoint.js';
import { ResumeError, TrainSetupError } from './errors.js';
import { checkLosses, checkStateFinite } from './guard.js';
import type { ProgressReporter } from './progress.js';
import type { StopSignal } from './stop-signal.js';

export interface StepContext {
  readonly stage: string;
  /** 1-based number of this optimizer step in the stage. */
  readonly step: number;
  readonly totalSteps: number;
  readonly epoch: number;
  readonly lr: number;
  /** The Philox stream of this step: (seed, 'stage', stage, 'step', step). */
  readonly rng: Rng;
}

export interface StepResult {
  /** Each loss term as it enters the objective. */
  readonly losses: Readonly<Record<string, number>>;
  /** The global L2 norm of the gradients before clipping, where the step computes it. */
  readonly gradNorm?: number;
  readonly images: number;
  readonly seconds: {
    readonly data: number;
    readonly forward: number;
    readonly backward: number;
    readonly optimizer: number;
  };
}

/** A stage's step with its state: what the loop runs and checkpoints. */
export interface TrainableStep<B> {
  run(batch: B, ctx: StepContext): Promise<StepResult>;
  groups(): TensorGroups;
  restore(groups: TensorGroups): void;
  /** Settings a resume must match (compared as JSON). */
  setup(): Record<string, unknown>;
  /** EMA base momentum, or null when the stage has no momentum network. */
  readonly momentumBase: number | null;
  momentumAt?(ctx: StepContext): number;
}

/** Batches of an epoch, always the same for the same epoch (runtime/data's DataLoader is one). */
export interface BatchSource<B> {
  epoch(epoch: number): AsyncIterable<B>;
}

/** The part of RunLogWriter (runtime/io/run-log-writer.ts) the loop writes. */
export interface StageLog {
  step(fields: Omit<StepRecord, 'kind'>): void;
  checkpoint(fields: Omit<CheckpointRecord, 'kind'>): void;
}

export interface StageOptions {
  readonly runDir: string;
  readonly stage: string;
  readonly totalSteps: number;
  /** Checkpoint every this many steps (0 = only at the stage end). */
  readonly checkpointEvery: number;
  /** Periodic checkpoints of the stage kept on disk (the end-of-stage one is always kept). */
  readonly keepCheckpoints?: number;
  readonly seed: number;
  readonly lr: LrScheduleSpec;
  readonly log?: StageLog;
  readonly progress?: ProgressReporter;
  readonly stop?: StopSignal;
  /** Seconds since the run log's header `startedAt`. */
  readonly clock?: () => number;
  readonly resumeFrom?: LoadedCheckpoint;
  /** Called after each step (tests use it to observe or kill mid-run). */
  readonly afterStep?: (step: number, result: StepResult) => void | Promise<void>;
}

export interface StageResult {
  readonly status: 'completed' | 'interrupted';
  /** Steps done in the stage. */
  readonly step: number;
  readonly lastCheckpoint: string | null;
  /** The loss terms of the last step run by this process, if any. */
  readonly lastLosses: Readonly<Record<string, number>> | undefined;
}

function checkResume<B>(
  step: TrainableStep<B>,
  options: StageOptions,
  from: LoadedCheckpoint,
): void {
  const m = from.meta;
  const problems: string[] = [];
  if (m.stage !== options.stage)
    problems.push(`it is of stage '${m.stage}', not '${options.stage}'`);
  if (m.totalSteps !== options.totalSteps)
    problems.push(`it was made for ${m.totalSteps} steps, not ${options.totalSteps}`);
  if (m.rng.seed !== options.seed) problems.push(`its seed is ${m.rng.seed}, not ${options.seed}`);
  if (JSON.stringify(m.lr) !== JSON.stringify(options.lr))
    problems.push('its learning-rate schedule differs');
  const a = m.setup;
  const b = step.setup();
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key]))
      problems.push(`its '${key}' setting differs`);
  }
  if (problems.length > 0)
    throw new ResumeError(`cannot resume from ${from.path}: ${problems.join('; ')}`, {
      hint: 'resume with the same pipeline, parameters and seed, or start a new run',
    });
}

/** Runs (or resumes) one stage to its end, or until stopped. Throws NonFiniteLossError on NaN/Inf. */
export async function runStage<B>(
  step: TrainableStep<B>,
  data: BatchSource<B>,
  options: StageOptions,
): Promise<StageResult> {
  if (!Number.isInteger(options.totalSteps) || options.totalSteps < 1)
    throw new TrainSetupError(`stage ${options.stage}: total steps must be a positive integer`);
  const clock = options.clock ?? (() => performance.now() / 1000);
  let done = 0;
  let epoch = 0;
  let batchIndex = 0;
  let lastCheckpoint: string | null = null;
  let lastLr: number | null = null;
  let lastMomentum: number | null = null;
  let lastLosses: Record<string, number> | undefined;
  let sequence = listCheckpoints(options.runDir).reduce((s, c) => Math.max(s, c.meta.sequence), 0);
  const from = options.resumeFrom;
  if (from !== undefined) {
    checkResume(step, options, from);
    step.restore(from.groups);
    ({ step: done, epoch, batchIndex, lastLr, lastMomentum } = from.meta);
    lastCheckpoint = from.path;
    sequence = Math.max(sequence, from.meta.sequence);
    if (from.meta.complete)
      return { status: 'completed', step: done, lastCheckpoint, lastLosses: undefined };
  }

  const save = (complete: boolean): string => {
    checkStateFinite(options.stage, done, step.groups(), lastCheckpoint);
    const meta: CheckpointMeta = {
      format: CHECKPOINT_FORMAT,
      sequence: ++sequence,
      stage: options.stage,
      step: done,
      totalSteps: options.totalSteps,
      epoch,
      batchIndex,
      complete,
      rng: { generator: 'philox4x32-10', seed: options.seed },
      lr: options.lr,
      momentum: step.momentumBase === null ? null : { base: step.momentumBase },
      lastLr,
      lastMomentum,
      setup: step.setup(),
      groups: Object.fromEntries([...step.groups()].map(([p, g]) => [p, [...g.keys()]])),
      wallSeconds: clock(),
    };
    const path = saveCheckpoint(options.runDir, meta, step.groups());
    lastCheckpoint = path;
    options.log?.checkpoint({
      stage: options.stage,
      step: done,
      wallSeconds: clock(),
      path: relative(options.runDir, path),
    });
    if (!complete) pruneCheckpoints(options.runDir, options.stage, options.keepCheckpoints ?? 2);
    return path;
  };

  const root = Rng.fromSeed(options.seed).child('stage', options.stage);
  while (done < options.totalSteps) {
    const iterator = data.epoch(epoch)[Symbol.asyncIterator]();
    let pulled = 0;
    try {
      // Resume inside an epoch: the epoch's batches are the same every time, so skip those done.
      for (let i = 0; i < batchIndex; i++) {
        if ((await iterator.next()).done === true) break;
      }
      for (;;) {
        if (done >= options.totalSteps) break;
        if (options.stop?.reason !== undefined) {
          const path = save(false);
          options.progress?.finish();
          return { status: 'interrupted', step: done, lastCheckpoint: path, lastLosses };
        }
        const fetchStart = performance.now();
        const next = await iterator.next();
        const fetchSeconds = (performance.now() - fetchStart) / 1000;
        if (next.done === true) break;
        pulled++;
        const stepNo = done + 1;
        const lr = scheduleValue(
          options.lr.base,
          options.lr.schedule,
          stepNo - 1,
          options.lr.warmup,
        );
        const ctx: StepContext = {
          stage: options.stage,
          step: stepNo,
          totalSteps: options.totalSteps,
          epoch,
          lr,
          rng: root.child('step', stepNo),
        };
        const result = await step.run(next.value, ctx);
        const s = result.seconds;
        const dataSeconds = s.data + fetchSeconds;
        const total = dataSeconds + s.forward + s.backward + s.optimizer;
        const ips = result.images / Math.max(total, 1e-9);
        // Logged before the guard: a diverging step is exactly what the log must show.
        options.log?.step({
          stage: options.stage,
          step: stepNo,
          epoch,
          wallSeconds: clock(),
          lr,
          losses: result.losses,
          ...(result.gradNorm === undefined ? {} : { gradNorm: result.gradNorm }),
          imagesPerSecond: ips,
          timeShare: {
            data: dataSeconds / total,
            forward: s.forward / total,
            backward: s.backward / total,
            optimizer: s.optimizer / total,
          },
        });
        options.progress?.update({
          stage: options.stage,
          step: stepNo,
          totalSteps: options.totalSteps,
          losses: result.losses,
          imagesPerSecond: ips,
          stepSeconds: total,
        });
        checkLosses(options.stage, stepNo, result.losses, lastCheckpoint);
        done = stepNo;
        batchIndex++;
        lastLr = lr;
        lastMomentum = step.momentumAt?.(ctx) ?? null;
        lastLosses = { ...result.losses };
        const periodic = options.checkpointEvery > 0 && done % options.checkpointEvery === 0;
        if (done === options.totalSteps) save(true);
        else if (periodic) save(false);
        await options.afterStep?.(done, result);
      }
    } finally {
      await iterator.return?.();
    }
    if (done >= options.totalSteps) break;
    if (pulled === 0 && batchIndex === 0)
      throw new TrainSetupError(`stage ${options.stage}: epoch ${epoch} has no batches`, {
        hint: 'the dataset is empty after filtering, or the batch size exceeds it with drop-last',
      });
    epoch++;
    batchIndex = 0;
  }
  return { status: 'completed', step: done, lastCheckpoint, lastLosses };
}
