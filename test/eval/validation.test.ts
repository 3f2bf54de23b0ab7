// Bad inputs to the evaluator: each must be refused with a typed AlignError whose message names the
// file and the entry, never a crash or a silently shrunk evaluation.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { evaluateBboxJson } from '../../runtime/eval/coco-eval.js';
import { readJsonFile } from '../../runtime/eval/json-file.js';
import { AlignError } from '../../runtime/errors.js';

const gt = {
  images: [{ id: 3 }, { id: 9 }],
  categories: [
    { id: 1, name: 'RBC' },
    { id: 2, name: 'WBC' },
  ],
  annotations: [
    { id: 1, image_id: 3, category_id: 1, bbox: [0, 0, 10, 10], area: 100, iscrowd: 0 },
  ],
};
const good = { image_id: 3, category_id: 1, bbox: [0, 0, 10, 10], score: 0.5 };

/** The AlignError `run` throws; fails the test when it throws something else or nothing. */
function alignErrorOf(run: () => unknown): AlignError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AlignError);
    return error as AlignError;
  }
  throw new Error('expected an AlignError, nothing was thrown');
}

function resultsError(entry: unknown, at = 1): AlignError {
  const results = [good, good];
  results[at] = entry as typeof good;
  return alignErrorOf(() =>
    evaluateBboxJson(gt, results, { groundTruth: 'gt.json', results: 'dets.json' }),
  );
}

describe('results entries', () => {
  test.each([
    ['negative width', [0, 0, -5, 10], /width and height must not be negative.*\[x1, y1, x2, y2\]/],
    [
      'three numbers',
      [0, 0, 10],
      /bbox must be \[x, y, width, height\] \(4 numbers\), got \[0,0,10\]/,
    ],
    ['a string', [0, 0, '10', 10], /4 finite numbers/],
    ['missing', undefined, /bbox must be/],
    ['infinite', [0, 0, Infinity, 10], /4 finite numbers/],
  ])('bad bbox (%s)', (_, bbox, pattern) => {
    const error = resultsError({ ...good, bbox });
    expect(error.code).toBe('E_EVAL_RESULTS');
    expect(error.message).toMatch(/^dets\.json: results\[1\] \(image_id 3, category_id 1\): /);
    expect(error.message).toMatch(pattern);
  });

  test('unknown image_id', () => {
    const error = resultsError({ ...good, image_id: 4 });
    expect(error.code).toBe('E_EVAL_RESULTS');
    expect(error.message).toContain(
      'results[1] (image_id 4, category_id 1): image_id 4 is not an image of gt.json',
    );
    expect(error.hint).toContain('2 images with ids 3..9');
  });

  test('unknown category_id', () => {
    const error = resultsError({ ...good, category_id: 7 }, 0);
    expect(error.message).toContain(
      'results[0] (image_id 3, category_id 7): category_id 7 is not a category of gt.json',
    );
    expect(error.hint).toBe('categories: 1 RBC, 2 WBC');
  });

  test('NaN, missing and string scores', () => {
    expect(resultsError({ ...good, score: NaN }).message).toMatch(
      /results\[1\].*'score' must be a finite number, got null/,
    );
    expect(resultsError({ ...good, score: undefined }).message).toMatch(
      /'score' must be a finite number, got undefined/,
    );
    expect(resultsError({ ...good, score: '0.5' }).message).toMatch(/got "0\.5"/);
  });

  test('not a list, or a ground truth passed as results', () => {
    const error = alignErrorOf(() => evaluateBboxJson(gt, gt, { results: 'dets.json' }));
    expect(error.code).toBe('E_EVAL_RESULTS');
    expect(error.message).toMatch(/^dets\.json: a COCO results file must be a JSON list/);
    expect(error.hint).toContain('ground-truth file');
  });

  test('an entry that is not an object', () => {
    expect(resultsError(42).message).toContain('results[1]: must be an object, got 42');
  });
});

describe('ground truth', () => {
  const gtError = (value: unknown): AlignError =>
    alignErrorOf(() => evaluateBboxJson(value, [], { groundTruth: 'gt.json' }));

  test('a results list passed as ground truth', () => {
    const error = gtError([good]);
    expect(error.code).toBe('E_EVAL_GT');
    expect(error.message).toMatch(/^gt\.json: a COCO ground truth must be a JSON object/);
  });

  test('missing categories', () => {
    const error = gtError({ images: [], annotations: [] });
    expect(error.message).toContain("gt.json: 'categories' must be a list, got undefined");
  });

  test('annotation of an image or category the file does not list', () => {
    const annotation = gt.annotations[0];
    expect(gtError({ ...gt, annotations: [{ ...annotation, image_id: 5 }] }).message).toContain(
      "annotations[0] (id 1): image_id 5 is not in 'images'",
    );
    expect(gtError({ ...gt, annotations: [{ ...annotation, category_id: 3 }] }).message).toContain(
      "annotations[0] (id 1): category_id 3 is not in 'categories'",
    );
  });

  test('bad annotation bbox, area, iscrowd, duplicate ids', () => {
    const a = gt.annotations[0];
    const with_ = (over: object) => gtError({ ...gt, annotations: [a, { ...a, id: 2, ...over }] });
    expect(with_({ bbox: [1, 2, 3, -4] }).message).toContain(
      'annotations[1] (id 2): bbox width and height',
    );
    expect(with_({ area: -1 }).message).toContain(
      "annotations[1] (id 2): 'area' must be a non-negative number",
    );
    expect(with_({ iscrowd: 2 }).message).toContain("'iscrowd' must be 0 or 1, got 2");
    expect(with_({ id: 1 }).message).toContain(
      'annotations[1]: duplicate annotation id 1 (also annotations[0])',
    );
    expect(gtError({ ...gt, images: [{ id: 3 }, { id: 3 }] }).message).toContain(
      'images[1]: duplicate image id 3 (also images[0])',
    );
    expect(gtError({ ...gt, images: [{ id: '3' }] }).message).toContain(
      "images[0]: 'id' must be an integer",
    );
  });

  test('an annotation without area uses its bbox area', () => {
    const { area: _, ...noArea } = gt.annotations[0];
    const report = evaluateBboxJson({ ...gt, annotations: [noArea] }, [good]);
    expect(report.byName.APs).toBe(0.9999999999999998);
  });
});

describe('files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'alignc-eval-'));

  test('malformed JSON names the file, line and column', () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, '[\n  {"image_id": 1,\n   "score": 0.5\n  ,\n]\n');
    const error = alignErrorOf(() => readJsonFile(path, 'results'));
    expect(error.code).toBe('E_EVAL_JSON');
    expect(error.render()).toMatch(
      new RegExp(
        `^${path.replace(/[.]/g, '\\.')}:\\d+:\\d+: error\\[E_EVAL_JSON\\]: the results file is not valid JSON`,
      ),
    );
  });

  test('malformed JSON without a position still names the file', () => {
    const path = join(dir, 'token.json');
    writeFileSync(path, '[1,}');
    const error = alignErrorOf(() => readJsonFile(path, 'results'));
    expect(error.message).toContain(path);
  });

  test('NaN written by Python gets a hint', () => {
    const path = join(dir, 'nan.json');
    writeFileSync(path, '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": NaN}]');
    const error = alignErrorOf(() => readJsonFile(path, 'results'));
    expect(error.code).toBe('E_EVAL_JSON');
    expect(error.hint).toContain('NaN');
  });

  test('a missing file', () => {
    const error = alignErrorOf(() => readJsonFile(join(dir, 'nope.json'), 'ground truth'));
    expect(error.code).toBe('E_FILE');
    expect(error.message).toContain("cannot read the ground truth file '");
    expect(error.message).toContain('nope.json');
  });
});
