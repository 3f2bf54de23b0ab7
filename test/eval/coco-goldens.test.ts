// The evaluator against pycocotools: every case of test/fixtures/eval (BCCD val split, numbers from
// the real pycocotools COCOeval; see the README there) must give the same 12 stats and the same
// per-category AP/AP50/AP75, and the VOC AP50 of scripts/make_voc_ap50_goldens.py.

import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { evaluateBboxJson } from '../../runtime/eval/coco-eval.js';
import { COCO_STAT_NAMES } from '../../runtime/eval/summarize.js';

const fixtures = new URL('../fixtures/eval/', import.meta.url);
const readFixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(name, fixtures), 'utf8')) as unknown;

interface Manifest {
  readonly cases: readonly { name: string; gt: string; results: string; expected: string }[];
}
interface Expected {
  readonly names: readonly string[];
  readonly stats: readonly number[];
  readonly per_category: readonly {
    category_id: number;
    name: string;
    AP: number;
    AP50: number;
    AP75: number;
  }[];
}
interface ExpectedVoc {
  readonly cases: Readonly<
    Record<string, { AP50: number; per_category: readonly { category_id: number; AP50: number }[] }>
  >;
}

const manifest = readFixture('manifest.json') as Manifest;
const voc = readFixture('expected_voc_ap50.json') as ExpectedVoc;

/** The brief asks for 1e-4; the fixtures' README shows rule mistakes move stats by >= 8e-6 and
 * float-order effects by <= 1.2e-15, so 1e-12 is the stricter check that still means "same". */
const TOLERANCE = 1e-12;

test('the manifest lists the seven cases', () => {
  expect(manifest.cases.map((c) => c.name)).toEqual([
    'a_perfect',
    'b_noisy',
    'c_stress_crowd',
    'c_stress_nocrowd',
    'd_sparse',
    'e_absent',
    'f_ties',
  ]);
});

describe.each(manifest.cases)('$name', (c) => {
  const expected = readFixture(c.expected) as Expected;
  const report = evaluateBboxJson(readFixture(c.gt), readFixture(c.results), {
    groundTruth: c.gt,
    results: c.results,
  });

  test('the 12 stats match pycocotools', () => {
    expect(expected.names).toEqual([...COCO_STAT_NAMES]);
    report.stats.forEach((value, i) => {
      expect(Math.abs(value - expected.stats[i]), `${COCO_STAT_NAMES[i]}`).toBeLessThan(TOLERANCE);
    });
  });

  test('per-category AP, AP50, AP75 match pycocotools', () => {
    expect(report.perCategory.map((p) => p.categoryId)).toEqual(
      expected.per_category.map((p) => p.category_id),
    );
    report.perCategory.forEach((p, k) => {
      const e = expected.per_category[k];
      expect(p.name).toBe(e.name);
      expect(Math.abs(p.ap - e.AP), `${e.name} AP`).toBeLessThan(TOLERANCE);
      expect(Math.abs(p.ap50 - e.AP50), `${e.name} AP50`).toBeLessThan(TOLERANCE);
      expect(Math.abs(p.ap75 - e.AP75), `${e.name} AP75`).toBeLessThan(TOLERANCE);
    });
  });

  test('VOC AP50 matches the independent numpy implementation', () => {
    const v = voc.cases[c.name];
    expect(Math.abs(report.vocAp50 - v.AP50)).toBeLessThan(1e-12);
    report.perCategory.forEach((p, k) => {
      expect(p.categoryId).toBe(v.per_category[k].category_id);
      expect(Math.abs(p.vocAp50 - v.per_category[k].AP50)).toBeLessThan(1e-12);
    });
  });
});
