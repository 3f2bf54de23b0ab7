// Runs the stage runs of the reproduction matrix (runtime/report/reproduce-matrix.ts), resumably:
// a run whose results are already on disk is skipped, so a killed `alignc reproduce` started again
// repeats at most the runs that were in progress. `jobs` runs go at once (each `alignc run` is
// one busy core on the CPU reference backend); a run starts when the runs it waits for are done.
// How one run is executed is a `StageExecutor`: a child `node dist/cli/main.js run …` (the CLI) or
// runtime/run's executor in this process (the tests).
// Flow: matrix → **done? / run (link the init checkpoint, alignc run --stage)** → run directories.

import { copyFileSync, linkSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { AlignError } from '../errors.js';
import { sha256Hex } from '../io/run-log-writer.js';
import { CHECKPOINT_DIR, listCheckpoints } from '../train/checkpoint.js';
import { runLogFiles } from '../train/run-log-files.js';
import { readRunDirLog, type MergedRunLog } from './merged-run-log.js';
import { ReproduceError, type StageRun } from './reproduce-matrix.js';

/** One `alignc run PIPELINE --stage STAGE --seed SEED --out RUN_DIR [--resume RUN_DIR] --set …`. */
export interface StageInvocation {
  readonly pipeline: string;
  readonly stage: string;
  readonly seed: number;
  readonly runDir: string;
  readonly overrides: readonly string[];
  /** Continue the stage from the run directory's newest checkpoint. */
  readonly resume: boolean;
}

/** Runs one stage; resolves when it completed, rejects (with what went wrong) otherwise. */
export type StageExecutor = (run: StageInvocation) => Promise<void>;

/** The `alignc run` arguments of an invocation (after `alignc run`). */
export function runArguments(i: StageInvocation): string[] {
  return [
    i.pipeline,
    '--stage',
    i.stage,
    '--seed',
    String(i.seed),
    '--out',
    i.runDir,
    ...(i.resume ? ['--resume', i.runDir] : []),
    ...i.overrides.flatMap((o) => ['--set', o]),
  ];
}

function completeCheckpoint(runDir: string, stage: string) {
  return listCheckpoints(runDir)
    .filter((c) => c.meta.stage === stage && c.meta.complete)
    .at(-1);
}

/** The overrides a run log's header records (`alignc run` writes them joined by spaces). */
function recordedOverrides(log: MergedRunLog): string {
  return String(log.header.settings.overrides ?? '');
}

/**
 * Whether `run`'s results are on disk: its stage's end-of-stage checkpoint, and for fine-tuning the
 * evaluation at the last step, written by the same pipeline text and overrides. A run directory
 * made with other settings is an error for pre-training (other runs depend on it) and is redone
 * for fine-tuning.
 */
export function isDone(run: StageRun): boolean {
  if (runLogFiles(run.runDir).length === 0) return false;
  let log: MergedRunLog;
  try {
    log = readRunDirLog(run.runDir);
  } catch (error) {
    // A damaged log: a fine-tuning run is simply redone; pre-training is what others build on.
    if (run.kind === 'finetune' && error instanceof AlignError) return false;
    throw error;
  }
  const sameSetup =
    log.header.pipelineSha256 === sha256Hex(readFileSync(run.pipeline, 'utf8')) &&
    recordedOverrides(log) === run.overrides.join(' ') &&
    log.header.seed === run.seed;
  if (!sameSetup) {
    if (run.kind === 'pretrain')
      throw new ReproduceError(
        `${run.runDir} holds a pre-training made with another pipeline text, seed or budget`,
        {
          hint: `remove ${run.runDir} (its fine-tuning runs are then redone) or give another --out`,
        },
      );
    return false;
  }
  const done = completeCheckpoint(run.runDir, run.stage);
  if (done === undefined) return false;
  if (run.kind === 'pretrain') return true;
  return log.evals.some((e) => e.stage === run.stage && e.step === done.meta.step);
}

/** Prepares `run`'s directory and says how to invoke it. */
export function prepare(run: StageRun): StageInvocation {
  const base = {
    pipeline: run.pipeline,
    stage: run.stage,
    seed: run.seed,
    runDir: run.runDir,
    overrides: run.overrides,
  };
  if (run.kind === 'pretrain') {
    // A killed pre-training continues from its checkpoint when that is the directory's newest.
    const newest = listCheckpoints(run.runDir).at(-1);
    const resume = newest !== undefined && newest.meta.stage === run.stage && !newest.meta.complete;
    return { ...base, resume };
  }
  // Fine-tuning runs are short: an unfinished one starts again in a fresh directory.
  rmSync(run.runDir, { recursive: true, force: true });
  mkdirSync(join(run.runDir, CHECKPOINT_DIR), { recursive: true });
  if (run.init !== undefined) {
    const from = completeCheckpoint(run.init.runDir, run.init.stage);
    if (from === undefined)
      throw new ReproduceError(
        `${run.id}: no finished ${run.init.stage} checkpoint in ${run.init.runDir}`,
      );
    const to = join(run.runDir, CHECKPOINT_DIR, basename(from.path));
    try {
      linkSync(from.path, to);
    } catch {
      copyFileSync(from.path, to);
    }
  }
  return { ...base, resume: false };
}

export interface ExecuteOptions {
  readonly jobs: number;
  readonly executor: StageExecutor;
  /** One line per event: skipped, started, finished, failed. */
  readonly say: (line: string) => void;
  /** Once this says true, no further run starts (the ones running are left to finish or stop). */
  readonly stopped?: () => boolean;
}

export interface ExecuteSummary {
  readonly skipped: readonly string[];
  readonly ran: readonly { readonly id: string; readonly seconds: number }[];
  readonly failed: readonly { readonly id: string; readonly error: unknown }[];
}

/**
 * Runs every run that is not done, `jobs` at a time, each after the runs it waits for. A failed run
 * is reported and the runs waiting for it are left out; the others go on.
 */
export async function executeMatrix(
  runs: readonly StageRun[],
  o: ExecuteOptions,
): Promise<ExecuteSummary> {
  const skipped: string[] = [];
  const ran: { id: string; seconds: number }[] = [];
  const failed: { id: string; error: unknown }[] = [];
  const finished = new Set<string>();
  const pending: StageRun[] = [];
  for (const run of runs) {
    if (isDone(run)) {
      skipped.push(run.id);
      finished.add(run.id);
    } else pending.push(run);
  }
  if (skipped.length > 0) o.say(`reproduce: ${skipped.length} runs already done, skipped`);
  const broken = new Set<string>();
  const running = new Set<Promise<void>>();
  const startOne = (run: StageRun) => {
    const t0 = performance.now();
    o.say(`reproduce: start ${run.id}`);
    const p = (async () => {
      try {
        await o.executor(prepare(run));
        const seconds = (performance.now() - t0) / 1000;
        ran.push({ id: run.id, seconds });
        finished.add(run.id);
        o.say(`reproduce: done ${run.id} in ${seconds.toFixed(0)} s`);
      } catch (error) {
        failed.push({ id: run.id, error });
        broken.add(run.id);
        o.say(
          `reproduce: FAILED ${run.id}: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    })();
    running.add(p);
    void p.finally(() => running.delete(p));
  };
  const jobs = Math.max(1, Math.floor(o.jobs));
  while (pending.length > 0 || running.size > 0) {
    for (let i = 0; i < pending.length && running.size < jobs && o.stopped?.() !== true;) {
      const run = pending[i];
      if (run.after.some((id) => broken.has(id))) {
        broken.add(run.id);
        failed.push({ id: run.id, error: new ReproduceError(`${run.id}: a run it needs failed`) });
        pending.splice(i, 1);
      } else if (run.after.every((id) => finished.has(id))) {
        pending.splice(i, 1);
        startOne(run);
      } else i++;
    }
    if (running.size === 0 && o.stopped?.() === true) {
      for (const run of pending.splice(0))
        failed.push({ id: run.id, error: new ReproduceError(`${run.id}: not started (stopped)`) });
      break;
    }
    if (running.size === 0) {
      // Nothing runs and nothing can start: the rest waits for runs outside this matrix.
      for (const run of pending.splice(0))
        failed.push({
          id: run.id,
          error: new ReproduceError(`${run.id}: waits for a run not in the matrix`),
        });
      break;
    }
    await Promise.race(running);
  }
  return { skipped, ran, failed };
}
