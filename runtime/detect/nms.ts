// Non-maximum suppression: greedy NMS (torchvision `nms`) and per-class batched NMS (torchvision /
// mmcv `batched_nms`). Used to filter RPN proposals (IoU 0.7) and final detections (IoU 0.5), and
// by selective search's de-duplication. Runtime side of the flow; a host routine, since the number
// of boxes kept is data-dependent.
//
// Semantics, as torchvision's CPU kernel: boxes are visited by descending score (stable: equal
// scores keep their input order); a box is suppressed when its IoU with a kept box is strictly
// greater than the threshold; IoU is computed in float32 with no "+1" and no epsilon (two
// zero-area boxes give NaN, which suppresses nothing). Kept indices come back by descending score.

import { boxAreas, boxCount, type BoxArray } from './boxes.js';
import { DetectInputError } from './errors.js';

const f32 = Math.fround;

/** Indices of `scores` sorted by descending score, stable. */
export function argsortDescending(scores: ArrayLike<number>, subset?: Int32Array): Int32Array {
  const order = subset ?? Int32Array.from({ length: scores.length }, (_, i) => i);
  return order.slice().sort((a, b) => scores[b] - scores[a] || a - b);
}

function checkScores(n: number, scores: Float32Array, block: string): void {
  if (scores.length !== n) {
    throw new DetectInputError(`${block}: ${n} boxes but ${scores.length} scores`);
  }
}

function greedy(
  boxes: BoxArray,
  areas: Float32Array,
  order: Int32Array,
  iouThreshold: number,
): number[] {
  const suppressed = new Uint8Array(order.length);
  const keep: number[] = [];
  for (let a = 0; a < order.length; a++) {
    if (suppressed[a] !== 0) continue;
    const i = order[a];
    keep.push(i);
    const o = 4 * i;
    for (let b = a + 1; b < order.length; b++) {
      if (suppressed[b] !== 0) continue;
      const q = 4 * order[b];
      const w = Math.max(
        0,
        f32(Math.min(boxes[o + 2], boxes[q + 2]) - Math.max(boxes[o], boxes[q])),
      );
      const h = Math.max(
        0,
        f32(Math.min(boxes[o + 3], boxes[q + 3]) - Math.max(boxes[o + 1], boxes[q + 1])),
      );
      const inter = f32(w * h);
      const iou = f32(inter / f32(f32(areas[i] + areas[order[b]]) - inter));
      if (iou > iouThreshold) suppressed[b] = 1;
    }
  }
  return keep;
}

/** Greedy NMS over all boxes; returns kept indices by descending score. */
export function nms(boxes: BoxArray, scores: Float32Array, iouThreshold: number): Int32Array {
  const n = boxCount(boxes, 'NMS boxes');
  checkScores(n, scores, 'NMS');
  return Int32Array.from(greedy(boxes, boxAreas(boxes), argsortDescending(scores), iouThreshold));
}

/**
 * NMS run separately within each class (`classIds`); boxes of different classes never suppress
 * each other. Returns kept indices by descending score. `classAgnostic` ignores the classes.
 */
export function batchedNms(
  boxes: BoxArray,
  scores: Float32Array,
  classIds: Int32Array,
  iouThreshold: number,
  classAgnostic = false,
): Int32Array {
  const n = boxCount(boxes, 'NMS boxes');
  checkScores(n, scores, 'batched NMS');
  if (classIds.length !== n) {
    throw new DetectInputError(`batched NMS: ${n} boxes but ${classIds.length} class ids`);
  }
  if (classAgnostic) return nms(boxes, scores, iouThreshold);
  const areas = boxAreas(boxes);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const list = byClass.get(classIds[i]);
    if (list === undefined) byClass.set(classIds[i], [i]);
    else list.push(i);
  }
  const kept: number[] = [];
  for (const members of byClass.values()) {
    const order = argsortDescending(scores, Int32Array.from(members));
    kept.push(...greedy(boxes, areas, order, iouThreshold));
  }
  return argsortDescending(scores, Int32Array.from(kept.sort((a, b) => a - b)));
}
