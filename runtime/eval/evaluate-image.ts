// Matching of one image's detections of one category to its ground truth, at every IoU threshold
// and for one area range (runtime/eval; pycocotools' `computeIoU` + `evaluateImg`). The result
// feeds accumulate.ts, which pools images per category.

import type { EvalCell } from './coco-format.js';
import { bboxIouMatrix } from './box-iou.js';
import { IOU_THRESHOLDS, outsideRange, type AreaRange } from './params.js';

/** One cell's detections, sorted and cut, with their IoUs: shared by the four area ranges. */
export interface PreparedCell {
  readonly cell: EvalCell;
  /** Indices into `cell.dt`, by descending score, ties in file order, at most maxDets. */
  readonly order: readonly number[];
  /** IoU `[order position][gt index in file order]`. */
  readonly ious: Float64Array;
}

/** What one (image, category, area range) contributes to accumulation. */
export interface ImageEvaluation {
  /** Scores of the kept detections in score order. */
  readonly scores: Float64Array;
  /** `[t * D + d]`: 1 when detection d matched a ground truth at threshold t. */
  readonly matched: Uint8Array;
  /** `[t * D + d]`: 1 when detection d is ignored at threshold t (crowd / out-of-range match, or
   * unmatched and itself out of range). */
  readonly ignored: Uint8Array;
  /** Ground truth that counts (not crowd, area inside the range). */
  readonly countedGt: number;
}

/** Stable order of `scores` by descending value (what `np.argsort(-s, kind='mergesort')` gives). */
export function descendingStableOrder(scores: ArrayLike<number>): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  return order.sort((a, b) => scores[b] - scores[a] || a - b);
}

export function prepareCell(cell: EvalCell, maxDetections: number): PreparedCell {
  const order = descendingStableOrder(cell.dt.map((d) => d.score)).slice(0, maxDetections);
  const ious =
    cell.gt.length === 0 || order.length === 0
      ? new Float64Array(0)
      : bboxIouMatrix(
          order.map((i) => cell.dt[i].bbox),
          cell.gt.map((g) => g.bbox),
          cell.gt.map((g) => g.crowd),
        );
  return { cell, order, ious };
}

/** Greedy matching as pycocotools does it; undefined when the cell has neither gt nor detections. */
export function evaluateImage(
  prepared: PreparedCell,
  range: AreaRange,
): ImageEvaluation | undefined {
  const { cell, order, ious } = prepared;
  const G = cell.gt.length;
  const D = order.length;
  if (G === 0 && cell.dt.length === 0) return undefined;

  const gtIgnoredInFileOrder = cell.gt.map((g) => g.crowd || outsideRange(g.area, range));
  // Ground truth that counts first, ignored last, each group in file order (a stable sort).
  const gtOrder = [
    ...gtIgnoredInFileOrder.flatMap((ig, i) => (ig ? [] : [i])),
    ...gtIgnoredInFileOrder.flatMap((ig, i) => (ig ? [i] : [])),
  ];
  const gtIgnored = gtOrder.map((i) => gtIgnoredInFileOrder[i]);
  const gtCrowd = gtOrder.map((i) => cell.gt[i].crowd);
  const countedGt = gtIgnored.filter((ig) => !ig).length;

  const T = IOU_THRESHOLDS.length;
  const matched = new Uint8Array(T * D);
  const ignored = new Uint8Array(T * D);
  if (G > 0 && D > 0) {
    const gtTaken = new Uint8Array(G);
    for (let t = 0; t < T; t++) {
      gtTaken.fill(0);
      for (let d = 0; d < D; d++) {
        let best = Math.min(IOU_THRESHOLDS[t], 1 - 1e-10);
        let m = -1;
        for (let g = 0; g < G; g++) {
          if (gtTaken[g] && !gtCrowd[g]) continue;
          // Holding a ground truth that counts, never trade it for an ignored one.
          if (m > -1 && !gtIgnored[m] && gtIgnored[g]) break;
          const iou = ious[d * G + gtOrder[g]];
          if (iou < best) continue;
          best = iou;
          m = g;
        }
        if (m === -1) continue;
        ignored[t * D + d] = gtIgnored[m] ? 1 : 0;
        matched[t * D + d] = 1;
        gtTaken[m] = 1;
      }
    }
  }
  const scores = new Float64Array(D);
  for (let d = 0; d < D; d++) {
    scores[d] = cell.dt[order[d]].score;
    if (outsideRange(cell.dt[order[d]].area, range))
      for (let t = 0; t < T; t++) if (!matched[t * D + d]) ignored[t * D + d] = 1;
  }
  return { scores, matched, ignored, countedGt };
}
