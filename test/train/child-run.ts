// A training process for the kill / Ctrl-C tests of runtime/train: one box-domain stage of the tiny
// detector on synthetic batches, driven exactly as `alignc run` drives a stage (driveStage: run log,
// signal handlers, progress on stderr, checkpoints, resume). Bundled by the test (rolldown) and run
// with `node child.mjs '<json options>'`; prints `step N` on stdout after each step so the parent
// knows when to kill it. Exits with driveStage's status (0, 130 on SIGINT, 1 on failure).

import { AlignError } from '../../runtime/errors.js';
import { cpuReferenceBackend } from '../../runtime/tensor/backend.js';
import { BoxDomainStep } from '../../runtime/train/box-domain-step.js';
import { LoweredLoss } from '../../runtime/train/lowered-loss.js';
import { driveStage } from '../../runtime/train/run-driver.js';
import type { Schedule, Warmup } from '../../runtime/optim/schedules.js';
import {
  initHead,
  initParams,
  syntheticSource,
  tinyBackboneShapes,
  tinyDetector,
  TINY_MATCHING,
} from './tiny-detector.js';

export interface ChildOptions {
  readonly runDir: string;
  readonly totalSteps: number;
  readonly checkpointEvery: number;
  readonly batchesPerEpoch: number;
  readonly seed: number;
  readonly lr: number;
  readonly schedule?: Schedule;
  readonly warmup?: Warmup;
  readonly resume?: string;
  /** Sleep this long after each step (gives the parent a window to signal mid-run). */
  readonly pauseMs?: number;
}

/** The tiny box-domain step every run of these tests uses (same init for a seed). */
export function makeTinyStep(seed: number): BoxDomainStep {
  return new BoxDomainStep(
    {
      detector: tinyDetector,
      matching: TINY_MATCHING,
      optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 1e-4 },
      baseMomentum: 0.996,
      contrastive: LoweredLoss.fromStd('losses', 'box_infonce'),
      regression: LoweredLoss.fromStd('losses', 'l1'),
      backend: cpuReferenceBackend(),
    },
    initParams(tinyBackboneShapes(), seed, 0.3),
    initHead(seed + 1),
  );
}

/** Where a run's step lines and progress go (a test running it in-process passes sinks). */
export interface ChildIo {
  readonly out: { write(s: string): unknown };
  readonly progress: { write(s: string): unknown };
}

export async function childMain(
  o: ChildOptions,
  io: ChildIo = { out: process.stdout, progress: process.stderr },
): Promise<number> {
  const outcome = await driveStage(
    makeTinyStep(o.seed),
    syntheticSource(o.seed, o.batchesPerEpoch),
    {
      runDir: o.runDir,
      stage: 'box_domain',
      totalSteps: o.totalSteps,
      checkpointEvery: o.checkpointEvery,
      seed: o.seed,
      lr: {
        base: o.lr,
        schedule: o.schedule ?? { kind: 'constant' },
        ...(o.warmup === undefined ? {} : { warmup: o.warmup }),
      },
      resume: o.resume,
      pipeline: 'test/train/child-run.ts',
      pipelineText: JSON.stringify(o),
      command: ['child-run'],
      progressSink: io.progress,
      progressIntervalSeconds: 0,
      afterStep: async (step) => {
        io.out.write(`step ${step}\n`);
        if (o.pauseMs !== undefined) await new Promise((r) => setTimeout(r, o.pauseMs));
      },
    },
  );
  if (outcome.error instanceof AlignError) io.progress.write(outcome.error.render() + '\n');
  else if (outcome.error !== undefined) throw outcome.error;
  return outcome.exitCode;
}

// Run as a script (the bundle), not when imported by a test.
if (process.argv[1]?.endsWith('child-run.mjs')) {
  const options = JSON.parse(process.argv[2] ?? '{}') as ChildOptions;
  childMain(options).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(
        `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(2);
    },
  );
}
