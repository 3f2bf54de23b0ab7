// The training loop as a process (runtime/train/run-driver.ts + stage-loop.ts + checkpoint.ts):
// a run killed with SIGKILL mid-run and resumed ends with the same weights as an uninterrupted run;
// Ctrl-C saves a checkpoint, ends the log as interrupted and exits 130; the NaN/Inf guard names the
// offending loss term and step and leaves the last good checkpoint the newest. The child process is
// test/train/child-run.ts, bundled here with rolldown (vitest's bundler) so it runs under plain node.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../runtime/package-root.js';
import { readRunLog } from '../../runtime/io/run-log-reader.js';
import {
  listCheckpoints,
  loadCheckpoint,
  type LoadedCheckpoint,
} from '../../runtime/train/checkpoint.js';
import { driveStage } from '../../runtime/train/run-driver.js';
import { LOSS_REGRESSION } from '../../runtime/train/box-domain-step.js';
import type { TrainableStep } from '../../runtime/train/stage-loop.js';
import type { Batch } from '../../runtime/data/loader/batch.js';
import { childMain, makeTinyStep, type ChildOptions } from './child-run.js';
import { syntheticSource } from './tiny-detector.js';

const root = packageRoot();
const bundleDir = join(root, '.cache', 'train-test');
const bundle = join(bundleDir, 'child-run.mjs');
let tmp: string;

beforeAll(async () => {
  mkdirSync(join(root, '.cache'), { recursive: true });
  tmp = mkdtempSync(join(root, '.cache', 'train-run-'));
  mkdirSync(bundleDir, { recursive: true });
  const { build } = await import('rolldown');
  await build({
    input: join(root, 'test/train/child-run.ts'),
    platform: 'node',
    // Packages stay imports: the bundle lives inside the repository, so node finds node_modules.
    external: (id: string) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0'),
    output: { file: bundle, format: 'esm' },
    logLevel: 'silent',
  });
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const BASE: Omit<ChildOptions, 'runDir'> = {
  totalSteps: 6,
  checkpointEvery: 2,
  batchesPerEpoch: 3,
  seed: 7,
  lr: 0.01,
  schedule: { kind: 'step', milestones: [4], gamma: 0.1 },
  warmup: { iterations: 2, startFactor: 0.5 },
};

function startChild(options: ChildOptions): {
  child: ChildProcess;
  exit: Promise<number | null>;
  onStep: (n: number, f: () => void) => void;
  stderr: () => string;
} {
  const child = spawn(process.execPath, [bundle, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const waiters: [number, () => void][] = [];
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const [n, f] of waiters.splice(0)) {
      if (out.includes(`step ${n}\n`)) f();
      else waiters.push([n, f]);
    }
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exit, onStep: (n, f) => waiters.push([n, f]), stderr: () => err };
}

function finalCheckpoint(runDir: string): LoadedCheckpoint {
  const done = listCheckpoints(runDir).filter((c) => c.meta.complete);
  expect(done.length).toBe(1);
  return loadCheckpoint(done[0].path);
}

function expectSameTensors(a: LoadedCheckpoint, b: LoadedCheckpoint): void {
  expect([...a.groups.keys()]).toEqual([...b.groups.keys()]);
  let worst = 0;
  for (const [prefix, group] of a.groups) {
    for (const [name, t] of group) {
      const u = b.groups.get(prefix)!.get(name)!;
      expect(u.shape).toEqual(t.shape);
      for (let i = 0; i < t.data.length; i++)
        worst = Math.max(worst, Math.abs(t.data[i] - u.data[i]));
    }
  }
  expect(worst).toBeLessThanOrEqual(1e-6);
}

let uninterrupted: LoadedCheckpoint;
const quiet = { out: { write: () => true }, progress: { write: () => true } };

describe('kill -9 and resume', () => {
  it('an uninterrupted run completes with checkpoints every 2 steps and at the end', async () => {
    const runDir = join(tmp, 'whole');
    expect(await childMain({ ...BASE, runDir }, quiet)).toBe(0);
    const all = listCheckpoints(runDir);
    // Periodic ones are pruned to the newest two; the end-of-stage one stays.
    expect(all.map((c) => [c.meta.step, c.meta.complete])).toEqual([
      [2, false],
      [4, false],
      [6, true],
    ]);
    uninterrupted = finalCheckpoint(runDir);
    expect(uninterrupted.meta).toMatchObject({ epoch: 1, batchIndex: 3, step: 6, totalSteps: 6 });
    expect(uninterrupted.meta.lastMomentum).toBeCloseTo(
      1 - (0.004 * (Math.cos((Math.PI * 5) / 6) + 1)) / 2,
      12,
    );
    const log = readRunLog(join(runDir, 'log.jsonl'));
    const steps = log.records.filter((r) => r.kind === 'step');
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6]);
    // Linear warmup over iterations 0–1 from ×0.5, then ×0.1 from iteration 4 (step 5).
    const want = [0.5, 0.75, 1, 1, 0.1, 0.1].map((f) => 0.01 * f);
    steps.forEach((s, i) => expect(s.lr).toBeCloseTo(want[i], 15));
    for (const s of steps) {
      const share = s.timeShare;
      expect(Object.keys(s.losses)).toEqual(['contrast', 'reg_l1']);
      for (const v of [share.data, share.forward, share.backward, share.optimizer])
        expect(v).toBeGreaterThan(0);
      expect(share.data + share.forward + share.backward + share.optimizer).toBeLessThanOrEqual(
        1 + 1e-9,
      );
    }
    expect(log.checkpoints.map((c) => c.path)).toEqual([
      'checkpoints/box_domain-00000002.safetensors',
      'checkpoints/box_domain-00000004.safetensors',
      'checkpoints/box_domain-00000006.safetensors',
    ]);
    expect(log.records.at(-1)).toMatchObject({ kind: 'end', status: 'completed' });
  });

  it('SIGKILL mid-run, then --resume, ends with the same weights', async () => {
    const runDir = join(tmp, 'killed');
    const run = startChild({ ...BASE, runDir });
    run.onStep(3, () => run.child.kill('SIGKILL'));
    expect(await run.exit).toBe(null);
    const left = listCheckpoints(runDir);
    expect(left.length).toBeGreaterThan(0);
    const newest = left.at(-1)!.meta;
    expect(newest.complete).toBe(false);
    // Killed during step 4 (a step takes far longer than the kill): step 2 is the newest checkpoint.
    expect([2, 4]).toContain(newest.step);
    // The killed run's log has no end record.
    const killedLog = readRunLog(join(runDir, 'log.jsonl'));
    expect(killedLog.records.some((r) => r.kind === 'end')).toBe(false);

    const resumed = startChild({ ...BASE, runDir, resume: runDir });
    expect(await resumed.exit, resumed.stderr()).toBe(0);
    expectSameTensors(uninterrupted, finalCheckpoint(runDir));
    const second = readRunLog(join(runDir, 'log.resume-1.jsonl'));
    expect(second.records.filter((r) => r.kind === 'step').map((r) => r.step)).toEqual([
      3, 4, 5, 6,
    ]);
  });
});

describe('Ctrl-C', () => {
  it('saves a checkpoint, ends the log as interrupted, exits 130, and resumes exactly', async () => {
    const runDir = join(tmp, 'ctrl-c');
    const run = startChild({ ...BASE, runDir, pauseMs: 300 });
    run.onStep(1, () => run.child.kill('SIGINT'));
    expect(await run.exit, run.stderr()).toBe(130);
    expect(run.stderr()).toMatch(/SIGINT: stopping after this step/);
    const newest = listCheckpoints(runDir).at(-1)!.meta;
    expect(newest.complete).toBe(false);
    expect([1, 2]).toContain(newest.step);
    const log = readRunLog(join(runDir, 'log.jsonl'));
    expect(log.records.at(-1)).toMatchObject({
      kind: 'end',
      status: 'interrupted',
      message: 'SIGINT',
    });

    expect(await childMain({ ...BASE, runDir, resume: runDir }, quiet)).toBe(0);
    expectSameTensors(uninterrupted, finalCheckpoint(runDir));
  });
});

/** The tiny step, with one parameter turned NaN before step `at`: its loss must trip the guard. */
function poisonedAt(at: number): TrainableStep<Batch> {
  const inner = makeTinyStep(BASE.seed);
  return {
    momentumBase: inner.momentumBase,
    setup: () => inner.setup(),
    groups: () => inner.groups(),
    restore: (g) => inner.restore(g),
    run: async (batch, ctx) => {
      if (ctx.step === at) {
        // Only the box regressor's bias: the regression term goes NaN, the contrastive one not.
        const name = 'bbox_head.retina_reg.bias';
        const t = inner.online.get(name)!;
        const data = Float32Array.from(t.data);
        data[0] = Number.NaN;
        inner.online.set(name, { ...t, data });
      }
      return inner.run(batch, ctx);
    },
  };
}

describe('NaN/Inf guard', () => {
  it('stops naming the loss term and step, keeping the last good checkpoint newest', async () => {
    const runDir = join(tmp, 'nan');
    const sink = {
      text: '',
      write(s: string) {
        this.text += s;
      },
    };
    const outcome = await driveStage(poisonedAt(3), syntheticSource(BASE.seed, 3), {
      runDir,
      stage: 'box_domain',
      totalSteps: 6,
      checkpointEvery: 2,
      seed: BASE.seed,
      lr: { base: BASE.lr, schedule: { kind: 'constant' } },
      pipeline: 'nan-test',
      pipelineText: '',
      command: ['test'],
      handleSignals: false,
      progressSink: sink,
      progressIntervalSeconds: 0,
    });
    expect(outcome.exitCode).toBe(1);
    const error = outcome.error as Error & { code: string; term: string; step: number };
    expect(error.code).toBe('E_TRAIN_NONFINITE');
    expect(error.term).toBe(LOSS_REGRESSION);
    expect(error.step).toBe(3);
    expect(error.message).toMatch(/step 3: loss term 'reg_l1' is NaN/);
    const all = listCheckpoints(runDir);
    expect(all.map((c) => c.meta.step)).toEqual([2]);
    const good = loadCheckpoint(all[0].path);
    for (const g of good.groups.values())
      for (const t of g.values()) expect(t.data.every((x) => Number.isFinite(x))).toBe(true);
    const log = readRunLog(join(runDir, 'log.jsonl'));
    expect(log.records.at(-1)).toMatchObject({ kind: 'end', status: 'failed' });
    // The diverging step is in the log (NaN written as "NaN" and read back as NaN).
    expect(log.steps.map((r) => r.step)).toEqual([1, 2, 3]);
    expect(log.steps[2].losses.reg_l1).toBeNaN();
    expect(Number.isFinite(log.steps[2].losses.contrast)).toBe(true);
    // Progress went to the sink: step/total, ETA, each term, images/s.
    expect(sink.text).toMatch(
      /box_domain {2}step 1\/6 +17% {2}ETA \d+:\d\d {2}loss [\d.]+ \(contrast [\d.]+, reg_l1 [\d.]+\) {2}[\d.]+ img\/s/,
    );
    expect(readdirSync(join(runDir, 'checkpoints')).some((n) => n.includes('.tmp-'))).toBe(false);
    expect(existsSync(join(runDir, 'log.jsonl'))).toBe(true);
  });
});
