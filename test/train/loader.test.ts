// The training loop on runtime/data's real DataLoader (the shipped BCCD images, their boxes standing
// in for proposals, AlignDet's two-view pipeline at a tiny scale): a run stopped mid-epoch by a
// stop request and resumed from its checkpoint ends with exactly the weights of an uninterrupted
// run, so the loader's per-epoch order, the batch position and the per-step random streams line up.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBccd } from '../../runtime/data/bccd.js';
import type { Dataset } from '../../runtime/data/dataset.js';
import { DataLoader } from '../../runtime/data/loader/loader.js';
import { alignDetViewSpec } from '../../runtime/data/views/pipeline.js';
import { DataWarnings } from '../../runtime/data/warnings.js';
import { packageRoot } from '../../runtime/package-root.js';
import {
  findResumeCheckpoint,
  listCheckpoints,
  loadCheckpoint,
} from '../../runtime/train/checkpoint.js';
import { runStage, type StageOptions } from '../../runtime/train/stage-loop.js';
import { StopSignal } from '../../runtime/train/stop-signal.js';
import { makeTinyStep } from './child-run.js';

mkdirSync(join(packageRoot(), '.cache'), { recursive: true });
const tmp = mkdtempSync(join(packageRoot(), '.cache', 'train-loader-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let dataset: Dataset;
beforeAll(async () => {
  const all = await loadBccd('train', { warnings: new DataWarnings(() => {}) });
  dataset = { ...all, samples: all.samples.slice(0, 4) };
});

function loader(): DataLoader {
  // 640×480 → 32×24 or 40×30, padded to 16; a fixed 48×32 canvas keeps one traced step.
  const spec = alignDetViewSpec(
    [
      [32, 24],
      [40, 30],
    ],
    16,
  );
  return new DataLoader({
    dataset,
    views: [spec, spec],
    batchSize: 2,
    maxBoxes: 4,
    seed: 9,
    canvas: [48, 32],
    mode: 'in-thread',
    warnings: new DataWarnings(() => {}),
  });
}

const stage = (runDir: string): StageOptions => ({
  runDir,
  stage: 'box_domain',
  totalSteps: 3,
  checkpointEvery: 0,
  seed: 9,
  lr: { base: 0.01, schedule: { kind: 'constant' } },
});

describe('the loop on the real data loader', () => {
  it('resumes mid-epoch to exactly the uninterrupted weights', async () => {
    const whole = join(tmp, 'whole');
    const a = loader();
    const done = await runStage(makeTinyStep(9), a, stage(whole));
    await a.close();
    expect(done.status).toBe('completed');

    const split = join(tmp, 'split');
    const stop = new StopSignal();
    const b = loader();
    const first = await runStage(makeTinyStep(9), b, {
      ...stage(split),
      stop,
      afterStep: (step) => {
        if (step === 1) stop.request('SIGINT');
      },
    });
    await b.close();
    expect(first).toMatchObject({ status: 'interrupted', step: 1 });
    const mid = loadCheckpoint(findResumeCheckpoint(split));
    expect(mid.meta).toMatchObject({ step: 1, epoch: 0, batchIndex: 1, complete: false });

    const c = loader();
    const rest = await runStage(makeTinyStep(9), c, { ...stage(split), resumeFrom: mid });
    await c.close();
    expect(rest.status).toBe('completed');

    const end = (dir: string) =>
      loadCheckpoint(listCheckpoints(dir).find((x) => x.meta.complete)!.path);
    const x = end(whole);
    const y = end(split);
    expect(x.meta).toMatchObject({ step: 3, epoch: 1, batchIndex: 1 });
    for (const [prefix, group] of x.groups)
      for (const [name, t] of group)
        expect(Array.from(y.groups.get(prefix)!.get(name)!.data), prefix + name).toEqual(
          Array.from(t.data),
        );
  });
});
