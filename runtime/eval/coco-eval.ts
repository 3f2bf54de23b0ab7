// The entry point of detection evaluation (runtime/eval, the last step of the flow: a model's
// detections → the numbers in docs/results.md and `alignc eval`). Takes a COCO ground truth and a
// COCO results list as plain data, checks them, and returns pycocotools' 12 bbox stats,
// per-category AP/AP50/AP75 and VOC-style AP50. Pure: no files, no GPU.

import { accumulate, type AccumulatedTables } from './accumulate.js';
import type { CocoGroundTruthJson, CocoResultJson, EvalInput } from './coco-format.js';
import { categoryAp, cocoStats, COCO_STAT_NAMES, type CocoStatName } from './summarize.js';
import { checkGroundTruth, checkResults } from './validate.js';
import { vocAp50PerCategory } from './voc-ap.js';
import { meanOfValid } from './numpy-mean.js';

export interface CategoryReport {
  readonly categoryId: number;
  readonly name: string;
  /** COCO AP@[.50:.95], AP@.50, AP@.75 (area all, maxDets 100); -1 when the category has no GT. */
  readonly ap: number;
  readonly ap50: number;
  readonly ap75: number;
  /** VOC2010+ all-point AP at IoU 0.5; -1 when the category has no (non-crowd) GT. */
  readonly vocAp50: number;
}

export interface BboxEvalReport {
  readonly statNames: readonly CocoStatName[];
  /** pycocotools' `COCOeval.stats`, in `statNames` order; -1 where nothing could be measured. */
  readonly stats: readonly number[];
  /** The same numbers by name. */
  readonly byName: Readonly<Record<CocoStatName, number>>;
  /** Ground-truth categories, ascending by id. */
  readonly perCategory: readonly CategoryReport[];
  /** Mean VOC AP50 over the categories with ground truth; -1 when there are none. */
  readonly vocAp50: number;
  readonly counts: {
    readonly images: number;
    readonly categories: number;
    readonly groundTruth: number;
    readonly crowdGroundTruth: number;
    readonly detections: number;
  };
}

export interface EvalSources {
  /** Names used in error messages, usually the file paths. */
  readonly groundTruth?: string;
  readonly results?: string;
}

/** Evaluates COCO results against a COCO ground truth (typed inputs; still checked at run time). */
export function evaluateBbox(
  groundTruth: CocoGroundTruthJson,
  results: readonly CocoResultJson[],
  sources: EvalSources = {},
): BboxEvalReport {
  return evaluateBboxJson(groundTruth, results, sources);
}

/** Evaluates parsed JSON of unknown shape, e.g. straight from `JSON.parse` of the two files. */
export function evaluateBboxJson(
  groundTruth: unknown,
  results: unknown,
  sources: EvalSources = {},
): BboxEvalReport {
  const gt = checkGroundTruth(groundTruth, sources.groundTruth);
  const input = checkResults(results, gt, sources.results);
  return reportOf(input, accumulate(input));
}

export function reportOf(input: EvalInput, tables: AccumulatedTables): BboxEvalReport {
  const stats = cocoStats(tables);
  const voc = vocAp50PerCategory(input);
  const counts = {
    images: input.imageIds.length,
    categories: input.categories.length,
    groundTruth: 0,
    crowdGroundTruth: 0,
    detections: 0,
  };
  for (let i = 0; i < input.imageIds.length; i++)
    for (let k = 0; k < input.categories.length; k++) {
      const cell = input.cell(i, k);
      counts.groundTruth += cell.gt.length;
      counts.crowdGroundTruth += cell.gt.filter((g) => g.crowd).length;
      counts.detections += cell.dt.length;
    }
  return {
    statNames: COCO_STAT_NAMES,
    stats,
    byName: Object.fromEntries(COCO_STAT_NAMES.map((n, i) => [n, stats[i]])) as Record<
      CocoStatName,
      number
    >,
    perCategory: input.categories.map((c, k) => ({
      categoryId: c.id,
      name: c.name,
      ...categoryAp(tables, k),
      vocAp50: voc[k],
    })),
    vocAp50: meanOfValid(voc),
    counts,
  };
}
