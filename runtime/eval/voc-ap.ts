// VOC-style AP at IoU 0.5 (runtime/eval, beside the COCO numbers): the PASCAL VOC 2010+ devkit rule
// (VOCevaldet.m + VOCap.m) with all-point interpolation, i.e. the area under the precision
// envelope at every recall step, not the 11-point VOC2007 variant. Boxes are continuous COCO
// boxes, so there is no "+1 pixel" in the IoU. A crowd ground truth plays VOC's "difficult": it
// is not counted in the positives and a detection whose best match is one is ignored.

import type { EvalInput } from './coco-format.js';
import { bboxIouMatrix } from './box-iou.js';
import { descendingStableOrder } from './evaluate-image.js';

export const VOC_IOU_THRESHOLD = 0.5;

/** AP of one category's ranked detections: `hits[i]` true for a TP, false for a FP. */
export function vocAllPointAp(hits: readonly boolean[], positives: number): number {
  const n = hits.length;
  // Recall and precision with VOC's sentinels: mrec = [0, rec…, 1], mpre = [0, prec…, 0].
  const mrec = new Float64Array(n + 2);
  const mpre = new Float64Array(n + 2);
  let tp = 0;
  for (let i = 0; i < n; i++) {
    if (hits[i]) tp++;
    mrec[i + 1] = tp / positives;
    mpre[i + 1] = tp / (i + 1);
  }
  mrec[n + 1] = 1;
  for (let i = n; i >= 0; i--) mpre[i] = Math.max(mpre[i], mpre[i + 1]);
  let ap = 0;
  for (let i = 1; i < n + 2; i++)
    if (mrec[i] !== mrec[i - 1]) ap += (mrec[i] - mrec[i - 1]) * mpre[i];
  return ap;
}

/** VOC AP50 per category (in `input.categories` order), -1 for a category without positives. */
export function vocAp50PerCategory(input: EvalInput): number[] {
  return input.categories.map((_, k) => {
    let positives = 0;
    const pool: { image: number; score: number; row: number }[] = [];
    const perImage = input.imageIds.map((_, i) => {
      const cell = input.cell(i, k);
      positives += cell.gt.filter((g) => !g.crowd).length;
      cell.dt.forEach((d, row) => pool.push({ image: i, score: d.score, row }));
      return {
        cell,
        ious: bboxIouMatrix(
          cell.dt.map((d) => d.bbox),
          cell.gt.map((g) => g.bbox),
          cell.gt.map(() => false),
        ),
        taken: new Uint8Array(cell.gt.length),
      };
    });
    if (positives === 0) return -1;
    const hits: boolean[] = [];
    // Pool order is image-id order then file order; ties in score keep it.
    for (const j of descendingStableOrder(pool.map((p) => p.score))) {
      const { image, row } = pool[j];
      const { cell, ious, taken } = perImage[image];
      const G = cell.gt.length;
      let best = -Infinity;
      let bestGt = -1;
      for (let g = 0; g < G; g++)
        if (ious[row * G + g] > best) {
          best = ious[row * G + g];
          bestGt = g;
        }
      if (bestGt >= 0 && best >= VOC_IOU_THRESHOLD) {
        if (cell.gt[bestGt].crowd) continue;
        hits.push(!taken[bestGt]);
        taken[bestGt] = 1;
      } else hits.push(false);
    }
    return vocAllPointAp(hits, positives);
  });
}
