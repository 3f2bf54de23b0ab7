// The reproduction's scheduler (runtime/report/reproduce-execute.ts executeMatrix) with a fake
// executor: runs start only after the runs they wait for, at most `jobs` at once; a failed run
// takes the runs that need it out and the others go on; after a stop nothing new starts.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { executeMatrix, type StageInvocation } from '../../runtime/report/reproduce-execute.js';
import type { StageRun } from '../../runtime/report/reproduce-matrix.js';

const tmp = mkdtempSync(join(tmpdir(), 'alignc-reproduce-exec-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(id: string, after: string[] = []): StageRun {
  return {
    id,
    detector: 'retinanet',
    pipeline: 'unused.align',
    stage: id,
    kind: 'finetune',
    seed: 0,
    runDir: join(tmp, id),
    overrides: [],
    after,
  };
}

/** A fake executor that records starts and ends and keeps `running` counts. */
function fake(fail: string[] = []) {
  const events: string[] = [];
  let running = 0;
  let most = 0;
  const execute = async (i: StageInvocation) => {
    running++;
    most = Math.max(most, running);
    events.push(`start ${i.stage}`);
    await new Promise((r) => setTimeout(r, 5));
    running--;
    events.push(`end ${i.stage}`);
    if (fail.includes(i.stage)) throw new Error(`${i.stage} broke`);
  };
  return { execute, events, most: () => most };
}

const matrix = [run('a'), run('b', ['a']), run('c'), run('d', ['b']), run('e', ['a', 'c'])];

describe('executeMatrix', () => {
  it('respects what each run waits for and the number of jobs', async () => {
    const f = fake();
    const summary = await executeMatrix(matrix, { jobs: 2, executor: f.execute, say: () => {} });
    expect(summary.failed).toEqual([]);
    expect(summary.ran.map((r) => r.id).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(f.most()).toBe(2);
    const at = (e: string) => f.events.indexOf(e);
    for (const r of matrix)
      for (const dep of r.after) expect(at(`start ${r.id}`)).toBeGreaterThan(at(`end ${dep}`));
  });

  it('leaves out the runs that need a failed one; the others go on', async () => {
    const f = fake(['a']);
    const summary = await executeMatrix(matrix, { jobs: 1, executor: f.execute, say: () => {} });
    expect(summary.ran.map((r) => r.id)).toEqual(['c']);
    expect(summary.failed.map((x) => x.id).sort()).toEqual(['a', 'b', 'd', 'e']);
    const message = (id: string) => String(summary.failed.find((x) => x.id === id)?.error);
    expect(message('a')).toContain('a broke');
    expect(message('d')).toContain('a run it needs failed');
  });

  it('starts nothing new once stopped', async () => {
    const f = fake();
    let stopped = false;
    const summary = await executeMatrix(matrix, {
      jobs: 1,
      executor: async (i) => {
        stopped = true;
        await f.execute(i);
      },
      say: () => {},
      stopped: () => stopped,
    });
    expect(summary.ran.map((r) => r.id)).toEqual(['a']);
    expect(summary.failed.map((x) => String(x.error))).toEqual(
      ['b', 'c', 'd', 'e'].map((id) => `ReproduceError: ${id}: not started (stopped)`),
    );
  });
});
