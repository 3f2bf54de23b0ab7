// A run directory with a resumed run and a later `--stage` run (log.jsonl, log.resume-1.jsonl,
// log.resume-2.jsonl, written here as raw JSON lines, independent of alignc's writer): the merge
// (runtime/report/merged-run-log.ts) keeps the resumed steps and evaluations instead of the
// repeated ones, moves times onto one clock, keeps the last end record; `alignc report` shows all
// of it. Also the numeric order of runLogFiles (resume-10 after resume-2).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COCO_STAT_NAMES } from '../../runtime/io/run-log.js';
import { readRunDirLog } from '../../runtime/report/merged-run-log.js';
import { buildRunReport } from '../../runtime/report/run-report.js';
import { runLogFiles } from '../../runtime/train/run-log-files.js';

const dir = mkdtempSync(join(tmpdir(), 'alignc-merged-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const machine = {
  platform: 'linux-x64',
  cpu: 'cpu',
  cpuCount: 2,
  memoryBytes: 2 ** 30,
  node: 'v20',
  adapter: null,
};
const header = (startedAt: string, stages: string) => ({
  kind: 'header',
  format: 'alignc-run-log/1',
  runId: `r-${startedAt}`,
  name: 'merged',
  pipeline: 'p.align',
  pipelineSha256: 'abc',
  seed: 4,
  command: ['alignc', 'run', 'p.align'],
  machine,
  startedAt,
  settings: { stages },
});
const step = (stage: string, n: number, t: number, loss: number) => ({
  kind: 'step',
  stage,
  step: n,
  epoch: 0,
  wallSeconds: t,
  lr: 0.01,
  losses: { cls: loss },
  imagesPerSecond: 1,
  timeShare: { data: 0.1, forward: 0.3, backward: 0.5, optimizer: 0.1 },
});
const evalAt = (stage: string, n: number, t: number, ap: number) => ({
  kind: 'eval',
  stage,
  step: n,
  wallSeconds: t,
  split: 'val',
  stats: Object.fromEntries(COCO_STAT_NAMES.map((k) => [k, k === 'AP' ? ap : 0.5])),
  perCategory: [{ categoryId: 1, name: 'WBC', ap, ap50: 0.5, ap75: 0.5, vocAp50: 0.5 }],
  vocAp50: 0.5,
  counts: { images: 2, categories: 1, groundTruth: 3, crowdGroundTruth: 0, detections: 9 },
});
const lines = (records: object[]) => records.map((r) => JSON.stringify(r) + '\n').join('');

// The first process: steps 1–5, evaluations at 2 and 4, checkpoint at 3, killed mid-line.
writeFileSync(
  join(dir, 'log.jsonl'),
  lines([
    header('2026-11-27T10:00:00.000Z', 'finetune'),
    step('finetune', 1, 1, 0.9),
    step('finetune', 2, 2, 0.8),
    evalAt('finetune', 2, 3, 0.1),
    step('finetune', 3, 4, 0.7),
    {
      kind: 'checkpoint',
      stage: 'finetune',
      step: 3,
      wallSeconds: 4.5,
      path: 'checkpoints/finetune-00000003.safetensors',
    },
    step('finetune', 4, 5, 0.6),
    evalAt('finetune', 4, 6, 0.2),
    step('finetune', 5, 7, 0.5),
  ]) + '{"kind":"step","sta',
);
// Resumed from the step-3 checkpoint 100 s later: steps 4–6 again, evaluations at 4 and 6.
writeFileSync(
  join(dir, 'log.resume-1.jsonl'),
  lines([
    header('2026-11-27T10:01:40.000Z', 'finetune'),
    step('finetune', 4, 1, 0.61),
    evalAt('finetune', 4, 2, 0.25),
    step('finetune', 5, 3, 0.51),
    step('finetune', 6, 4, 0.41),
    evalAt('finetune', 6, 5, 0.3),
    { kind: 'end', status: 'completed', wallSeconds: 5, message: null },
  ]),
);
// A `--stage extra` run in the same directory 200 s after the start.
writeFileSync(
  join(dir, 'log.resume-2.jsonl'),
  lines([
    header('2026-11-27T10:03:20.000Z', 'extra'),
    step('extra', 1, 2, 0.3),
    { kind: 'end', status: 'completed', wallSeconds: 3, message: null },
  ]),
);

describe('the merged log of a run directory', () => {
  it('lists the log files in writing order, resume numbers compared as numbers', () => {
    const d = mkdtempSync(join(tmpdir(), 'alignc-logfiles-'));
    for (const n of [
      'log.resume-10.jsonl',
      'log.resume-2.jsonl',
      'log.jsonl',
      'log.resume-x.jsonl',
    ])
      writeFileSync(join(d, n), '');
    expect(runLogFiles(d).map((p) => p.slice(d.length + 1))).toEqual([
      'log.jsonl',
      'log.resume-2.jsonl',
      'log.resume-10.jsonl',
    ]);
    rmSync(d, { recursive: true });
  });

  it('replaces repeated steps and evaluations by the resumed ones, on one clock', () => {
    const log = readRunDirLog(dir);
    expect(log.segments).toHaveLength(3);
    expect(log.steps.map((s) => `${s.stage}:${s.step}:${s.losses.cls}`)).toEqual([
      'finetune:1:0.9',
      'finetune:2:0.8',
      'finetune:3:0.7',
      'finetune:4:0.61',
      'finetune:5:0.51',
      'finetune:6:0.41',
      'extra:1:0.3',
    ]);
    expect(log.evals.map((e) => `${e.step}:${e.stats.AP}`)).toEqual(['2:0.1', '4:0.25', '6:0.3']);
    expect(log.checkpoints.map((c) => c.step)).toEqual([3]);
    // Segment 1 started 100 s and segment 2 200 s after the first header.
    expect(log.steps[3].wallSeconds).toBe(101);
    expect(log.evals[2].wallSeconds).toBe(105);
    expect(log.steps[6].wallSeconds).toBe(202);
    expect(log.end).toEqual({ kind: 'end', status: 'completed', wallSeconds: 203, message: null });
    expect(log.records.filter((r) => r.kind === 'end')).toHaveLength(1);
    expect(log.header.startedAt).toBe('2026-11-27T10:00:00.000Z');
    expect(log.segments[0].truncatedLastLine?.line).toBe(10);
  });

  it('the report shows every segment: last evaluation, both stages, the killed line', async () => {
    const report = await buildRunReport(dir);
    expect(report.log.evals).toHaveLength(3);
    expect(report.html).toContain('6 (last)');
    expect(report.html).toContain('Stage extra');
    expect(report.html).toContain('log.resume-1.jsonl');
    expect(report.html).toContain('log.resume-2.jsonl');
    expect(
      report.warnings.some((w) => w.includes('log.jsonl:10: the last line is incomplete')),
    ).toBe(true);
    // Wall time: the processes' own 7 s + 5 s + 3 s, not the 203 s between first and last record.
    expect(report.html).toContain('<td>wall time</td><td>15 s</td>');
  });
});
