// The reproduction's matrix and aggregation on synthetic run logs (runtime/report/reproduce-*.ts):
// which stage runs the tiny budget makes for pipelines/reproduce/retinanet.align (dependencies,
// overrides, the init link), and what results.md says for logs whose numbers are chosen here:
// means, sample stds and paired differences against numpy's (`np.mean`, `np.std(ddof=1)` printed by
// /usr/bin/python3), the reading rule, and a setting with no finished run.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COCO_STAT_NAMES } from '../../runtime/io/run-log.js';
import { packageRoot } from '../../runtime/package-root.js';
import { BUDGETS } from '../../runtime/report/reproduce-budgets.js';
import { resultsMarkdown, verdict } from '../../runtime/report/reproduce-document.js';
import { buildMatrix, type StageRun } from '../../runtime/report/reproduce-matrix.js';
import { collectResults } from '../../runtime/report/reproduce-results.js';

const tmp = mkdtempSync(join(tmpdir(), 'alignc-reproduce-agg-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const matrix = buildMatrix({
  root: packageRoot(),
  outDir: join(tmp, 'runs'),
  budget: BUDGETS.tiny,
  detectors: ['retinanet'],
  seeds: [0, 1, 2],
  fractions: [10],
});
const byId = new Map(matrix.runs.map((r) => [r.id, r]));

/** Writes a fine-tuning log with AP `ap1` at step 1 and `ap2` (AP50 = AP + 0.3) at step 2. */
function writeLog(run: StageRun, ap1: number, ap2: number, failure?: string) {
  mkdirSync(run.runDir, { recursive: true });
  const evalAt = (step: number, ap: number) => ({
    kind: 'eval',
    stage: run.stage,
    step,
    wallSeconds: step * 10,
    split: 'held_out',
    stats: Object.fromEntries(COCO_STAT_NAMES.map((n) => [n, n === 'AP50' ? ap + 0.3 : ap])),
    perCategory: [],
    vocAp50: -1,
    counts: { images: 2, categories: 3, groundTruth: 9, crowdGroundTruth: 0, detections: 5 },
  });
  const records = [
    {
      kind: 'header',
      format: 'alignc-run-log/1',
      runId: run.id,
      name: run.id,
      pipeline: run.pipeline,
      pipelineSha256: 'x',
      seed: run.seed,
      command: ['alignc', 'run'],
      machine: {
        platform: 'linux-x64',
        cpu: 'test cpu',
        cpuCount: 2,
        memoryBytes: 2 ** 33,
        node: 'v20',
        adapter: null,
      },
      startedAt: '2026-11-27T10:00:00.000Z',
      settings: { overrides: run.overrides.join(' ') },
    },
    evalAt(1, ap1),
    evalAt(2, ap2),
    failure === undefined
      ? { kind: 'end', status: 'completed', wallSeconds: 30, message: null }
      : { kind: 'end', status: 'failed', wallSeconds: 30, message: failure },
  ];
  writeFileSync(
    join(run.runDir, 'log.jsonl'),
    records.map((r) => JSON.stringify(r) + '\n').join(''),
  );
}

describe('the reproduction matrix', () => {
  it('pre-trains once per seed and fine-tunes each setting from its stage', () => {
    expect(matrix.detectors[0].settings).toEqual(['scratch', 'image', 'aligndet']);
    expect(matrix.detectors[0].boxFromImage).toBe(true);
    expect(matrix.runs.filter((r) => r.seed === 0).map((r) => r.id)).toEqual([
      'retinanet/seed-0/pretrain_image',
      'retinanet/seed-0/pretrain_box',
      'retinanet/seed-0/10pct/scratch',
      'retinanet/seed-0/10pct/image',
      'retinanet/seed-0/10pct/aligndet',
    ]);
    const run = (id: string) => byId.get(id)!;
    expect(run('retinanet/seed-1/pretrain_box').after).toEqual(['retinanet/seed-1/pretrain_image']);
    expect(run('retinanet/seed-1/pretrain_box').runDir).toBe(
      run('retinanet/seed-1/pretrain_image').runDir,
    );
    expect(run('retinanet/seed-1/10pct/scratch').after).toEqual([]);
    expect(run('retinanet/seed-1/10pct/scratch').init).toBeUndefined();
    expect(run('retinanet/seed-1/10pct/image').init?.stage).toBe('pretrain_image');
    const c = run('retinanet/seed-2/10pct/aligndet');
    expect(c.after).toEqual(['retinanet/seed-2/pretrain_image', 'retinanet/seed-2/pretrain_box']);
    expect(c.init).toEqual({
      runDir: join(tmp, 'runs', 'retinanet', 'seed-2', 'pretrain'),
      stage: 'pretrain_box',
    });
    expect(c.overrides).toContain('finetune_aligndet.train.length=2iters');
    expect(c.overrides).toContain('finetune_aligndet.evaluate.every=1iters');
    expect(c.overrides).toContain('pretrain_box.train.length=2iters');
    expect(c.overrides.slice(-2)).toEqual(['labelled.fraction=10%', 'labelled.seed=2']);
  });
});

describe('results.md from run logs', () => {
  // AP at step 2 per seed: scratch 0.30, 0.25, 0.20; aligndet 0.35, 0.27, 0.24 (paired + in all
  // seeds); image-domain runs are missing for seed 2 and its AP is lower than scratch in seed 0.
  const ap = {
    scratch: [0.3, 0.25, 0.2],
    aligndet: [0.35, 0.27, 0.24],
    image: [0.28, 0.26],
  } as const;
  for (const [setting, values] of Object.entries(ap))
    values.forEach((v, seed) =>
      writeLog(byId.get(`retinanet/seed-${seed}/10pct/${setting}`)!, v / 2, v),
    );
  // The seed-2 image run evaluated, then the NaN guard stopped it: not a result.
  writeLog(byId.get('retinanet/seed-2/10pct/image')!, 0.9, 0.9, "step 2: loss term 'cls' is NaN");
  const results = collectResults(matrix);
  const group = results.groups[0];

  it('aggregates mean ± sample std per setting, AP at every evaluated iteration', () => {
    expect(results.groups).toHaveLength(1);
    expect(group.comparison.iterations).toEqual([1, 2]);
    const [scratch, image, aligndet] = group.comparison.settings;
    expect(scratch.setting).toBe('(a) random init');
    expect(scratch.ap.mean).toBeCloseTo(0.25, 15);
    expect(scratch.ap.std).toBeCloseTo(0.04999999999999999, 15);
    expect(aligndet.ap.mean).toBeCloseTo(0.2866666666666666, 15);
    expect(aligndet.ap.std).toBeCloseTo(0.05686240703077327, 15);
    expect(aligndet.ap50.mean).toBeCloseTo(0.5866666666666667, 15);
    expect(aligndet.apAt[0].mean).toBeCloseTo(0.1433333333333333, 15);
    expect(image.seeds).toEqual([0, 1]);
  });

  it('pairs each pre-trained setting with random init, and AlignDet with image-domain, by seed', () => {
    const [image, aligndet, overImage] = group.paired;
    expect(group.paired.map((p) => `${p.setting}-${p.baseline}`)).toEqual([
      'image-scratch',
      'aligndet-scratch',
      'aligndet-image',
    ]);
    // Seeds 0 and 1 only: the seed-2 image run stopped on NaN. 0.35 − 0.28, 0.27 − 0.26.
    expect(overImage.differences.map((d) => d.toFixed(12))).toEqual([
      '0.070000000000',
      '0.010000000000',
    ]);
    expect(overImage.better).toBe(2);
    // mean 0.04, std 0.0424 → 2 standard errors = 0.06 > 0.04: noise despite the same sign.
    expect(verdict(overImage)).toBe('noise');
    expect(aligndet.setting).toBe('aligndet');
    expect(aligndet.differences.map((d) => d.toFixed(12))).toEqual([
      '0.050000000000',
      '0.020000000000',
      '0.040000000000',
    ]);
    // numpy: mean 0.036666666666666674, std(ddof=1) 0.015275252316519466 → > 2 standard errors.
    expect(aligndet.ap.mean).toBeCloseTo(0.036666666666666674, 15);
    expect(aligndet.ap.std).toBeCloseTo(0.015275252316519466, 15);
    expect(verdict(aligndet)).toBe('helps');
    expect(image.differences.map((d) => d.toFixed(12))).toEqual([
      '-0.020000000000',
      '0.010000000000',
    ]);
    expect(verdict(image)).toBe('noise');
    expect(verdict({ ...image, differences: [0.01], ap: { mean: 0.01, std: NaN, n: 1 } })).toBe(
      'one seed',
    );
    expect(
      verdict({
        ...aligndet,
        differences: [-0.05, -0.02, -0.04],
        ap: { ...aligndet.ap, mean: -aligndet.ap.mean },
      }),
    ).toBe('hurts');
  });

  it('writes the tables, the paired line, the reading and what is missing', () => {
    const md = resultsMarkdown(matrix, results, {
      command: 'alignc reproduce --budget tiny',
      date: new Date('2026-11-27T14:00:00Z'),
      elapsedSeconds: 95,
      jobs: 2,
      docDir: join(tmp, 'docs'),
      plotDir: join(tmp, 'docs', 'results'),
    });
    expect(md).toContain(
      '| (a) random init | 0, 1, 2 | 25.0 ± 5.0 | 55.0 ± 5.0 | 12.5 ± 2.5 | 25.0 ± 5.0 |',
    );
    expect(md).toContain(
      '| (b) image-domain only | 0, 1 | 27.0 ± 1.4 | 57.0 ± 1.4 | 13.5 ± 0.7 | 27.0 ± 1.4 |',
    );
    expect(md).toContain(
      '| (c) image + box domain (AlignDet) | 0, 1, 2 | 28.7 ± 5.7 | 58.7 ± 5.7 | 14.3 ± 2.8 | 28.7 ± 5.7 |',
    );
    expect(md).toContain(
      'paired by seed: **+3.7 ± 1.5 AP points** (higher in 3 of 3 seeds; per seed 5.0, 2.0, 4.0)',
    );
    expect(md).toContain(
      '(c) image + box domain (AlignDet) helps (+3.7 AP points, higher in every seed) against (a) random init',
    );
    expect(md).toContain(
      '- (c) image + box domain (AlignDet) − (b) image-domain only, paired by seed: **+4.0 ± 4.2 AP points** (higher in 2 of 2 seeds; per seed 7.0, 1.0).',
    );
    expect(md).toContain(
      '(c) image + box domain (AlignDet) makes no difference we can separate from seed-to-seed noise (+4.0 AP points, higher in 2 of 2 seeds) against (b) image-domain only.',
    );
    expect(md).toContain(
      '(b) image-domain only makes no difference we can separate from seed-to-seed noise',
    );
    expect(md).toContain('**Placeholder.**');
    expect(md).toContain('](results/retinanet-10pct.svg)');
    expect(md).toContain('this invocation took 1 min 35 s with 2 job(s)');
    expect(md).toContain('COCO bbox mAP on `held_out`: 2 BCCD val images, 9 boxes');
    // Pre-training runs have no directory and the seed-2 image run failed: not finished.
    expect(results.unfinished).toEqual([
      'retinanet/seed-0/pretrain_image',
      'retinanet/seed-0/pretrain_box',
      'retinanet/seed-1/pretrain_image',
      'retinanet/seed-1/pretrain_box',
      'retinanet/seed-2/pretrain_image',
      'retinanet/seed-2/pretrain_box',
      "retinanet/seed-2/10pct/image (failed: step 2: loss term 'cls' is NaN)",
    ]);
  });
});
