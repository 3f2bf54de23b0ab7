// Box overlap for COCO evaluation (runtime/eval): pycocotools' maskApi.c `bbIou` in float64. For a
// crowd ground truth the "IoU" is intersection over the detection's area, so any detection lying
// inside a crowd region overlaps it fully.

import type { BboxXywh } from './coco-format.js';

/** IoU of every detection with every ground truth, row-major `[detection][groundTruth]`. */
export function bboxIouMatrix(
  detections: readonly BboxXywh[],
  groundTruths: readonly BboxXywh[],
  crowd: readonly boolean[],
): Float64Array {
  const D = detections.length;
  const G = groundTruths.length;
  const out = new Float64Array(D * G);
  for (let g = 0; g < G; g++) {
    const [gx, gy, gw, gh] = groundTruths[g];
    const gtArea = gw * gh;
    for (let d = 0; d < D; d++) {
      const [dx, dy, dw, dh] = detections[d];
      const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
      if (w <= 0) continue;
      const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
      if (h <= 0) continue;
      const detArea = dw * dh;
      const inter = w * h;
      out[d * G + g] = inter / (crowd[g] ? detArea : detArea + gtArea - inter);
    }
  }
  return out;
}
