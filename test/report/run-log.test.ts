// The run log format (runtime/io/run-log*.ts): writer → reader round trip including non-finite
// losses, the partial last line a killed run leaves, malformed lines reported at file:line:col,
// record-order rules, and reading the fixture log written by scripts/make_report_fixture.py
// (Python's json, not alignc's writer).

import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseRunLog, readRunLog, RunLogError } from '../../runtime/io/run-log-reader.js';
import {
  describeMachine,
  newRunId,
  RunLogExistsError,
  RunLogWriter,
  sha256Hex,
  type HeaderFields,
} from '../../runtime/io/run-log-writer.js';
import { evaluateBbox } from '../../runtime/eval/coco-eval.js';
import { COCO_STAT_NAMES, evalNumbersOf } from '../../runtime/io/run-log.js';

const dir = mkdtempSync(join(tmpdir(), 'alignc-run-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const FIXTURE_LOG = join(import.meta.dirname, '../fixtures/report/run/log.jsonl');

const header: HeaderFields = {
  runId: newRunId(new Date('2026-11-27T10:13:24.512Z'), new Uint8Array([0x3f, 0xa9, 0xc1])),
  name: 'unit',
  pipeline: 'pipelines/x.align',
  pipelineSha256: sha256Hex('stage s {}'),
  seed: 7,
  command: ['alignc', 'run', 'pipelines/x.align'],
  machine: describeMachine(null),
  startedAt: '2026-11-27T10:13:24.512Z',
  settings: { detector: 'fcos', labelled: 0.1, frozen: true },
};

const stats = Object.fromEntries(
  COCO_STAT_NAMES.map((n, i) => [n, i === 3 ? -1 : i / 20]),
) as Record<(typeof COCO_STAT_NAMES)[number], number>;

function step(n: number, cls: number) {
  return {
    stage: 'finetune',
    step: n,
    epoch: 0,
    wallSeconds: n * 0.5,
    lr: 0.01,
    losses: { cls, reg: 0.25 },
    imagesPerSecond: 8,
    timeShare: { data: 0.1, forward: 0.3, backward: 0.5, optimizer: 0.05 },
  };
}

function writeSmallLog(path: string): void {
  const w = RunLogWriter.create(path, header);
  w.step(step(1, 1.5));
  w.step(step(2, NaN));
  w.step(step(3, Infinity));
  w.eval({
    stage: 'finetune',
    step: 3,
    wallSeconds: 2,
    split: 'val',
    stats,
    perCategory: [{ categoryId: 1, name: 'RBC', ap: 0.5, ap50: 0.75, ap75: 0.5, vocAp50: 0.8 }],
    vocAp50: 0.8,
    counts: { images: 2, categories: 1, groundTruth: 3, crowdGroundTruth: 0, detections: 4 },
  });
  w.checkpoint({
    stage: 'finetune',
    step: 3,
    wallSeconds: 2.5,
    path: 'checkpoints/f-3.safetensors',
  });
  w.end('failed', 3, 'loss is NaN at step 2');
}

describe('run log writer and reader', () => {
  it('round-trips every record kind, NaN and Infinity included', () => {
    const path = join(dir, 'round', 'log.jsonl');
    writeSmallLog(path);
    const text = readFileSync(path, 'utf8');
    expect(text.split('\n')).toHaveLength(8); // 7 records + the final empty string
    expect(text).toContain('"cls":"NaN"');
    expect(text).toContain('"cls":"Infinity"');
    const log = readRunLog(path);
    expect(log.header).toEqual({ kind: 'header', format: 'alignc-run-log/1', ...header });
    expect(log.header.runId).toBe('20261127T101324Z-3fa9c1');
    expect(log.steps.map((s) => s.losses.cls)).toEqual([1.5, NaN, Infinity]);
    expect(log.steps[0]).toEqual({ kind: 'step', ...step(1, 1.5) });
    expect(log.evals[0].stats).toEqual(stats);
    expect(log.evals[0].perCategory[0].ap50).toBe(0.75);
    expect(log.checkpoints[0].path).toBe('checkpoints/f-3.safetensors');
    expect(log.end).toEqual({
      kind: 'end',
      status: 'failed',
      wallSeconds: 3,
      message: 'loss is NaN at step 2',
    });
    expect(log.truncatedLastLine).toBeNull();
    expect(log.records.map((r) => r.kind)).toEqual([
      'step',
      'step',
      'step',
      'eval',
      'checkpoint',
      'end',
    ]);
  });

  it('never appends to or overwrites an existing log', () => {
    const path = join(dir, 'exists', 'log.jsonl');
    RunLogWriter.create(path, header).close();
    expect(() => RunLogWriter.create(path, header)).toThrow(RunLogExistsError);
  });

  it('refuses a record the reader would reject, before writing it', () => {
    const path = join(dir, 'refuse', 'log.jsonl');
    const w = RunLogWriter.create(path, header);
    expect(() =>
      w.step({ ...step(1, 1), timeShare: { data: 2, forward: 0, backward: 0, optimizer: 0 } }),
    ).toThrow(/timeShare.data is 2, not a share between 0 and 1/);
    w.close();
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(1);
    expect(() => w.step(step(1, 1))).toThrow(/after close/);
  });

  it('drops a partial last line (a killed run) and says which line', () => {
    const path = join(dir, 'killed', 'log.jsonl');
    const w = RunLogWriter.create(path, header);
    w.step(step(1, 1.2));
    w.step(step(2, 1.1));
    w.close();
    appendFileSync(path, '{"kind":"step","stage":"finetune","step":3,"epo');
    const log = readRunLog(path);
    expect(log.steps.map((s) => s.step)).toEqual([1, 2]);
    expect(log.end).toBeNull();
    expect(log.truncatedLastLine).toEqual({
      line: 4,
      text: '{"kind":"step","stage":"finetune","step":3,"epo',
    });
  });

  it('rejects a malformed line that is not the last, at file:line:col', () => {
    const path = join(dir, 'bad', 'log.jsonl');
    writeSmallLog(path);
    const lines = readFileSync(path, 'utf8').split('\n');
    lines[2] = lines[2].replace('"stage":"finetune"', `"stage":'finetune'`);
    writeFileSync(path, lines.join('\n'));
    let error: unknown;
    try {
      readRunLog(path);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RunLogError);
    const rendered = (error as RunLogError).render();
    // The single quote is the first character no JSON can continue with.
    const column = lines[2].indexOf("'") + 1;
    expect(column).toBeGreaterThan(10);
    expect(rendered).toMatch(
      new RegExp(
        `^${path.replace(/[.]/g, '\\.')}:3:${column}: error\\[E_RUN_LOG\\]: line is not valid JSON`,
      ),
    );
  });

  it('names the bad field of a record that parses', () => {
    const text = [
      JSON.stringify({ kind: 'header', format: 'alignc-run-log/1', ...header }),
      JSON.stringify({ kind: 'step', ...step(1, 1), losses: { cls: 'low' } }),
      '',
    ].join('\n');
    expect(() => parseRunLog(text, 'r/log.jsonl')).toThrow(
      /bad 'step' record: losses.cls is "low", not a number/,
    );
    try {
      parseRunLog(text, 'r/log.jsonl');
    } catch (e) {
      expect((e as RunLogError).render()).toMatch(/^r\/log\.jsonl:2:1: error\[E_RUN_LOG\]/);
    }
  });

  it('enforces record order: header first, one header, nothing after end, steps increasing', () => {
    const h = JSON.stringify({ kind: 'header', format: 'alignc-run-log/1', ...header });
    const s = (n: number) => JSON.stringify({ kind: 'step', ...step(n, 1) });
    const end = JSON.stringify({ kind: 'end', status: 'completed', wallSeconds: 1, message: null });
    const parse =
      (...lines: string[]) =>
      () =>
        parseRunLog(lines.join('\n') + '\n', 'l');
    expect(parse(s(1), h)).toThrow(
      /l:1:1: .*first record is a 'step', not the header|first record is a 'step'/,
    );
    expect(parse(h, h)).toThrow(/a second header record/);
    expect(parse(h, end, s(1))).toThrow(/a 'step' record after the run's end record/);
    expect(parse(h, s(2), s(2))).toThrow(/stage 'finetune' step 2 comes after step 2/);
    expect(parse('', h)).toThrow(/empty line/);
    expect(() => parseRunLog('', 'l')).toThrow(/has no header record/);
    expect(() =>
      parseRunLog(h.replace('alignc-run-log/1', 'alignc-run-log/9') + '\n', 'l'),
    ).toThrow(/format is "alignc-run-log\/9"; this alignc reads "alignc-run-log\/1"/);
  });

  it('carries a report of runtime/eval through the log unchanged', () => {
    const report = evaluateBbox(
      {
        images: [{ id: 1 }, { id: 2 }],
        categories: [
          { id: 1, name: 'RBC' },
          { id: 2, name: 'WBC' },
        ],
        annotations: [
          { id: 1, image_id: 1, category_id: 1, bbox: [10, 10, 40, 40] },
          { id: 2, image_id: 2, category_id: 1, bbox: [50, 50, 30, 30] },
        ],
      },
      [
        { image_id: 1, category_id: 1, bbox: [12, 11, 40, 38], score: 0.9 },
        { image_id: 2, category_id: 1, bbox: [0, 0, 10, 10], score: 0.8 },
      ],
    );
    const path = join(dir, 'eval', 'log.jsonl');
    const w = RunLogWriter.create(path, header);
    w.eval({ stage: 'finetune', step: 0, wallSeconds: 1, split: 'val', ...evalNumbersOf(report) });
    w.end('interrupted', 2, 'SIGINT');
    const log = readRunLog(path);
    expect(log.evals[0].stats).toEqual(report.byName);
    expect(log.evals[0].perCategory).toEqual(report.perCategory);
    expect(log.evals[0].perCategory[1].ap).toBe(-1); // WBC has no ground truth
    expect(log.evals[0].counts).toEqual(report.counts);
    expect(log.end?.message).toBe('SIGINT');
  });

  it('reads the fixture log written by Python', () => {
    const raw = readFileSync(FIXTURE_LOG, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; step?: number; stats?: { AP: number } });
    const log = readRunLog(FIXTURE_LOG);
    const count = (kind: string) => raw.filter((r) => r.kind === kind).length;
    expect(log.steps).toHaveLength(count('step'));
    expect(log.evals).toHaveLength(count('eval'));
    expect(log.checkpoints).toHaveLength(count('checkpoint'));
    expect(log.end?.status).toBe('completed');
    const lastEval = raw.filter((r) => r.kind === 'eval').at(-1);
    expect(log.evals.at(-1)?.stats.AP).toBe(lastEval?.stats?.AP);
    expect(log.evals[0].stats.APs).toBe(-1);
  });
});
