// Box arrays and overlap matrices (IoU, IoF, GIoU): the geometry every other detection block in
// runtime/detect (assigners, NMS, post-processing) builds on. CPU reference, plain TypeScript.
//
// Conventions (modern mmdetection, torchvision): a box is (x1, y1, x2, y2) in pixels with x2 > x1,
// width = x2 − x1 (no "+1"), stored as consecutive rows of 4 numbers in a Float32Array. The
// arithmetic is done in float32, one rounding per operation in the same order as mmdet's
// `bbox_overlaps` and torchvision's `box_iou`, so ties (several anchors with exactly the same IoU,
// which the MaxIoU assigner compares with `==`) come out the same as in PyTorch.

import { DetectInputError, rowCount } from './errors.js';

/** N boxes as rows (x1, y1, x2, y2), length 4N. */
export type BoxArray = Float32Array;

export type OverlapMode = 'iou' | 'iof' | 'giou';

/** mmdet's default guard against a zero union or enclosing area. */
export const OVERLAP_EPS = 1e-6;

const f32 = Math.fround;

/** The number of boxes in `boxes`, or a DetectInputError naming `what`. */
export function boxCount(boxes: ArrayLike<number>, what: string): number {
  return rowCount(boxes, 4, 'boxes', what);
}

/** Areas (x2 − x1)·(y2 − y1) in float32; degenerate boxes give 0 or a negative number, as in mmdet. */
export function boxAreas(boxes: BoxArray): Float32Array {
  const n = boxCount(boxes, 'boxes');
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const o = 4 * i;
    out[i] = f32(f32(boxes[o + 2] - boxes[o]) * f32(boxes[o + 3] - boxes[o + 1]));
  }
  return out;
}

/** One overlap value between box `i` of `a` and box `j` of `b` (float32, mmdet semantics). */
function overlapOne(
  a: BoxArray,
  i: number,
  areaA: number,
  b: BoxArray,
  j: number,
  areaB: number,
  mode: OverlapMode,
  eps: number,
): number {
  const ai = 4 * i;
  const bj = 4 * j;
  const w = Math.max(f32(Math.min(a[ai + 2], b[bj + 2]) - Math.max(a[ai], b[bj])), 0);
  const h = Math.max(f32(Math.min(a[ai + 3], b[bj + 3]) - Math.max(a[ai + 1], b[bj + 1])), 0);
  const overlap = f32(w * h);
  let union = mode === 'iof' ? areaA : f32(f32(areaA + areaB) - overlap);
  union = Math.max(union, eps);
  const iou = f32(overlap / union);
  if (mode !== 'giou') return iou;
  const ew = Math.max(f32(Math.max(a[ai + 2], b[bj + 2]) - Math.min(a[ai], b[bj])), 0);
  const eh = Math.max(f32(Math.max(a[ai + 3], b[bj + 3]) - Math.min(a[ai + 1], b[bj + 1])), 0);
  const enclose = Math.max(f32(ew * eh), eps);
  return f32(iou - f32(f32(enclose - union) / enclose));
}

/**
 * The overlap matrix between every box of `a` (N) and every box of `b` (M), row-major N×M.
 * `iou`: intersection / union; `iof`: intersection / area of the `a` box; `giou`: generalised IoU.
 * Unions and enclosing areas are floored at `eps` (mmdet), so degenerate boxes give 0, not NaN.
 */
export function overlapMatrix(
  a: BoxArray,
  b: BoxArray,
  mode: OverlapMode = 'iou',
  eps: number = OVERLAP_EPS,
): Float32Array {
  const n = boxCount(a, 'first box set');
  const m = boxCount(b, 'second box set');
  const areaA = boxAreas(a);
  const areaB = boxAreas(b);
  const out = new Float32Array(n * m);
  if (mode === 'giou') {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++)
        out[i * m + j] = overlapOne(a, i, areaA[i], b, j, areaB[j], mode, eps);
    }
    return out;
  }
  // IoU / IoF of disjoint boxes is exactly 0 (0 / union, union ≥ eps): most pairs of an anchor
  // grid and a few boxes are disjoint, so test that first and leave the zero in place.
  for (let i = 0; i < n; i++) {
    const ax1 = a[4 * i];
    const ay1 = a[4 * i + 1];
    const ax2 = a[4 * i + 2];
    const ay2 = a[4 * i + 3];
    for (let j = 0; j < m; j++) {
      const w = f32(Math.min(ax2, b[4 * j + 2]) - Math.max(ax1, b[4 * j]));
      if (!(w > 0)) continue;
      const h = f32(Math.min(ay2, b[4 * j + 3]) - Math.max(ay1, b[4 * j + 1]));
      if (!(h > 0)) continue;
      out[i * m + j] = overlapOne(a, i, areaA[i], b, j, areaB[j], mode, eps);
    }
  }
  return out;
}

/** Overlaps of box i of `a` with box i of `b` (equal counts), as mmdet's `is_aligned=True`. */
export function alignedOverlaps(
  a: BoxArray,
  b: BoxArray,
  mode: OverlapMode = 'iou',
  eps: number = OVERLAP_EPS,
): Float32Array {
  const n = boxCount(a, 'first box set');
  const m = boxCount(b, 'second box set');
  if (n !== m) {
    throw new DetectInputError(`aligned overlaps need equal box counts, got ${n} and ${m}`);
  }
  const areaA = boxAreas(a);
  const areaB = boxAreas(b);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = overlapOne(a, i, areaA[i], b, i, areaB[i], mode, eps);
  return out;
}
