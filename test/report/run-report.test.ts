// The HTML report of a run (runtime/report/run-report.ts, render-sample.ts) and `alignc report`, on
// the fixture run of scripts/make_report_fixture.py: the tables carry the log's numbers (read
// here with plain JSON.parse), the plots and pictures are inline, nothing is fetched from
// elsewhere, drawn boxes land on the right pixels, damaged input becomes a warning.

import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
  appendFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/app.js';
import { decodeImage } from '../../runtime/data/image.js';
import { rgbOfHex } from '../../runtime/report/draw-boxes.js';
import { renderSample } from '../../runtime/report/render-sample.js';
import { buildRunReport } from '../../runtime/report/run-report.js';
import {
  readSampleRecord,
  SAMPLE_FORMAT,
  writeSampleRecord,
  type SampleRecord,
} from '../../runtime/report/sample-record.js';

const FIXTURE = join(import.meta.dirname, '../fixtures/report/run');
const dir = mkdtempSync(join(tmpdir(), 'alignc-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface RawEval {
  kind: 'eval';
  stage: string;
  step: number;
  stats: Record<string, number>;
  perCategory: { name: string; ap: number; ap50: number }[];
}
const rawRecords = readFileSync(join(FIXTURE, 'log.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { kind: string });
const lastEval = rawRecords.filter((r): r is RawEval => r.kind === 'eval').at(-1) as RawEval;

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o = vi
    .spyOn(process.stdout, 'write')
    .mockImplementation((s) => (out.push(String(s)), true));
  const e = vi
    .spyOn(process.stderr, 'write')
    .mockImplementation((s) => (err.push(String(s)), true));
  try {
    return { code: await main(argv), out: out.join(''), err: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('run report', () => {
  it('holds the results table, per-class AP, plots and samples, all inline', async () => {
    const report = await buildRunReport(FIXTURE);
    const html = report.html;
    expect(report.warnings).toEqual([]);
    expect(report.samplesShown).toBe(1);
    const results = /<table id="results-finetune">([\s\S]*?)<\/table>/.exec(html)?.[1] ?? '';
    for (const name of ['AP', 'AP50', 'AP75', 'APs', 'ARl', 'VOC AP50'])
      expect(results).toContain(`<th>${name}</th>`);
    expect(results).toContain(`<td class="num">${lastEval.stats.AP.toFixed(3)}</td>`);
    expect(results).toContain(`<td class="num">${lastEval.stats.AR100.toFixed(3)}</td>`);
    expect(results).toContain('<td class="num">n/a</td>'); // APs is -1 in the fixture
    const perClass = /<table id="per-class-finetune">([\s\S]*?)<\/table>/.exec(html)?.[1] ?? '';
    for (const c of lastEval.perCategory)
      expect(perClass).toMatch(
        new RegExp(
          `<td>${c.name}</td><td class="num">${c.ap.toFixed(3)}</td><td class="num">${c.ap50.toFixed(3)}</td>`,
        ),
      );
    expect(html.match(/<svg /g)).toHaveLength(5); // loss + lr per stage, AP for finetune
    for (const id of [
      'box_domain-loss',
      'box_domain-lr',
      'finetune-loss',
      'finetune-lr',
      'finetune-map',
    ])
      expect(html).toContain(`<figure id="plot-${id}">`);
    expect(html.match(/src="data:image\/png;base64,/g)).toHaveLength(3);
    expect(html).toContain('completed');
    expect(html).toContain('20261127T080000Z-5eed01');
    // Self-contained: no scripts, no external fetches (the SVG namespace URI is not a fetch).
    expect(html).not.toMatch(/<script|<link|@import|url\(|src="(?!data:)|href=/i);
  });

  it('plots the gradient norm of the stages whose steps log it', async () => {
    const copy = join(dir, 'with-grad-norm');
    cpSync(FIXTURE, copy, { recursive: true });
    const lines = rawRecords.map((r) => {
      const record = r as { kind: string; stage?: string; step?: number };
      return JSON.stringify(
        record.kind === 'step' && record.stage === 'finetune'
          ? { ...record, gradNorm: 10 / record.step! }
          : record,
      );
    });
    writeFileSync(join(copy, 'log.jsonl'), lines.join('\n') + '\n');
    const { html, warnings } = await buildRunReport(copy);
    expect(warnings).toEqual([]);
    expect(html).toContain('<figure id="plot-finetune-grad-norm">');
    expect(html).toContain('finetune: gradient norm before clipping');
    expect(html).not.toContain('plot-box_domain-grad-norm');
  });

  it('draws a box on the scaled image in the category colour', async () => {
    const image = join(FIXTURE, 'images/BloodImage_00000.jpg');
    const box = [259, 176, 491, 376] as const; // the WBC of BloodImage_00000 (VOC 260,177..491,376)
    const rendered = await renderSample(
      {
        format: SAMPLE_FORMAT,
        stage: 's',
        step: 1,
        image,
        groundTruth: [{ box, label: 'WBC' }],
        proposals: [],
        matches: [],
        predictions: [],
      },
      FIXTURE,
      { maxWidth: 320, categoryColours: new Map([['WBC', '#009e73']]) },
    );
    const panel = await decodeImage(rendered.panels[0].png);
    expect([panel.width, panel.height]).toEqual([320, 240]);
    const at = (x: number, y: number) => [
      ...panel.data.subarray((y * 320 + x) * 3, (y * 320 + x) * 3 + 3),
    ];
    const near = (a: number[], b: readonly number[]) => a.every((v, i) => Math.abs(v - b[i]) <= 12);
    // Scale 0.5: left edge x = round(129.5) = 130 (3 px wide: 130..132), mid height y = 138.
    const wbc = rgbOfHex('#009e73');
    expect(near(at(130, 138), wbc)).toBe(true);
    expect(near(at(132, 138), wbc)).toBe(true);
    expect(near(at(134, 138), wbc)).toBe(false);
    expect(near(at(128, 138), wbc)).toBe(false);
  });

  it('sample records round-trip, and bad ones are refused with the field named', () => {
    const record: SampleRecord = {
      format: SAMPLE_FORMAT,
      stage: 'box_domain',
      step: 40,
      image: '/data/a.jpg',
      groundTruth: [{ box: [1, 2, 30, 40], label: 'RBC' }],
      proposals: [{ box: [0, 0, 28, 41] }, { box: [5, 5, 9, 9] }],
      matches: [{ proposal: 0, groundTruth: 0, iou: 0.81 }],
      predictions: [{ box: [1, 1, 29, 39], label: 'RBC', score: 0.7 }],
    };
    const path = writeSampleRecord(join(dir, 'samples'), 'box_domain-40-a', record);
    expect(path).toBe(join(dir, 'samples', 'images', 'box_domain-40-a.json'));
    expect(readSampleRecord(path)).toEqual(record);
    const bad = { ...record, matches: [{ proposal: 2, groundTruth: 0, iou: 0.5 }] };
    expect(() => writeSampleRecord(join(dir, 'samples'), 'bad', bad)).toThrow(
      /matches\[0\]\.proposal 2 is not a proposal index/,
    );
  });

  it('still reports a killed run with a missing image, and says what is wrong', async () => {
    const runDir = join(dir, 'killed');
    cpSync(FIXTURE, runDir, { recursive: true });
    const logPath = join(runDir, 'log.jsonl');
    const lines = readFileSync(logPath, 'utf8').trim().split('\n');
    writeFileSync(logPath, lines.slice(0, 100).join('\n') + '\n');
    appendFileSync(logPath, lines[100].slice(0, 40));
    rmSync(join(runDir, 'images/BloodImage_00000.jpg'));
    writeFileSync(join(runDir, 'images/zz-bad.json'), '{"format": "alignc-sample/1"}');
    const report = await buildRunReport(runDir);
    expect(report.warnings).toHaveLength(3);
    expect(report.warnings[0]).toMatch(/log\.jsonl:101: the last line is incomplete/);
    expect(report.warnings.join('\n')).toMatch(
      /zz-bad\.json: bad sample record: 'groundTruth' is not a list/,
    );
    expect(report.warnings.join('\n')).toMatch(
      /sample images\/BloodImage_00000\.jpg: cannot decode image/,
    );
    expect(report.html).toContain('no end record: still running, or killed');
    expect(report.html).toContain('class="warning"');
  });

  it('alignc report writes the page and the PNG/SVG plots', async () => {
    const out = join(dir, 'cli', 'report.html');
    const plots = join(dir, 'cli', 'plots');
    rmSync(join(dir, 'cli'), { recursive: true, force: true });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'cli'));
    const r = await run('report', FIXTURE, '--out', out, '--plots', plots);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /wrote .*report\.html: 350 steps, 11 evaluations, 1 samples, status completed/,
    );
    expect(r.out).toMatch(/wrote 10 plot files/);
    expect(readFileSync(out, 'utf8')).toContain('<table id="results-finetune">');
    const meta = await sharp(join(plots, 'finetune-map.png')).metadata();
    const svg = readFileSync(join(plots, 'finetune-map.svg'), 'utf8');
    const [, w, h] = /width='(\d+)' height='(\d+)'/.exec(svg) ?? [];
    expect([meta.width, meta.height]).toEqual([2 * Number(w), 2 * Number(h)]);
    const stats = await sharp(join(plots, 'finetune-map.png')).stats();
    expect(stats.channels[0].stdev).toBeGreaterThan(5); // lines and text were drawn on the white
  });

  it('alignc report explains a missing or wrong run directory', async () => {
    const none = await run('report');
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/needs a run directory/);
    const missing = await run('report', join(dir, 'nope'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/cannot read the run log '.*nope\/log\.jsonl': no such file/);
    expect(existsSync(join(dir, 'nope'))).toBe(false);
  });
});
