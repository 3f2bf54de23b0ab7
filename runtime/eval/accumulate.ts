// Precision/recall tables of COCO bbox evaluation (runtime/eval; pycocotools' `evaluate` +
// `accumulate`): per category, area range and maxDets, the images' matched detections are pooled
// in ascending image-id order, stably sorted by score, and turned into 101-point interpolated
// precision and final recall at every IoU threshold. summarize.ts reads the tables.

import type { EvalInput } from './coco-format.js';
import {
  descendingStableOrder,
  evaluateImage,
  prepareCell,
  type ImageEvaluation,
  type PreparedCell,
} from './evaluate-image.js';
import {
  AREA_RANGES,
  IOU_THRESHOLDS,
  MAX_DETECTIONS,
  PRECISION_EPS,
  RECALL_THRESHOLDS,
} from './params.js';

/** pycocotools' `eval['precision']` and `eval['recall']`, flat in numpy's C order; -1 where a
 * category has no counted ground truth in an area range. */
export interface AccumulatedTables {
  /** Shape `[T, R, K, A, M]` (IoU thresholds, recall thresholds, categories, areas, maxDets). */
  readonly precision: Float64Array;
  /** Shape `[T, K, A, M]`. */
  readonly recall: Float64Array;
  readonly shape: {
    readonly T: number;
    readonly R: number;
    readonly K: number;
    readonly A: number;
    readonly M: number;
  };
}

export function precisionIndex(
  shape: AccumulatedTables['shape'],
  t: number,
  r: number,
  k: number,
  a: number,
  m: number,
): number {
  return (((t * shape.R + r) * shape.K + k) * shape.A + a) * shape.M + m;
}

export function recallIndex(
  shape: AccumulatedTables['shape'],
  t: number,
  k: number,
  a: number,
  m: number,
): number {
  return ((t * shape.K + k) * shape.A + a) * shape.M + m;
}

export function accumulate(input: EvalInput): AccumulatedTables {
  const T = IOU_THRESHOLDS.length;
  const R = RECALL_THRESHOLDS.length;
  const K = input.categories.length;
  const A = AREA_RANGES.length;
  const M = MAX_DETECTIONS.length;
  const shape = { T, R, K, A, M };
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const maxCut = MAX_DETECTIONS[M - 1];

  for (let k = 0; k < K; k++) {
    const prepared: PreparedCell[] = input.imageIds.map((_, i) =>
      prepareCell(input.cell(i, k), maxCut),
    );
    for (let a = 0; a < A; a++) {
      const evaluations = prepared
        .map((p) => evaluateImage(p, AREA_RANGES[a]))
        .filter((e): e is ImageEvaluation => e !== undefined);
      if (evaluations.length === 0) continue;
      const countedGt = evaluations.reduce((sum, e) => sum + e.countedGt, 0);
      if (countedGt === 0) continue;
      for (let m = 0; m < M; m++) {
        const curve = pooledCurves(evaluations, MAX_DETECTIONS[m], countedGt);
        for (let t = 0; t < T; t++) {
          recall[recallIndex(shape, t, k, a, m)] = curve.recall[t];
          for (let r = 0; r < R; r++)
            precision[precisionIndex(shape, t, r, k, a, m)] = curve.precision[t * R + r];
        }
      }
    }
  }
  return { precision, recall, shape };
}

/** Final recall `[t]` and interpolated precision `[t * R + r]` of the pooled detections. */
function pooledCurves(
  evaluations: readonly ImageEvaluation[],
  maxDet: number,
  countedGt: number,
): { recall: Float64Array; precision: Float64Array } {
  const T = IOU_THRESHOLDS.length;
  const R = RECALL_THRESHOLDS.length;
  // Concatenate each image's first maxDet detections, images in ascending id order.
  const owner: number[] = [];
  const position: number[] = [];
  const scores: number[] = [];
  evaluations.forEach((e, i) => {
    const n = Math.min(maxDet, e.scores.length);
    for (let d = 0; d < n; d++) {
      owner.push(i);
      position.push(d);
      scores.push(e.scores[d]);
    }
  });
  const order = descendingStableOrder(scores);
  const N = order.length;
  const recallOut = new Float64Array(T);
  const precisionOut = new Float64Array(T * R);
  const rc = new Float64Array(N);
  const pr = new Float64Array(N);
  for (let t = 0; t < T; t++) {
    let tp = 0;
    let fp = 0;
    let n = 0;
    for (const j of order) {
      const e = evaluations[owner[j]];
      const at = t * e.scores.length + position[j];
      if (!e.ignored[at]) {
        if (e.matched[at]) tp++;
        else fp++;
      }
      rc[n] = tp / countedGt;
      pr[n] = tp / (fp + tp + PRECISION_EPS);
      n++;
    }
    recallOut[t] = N > 0 ? rc[N - 1] : 0;
    for (let i = N - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
    // For each recall threshold, the precision at the first point reaching it (searchsorted
    // 'left'); thresholds beyond the final recall keep precision 0.
    let i = 0;
    for (let r = 0; r < R; r++) {
      while (i < N && rc[i] < RECALL_THRESHOLDS[r]) i++;
      if (i >= N) break;
      precisionOut[t * R + r] = pr[i];
    }
  }
  return { recall: recallOut, precision: precisionOut };
}
