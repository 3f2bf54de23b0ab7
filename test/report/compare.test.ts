// Comparison of runs over seeds (runtime/report/compare.ts): mean ± sample std against numpy's
// (values from `np.mean`, `np.std(ddof=1)` printed by /usr/bin/python3), grouping, missing
// evaluations, the Markdown table and the band of the convergence plot.

import { describe, expect, it } from 'vitest';
import { parseRunLog, type RunLog } from '../../runtime/io/run-log-reader.js';
import { COCO_STAT_NAMES, encodeRunRecord, type RunRecord } from '../../runtime/io/run-log.js';
import {
  compareRuns,
  comparisonMarkdown,
  comparisonPlot,
  formatMeanStd,
  meanStd,
  settingOf,
} from '../../runtime/report/compare.js';

function logWith(init: string, seed: number, apByStep: Record<number, number>): RunLog {
  const records: RunRecord[] = [
    {
      kind: 'header',
      format: 'alignc-run-log/1',
      runId: `r${seed}`,
      name: `${init}-${seed}`,
      pipeline: 'p.align',
      pipelineSha256: '',
      seed,
      command: [],
      machine: { platform: 'p', cpu: 'c', cpuCount: 1, memoryBytes: 1, node: 'v20', adapter: null },
      startedAt: '2026-11-27T00:00:00Z',
      settings: { detector: 'retinanet', init },
    },
  ];
  for (const [step, ap] of Object.entries(apByStep))
    records.push({
      kind: 'eval',
      stage: 'finetune',
      step: Number(step),
      wallSeconds: Number(step),
      split: 'val',
      stats: Object.fromEntries(
        COCO_STAT_NAMES.map((n) => [n, n === 'AP50' ? ap + 0.3 : ap]),
      ) as Record<(typeof COCO_STAT_NAMES)[number], number>,
      perCategory: [],
      vocAp50: -1,
      counts: { images: 1, categories: 1, groundTruth: 1, crowdGroundTruth: 0, detections: 1 },
    });
  return parseRunLog(records.map(encodeRunRecord).join('\n') + '\n', `${init}-${seed}.jsonl`);
}

const runs = [
  logWith('random', 1, { 100: 0.02, 200: 0.1 }),
  logWith('random', 2, { 100: 0.04, 200: 0.2 }),
  logWith('random', 3, { 100: 0.06, 200: 0.4 }),
  logWith('aligndet', 1, { 100: 0.2, 200: 0.3 }),
  logWith('aligndet', 2, { 100: 0.22, 200: 0.34 }),
  logWith('aligndet', 3, { 200: 0.29 }),
].map((log) => ({ setting: settingOf(log, ['detector', 'init']), log }));

describe('compareRuns', () => {
  it('mean and sample std match numpy', () => {
    const m = meanStd([0.1, 0.2, 0.4]);
    expect(m.mean).toBeCloseTo(0.23333333333333336, 15);
    expect(m.std).toBeCloseTo(0.1527525231651947, 15);
    expect(meanStd([0.5, -1, NaN])).toEqual({ mean: 0.5, std: NaN, n: 1 });
  });

  it('groups by setting, takes the last evaluation, and AP at common iterations', () => {
    const c = compareRuns(runs, { stage: 'finetune' });
    expect(c.iterations).toEqual([200]); // step 100 is missing from one aligndet run
    expect(c.settings.map((s) => s.setting)).toEqual([
      'retinanet / random',
      'retinanet / aligndet',
    ]);
    const aligndet = c.settings[1];
    expect(aligndet.seeds).toEqual([1, 2, 3]);
    expect(aligndet.ap.mean).toBeCloseTo(0.31, 15);
    expect(aligndet.ap.std).toBeCloseTo(0.02645751311064593, 15);
    expect(aligndet.ap50.mean).toBeCloseTo(0.61, 15);
    const at100 = compareRuns(runs, { stage: 'finetune', iterations: [100, 200] }).settings[1]
      .apAt[0];
    expect(at100.n).toBe(2);
    expect(at100.mean).toBeCloseTo(0.21, 15);
  });

  it('writes a Markdown table in AP points, flagging missing seeds', () => {
    const c = compareRuns(runs, { stage: 'finetune', iterations: [100, 200] });
    expect(comparisonMarkdown(c).split('\n')).toEqual([
      '| setting | seeds | AP | AP50 | AP @ 100 | AP @ 200 |',
      '| --- | --- | ---: | ---: | ---: | ---: |',
      '| retinanet / random | 1, 2, 3 | 23.3 ± 15.3 | 53.3 ± 15.3 | 4.0 ± 2.0 | 23.3 ± 15.3 |',
      '| retinanet / aligndet | 1, 2, 3 | 31.0 ± 2.6 | 61.0 ± 2.6 | 21.0 ± 1.4 (n=2) | 31.0 ± 2.6 |',
    ]);
    expect(formatMeanStd({ mean: 0.5, std: NaN, n: 1 })).toBe('50.0');
    expect(formatMeanStd({ mean: NaN, std: NaN, n: 0 })).toBe('n/a');
  });

  it('plots the mean with a ± std band', () => {
    const c = compareRuns(runs, { stage: 'finetune', iterations: [100, 200] });
    const plot = comparisonPlot(c, 'RetinaNet, 10% labels');
    expect(plot.svg.match(/<polygon class='band'/g)).toHaveLength(2);
    expect(plot.svg).toContain('retinanet / aligndet (n=3)');
    // The random band at step 200 spans mean ± std: 0.2333 ± 0.1528 → these pixel heights.
    const y = plot.geometry.y;
    const band = /<polygon class='band' points='([^']*)'/.exec(plot.svg)?.[1].split(' ') ?? [];
    const ys = band.map((p) => Number(p.split(',')[1]));
    expect(Math.min(...ys)).toBeCloseTo(y.map(0.23333333 + 0.15275252), 1);
    expect(Math.max(...ys)).toBeCloseTo(y.map(0.04 - 0.02), 1);
  });
});
