// Drives one training stage as a process does (`alignc run`, one stage): opens the run log, installs
// the Ctrl-C handler, loads the `--resume` checkpoint, runs the loop (stage-loop.ts) with progress
// on stderr, and ends the log as completed / interrupted / failed. Returns the exit status the
// command should use — 0 completed, 130 interrupted (the shell's code for SIGINT), 1 failed — and
// the error, which the caller reports (the CLI prints an AlignError as its message).
// Flow: lowered pipeline → **driver** → loop → checkpoints + log.

import { describeMachine, newRunId, sha256Hex } from '../io/run-log-writer.js';
import { findResumeCheckpoint, loadCheckpoint, type LoadedCheckpoint } from './checkpoint.js';
import { openRunLog } from './run-log-files.js';
import { ProgressReporter, type ProgressSink } from './progress.js';
import {
  runStage,
  type BatchSource,
  type StageOptions,
  type StageResult,
  type TrainableStep,
} from './stage-loop.js';
import { StopSignal } from './stop-signal.js';

export interface DriveOptions extends Omit<
  StageOptions,
  'log' | 'progress' | 'stop' | 'clock' | 'resumeFrom'
> {
  /** `--resume PATH`: a checkpoint file, a run directory or its checkpoints folder. */
  readonly resume?: string;
  /** The pipeline file and its text (for the log header). */
  readonly pipeline: string;
  readonly pipelineText: string;
  readonly command: readonly string[];
  readonly settings?: Readonly<Record<string, string | number | boolean>>;
  readonly progressSink?: ProgressSink;
  readonly progressIntervalSeconds?: number;
  /** Install SIGINT/SIGTERM handlers (default true). */
  readonly handleSignals?: boolean;
}

export interface DriveResult {
  readonly exitCode: 0 | 1 | 130;
  readonly result: StageResult | undefined;
  readonly error: unknown;
}

export async function driveStage<B>(
  step: TrainableStep<B>,
  data: BatchSource<B>,
  options: DriveOptions,
): Promise<DriveResult> {
  const started = new Date();
  const t0 = performance.now();
  const clock = () => (performance.now() - t0) / 1000;
  let resumeFrom: LoadedCheckpoint | undefined;
  try {
    if (options.resume !== undefined)
      resumeFrom = loadCheckpoint(findResumeCheckpoint(options.resume));
  } catch (error) {
    // Nothing ran: no log is started for a resume that cannot even be read.
    return { exitCode: 1, result: undefined, error };
  }
  const log = openRunLog(options.runDir, {
    runId: newRunId(started),
    name:
      options.runDir
        .split('/')
        .filter((s) => s !== '')
        .pop() ?? options.runDir,
    pipeline: options.pipeline,
    pipelineSha256: sha256Hex(options.pipelineText),
    seed: options.seed,
    command: [...options.command],
    machine: describeMachine(null),
    startedAt: started.toISOString(),
    settings: {
      ...(options.settings ?? {}),
      ...(resumeFrom === undefined ? {} : { resumedFrom: resumeFrom.path }),
    },
  });
  const sink = options.progressSink ?? process.stderr;
  const say = (line: string) => sink.write(line + '\n');
  const stop = new StopSignal();
  if (options.handleSignals ?? true) stop.install(say);
  const progress = new ProgressReporter(sink, options.progressIntervalSeconds ?? 10);
  try {
    const result = await runStage(step, data, {
      ...options,
      log,
      progress,
      stop,
      clock,
      resumeFrom,
    });
    if (result.status === 'interrupted') {
      log.end('interrupted', clock(), stop.reason ?? 'stopped');
      say(
        `${options.stage}: interrupted at step ${result.step}; checkpoint ${result.lastCheckpoint}`,
      );
      return { exitCode: 130, result, error: undefined };
    }
    log.end('completed', clock());
    return { exitCode: 0, result, error: undefined };
  } catch (error) {
    progress.finish();
    log.end('failed', clock(), error instanceof Error ? error.message : String(error));
    return { exitCode: 1, result: undefined, error };
  } finally {
    stop.uninstall();
  }
}
