// The two ways the reproduction runs one stage (runtime/report/reproduce-execute.ts's
// StageExecutor): a child process `node dist/cli/main.js run …` — what `alignc reproduce` uses, so
// `--jobs 2` keeps both cores busy and a crash stays inside one run — or runtime/run's executor in
// this process on the CPU reference backend (the tests: no dist/ needed, one run at a time).
// Flow: stage invocation → **alignc run** → run directory (log, checkpoints, console output).

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkFilesOrThrow } from '../../compiler/check/index.js';
import { planProgram } from '../../compiler/lower/plan.js';
import { runPipeline } from '../run/executor.js';
import { applyOverrides } from '../run/overrides.js';
import { cpuReferenceBackend } from '../tensor/backend.js';
import { ReproduceError } from './reproduce-matrix.js';
import { runArguments, type StageExecutor, type StageInvocation } from './reproduce-execute.js';

/** Where a run's console output (stdout and stderr) goes: `RUN_DIR/STAGE.console.txt`. */
export function consoleFile(i: StageInvocation): string {
  return join(i.runDir, `${i.stage}.console.txt`);
}

export interface ChildProcessExecutor {
  readonly execute: StageExecutor;
  /** Sends SIGINT to every running `alignc run`: each saves a checkpoint and exits (status 130). */
  readonly interrupt: () => void;
}

/**
 * Runs each stage as `node CLI run … EXTRA`, its output appended to the console file; `extra` are
 * further `alignc run` flags, e.g. `['--backend', 'webgpu']`.
 */
export function childProcessExecutor(
  cliMain: string,
  extra: readonly string[] = [],
): ChildProcessExecutor {
  const children = new Set<ChildProcess>();
  const execute: StageExecutor = (i) =>
    new Promise<void>((resolve, reject) => {
      mkdirSync(i.runDir, { recursive: true });
      const fd = openSync(consoleFile(i), 'a');
      const child = spawn(process.execPath, [cliMain, 'run', ...runArguments(i), ...extra], {
        stdio: ['ignore', fd, fd],
      });
      closeSync(fd);
      children.add(child);
      child.on('exit', () => children.delete(child));
      child.on('error', (error) =>
        reject(new ReproduceError(`cannot start alignc run: ${error.message}`, { cause: error })),
      );
      child.on('exit', (code, signal) => {
        if (code === 0) resolve();
        else
          reject(
            new ReproduceError(
              `alignc run --stage ${i.stage} ${signal !== null ? `was killed by ${signal}` : `exited with status ${code}`}`,
              { hint: `its output is in ${consoleFile(i)}` },
            ),
          );
      });
    });
  return { execute, interrupt: () => children.forEach((c) => c.kill('SIGINT')) };
}

/** Runs each stage in this process, quietly; result lines go to the console file's text. */
export function inProcessExecutor(): StageExecutor {
  return async (i) => {
    const plan = applyOverrides(planProgram(checkFilesOrThrow([i.pipeline])), i.overrides);
    const outcome = await runPipeline({
      plan,
      pipelineText: readFileSync(i.pipeline, 'utf8'),
      runDir: i.runDir,
      seed: i.seed,
      stage: i.stage,
      ...(i.resume ? { resume: i.runDir } : {}),
      command: ['alignc', 'run', ...runArguments(i)],
      backend: cpuReferenceBackend(),
      backendName: 'cpu-reference',
      out: () => {},
      progressSink: { write: () => true },
      handleSignals: false,
      quiet: true,
      settings: { overrides: i.overrides.join(' ') },
    });
    if (outcome.error !== undefined) throw outcome.error;
    if (outcome.exitCode !== 0)
      throw new ReproduceError(
        `alignc run --stage ${i.stage} ended with status ${outcome.exitCode}`,
      );
  };
}
