// The distance box coder (mmdet `DistancePointBBoxCoder`), used by FCOS: a box seen from a point
// as its distances (left, top, right, bottom) to the four sides, and back. Runtime side of the
// flow; CPU reference for the GPU versions.
//
//   l = px − x1,  t = py − y1,  r = x2 − px,  b = y2 − py       (no "+1")

import { boxCount, type BoxArray } from './boxes.js';
import { DetectInputError, rowCount } from './errors.js';
import type { ImageSize } from './anchors.js';

const f32 = Math.fround;

function pointCount(points: Float32Array): number {
  return rowCount(points, 2, 'distance coder', 'points');
}

/**
 * (l, t, r, b) of each target box from its point. With `maxDistance`, distances are clamped to
 * [0, maxDistance − eps] (mmdet `bbox2distance`); without it they are left as they are (negative
 * when the point lies outside the box).
 */
export function encodeDistance(
  points: Float32Array,
  targets: BoxArray,
  maxDistance?: number,
  eps = 0.1,
): Float32Array {
  const n = pointCount(points);
  const m = boxCount(targets, 'targets');
  if (n !== m) throw new DetectInputError(`distance encode: ${n} points but ${m} boxes`);
  const out = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const px = points[2 * i];
    const py = points[2 * i + 1];
    const o = 4 * i;
    const d = [
      f32(px - targets[o]),
      f32(py - targets[o + 1]),
      f32(targets[o + 2] - px),
      f32(targets[o + 3] - py),
    ];
    for (let k = 0; k < 4; k++) {
      out[o + k] =
        maxDistance === undefined ? d[k] : Math.min(Math.max(d[k], 0), f32(maxDistance - eps));
    }
  }
  return out;
}

/** Boxes from points and (l, t, r, b) distances, clipped to the image when `maxShape` is given. */
export function decodeDistance(
  points: Float32Array,
  distances: Float32Array,
  maxShape?: ImageSize,
): BoxArray {
  const n = pointCount(points);
  const m = rowCount(distances, 4, 'distance decode', 'distances');
  if (n !== m) throw new DetectInputError(`distance decode: ${n} points but ${m} distance rows`);
  const out = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const px = points[2 * i];
    const py = points[2 * i + 1];
    const o = 4 * i;
    let x1 = f32(px - distances[o]);
    let y1 = f32(py - distances[o + 1]);
    let x2 = f32(px + distances[o + 2]);
    let y2 = f32(py + distances[o + 3]);
    if (maxShape !== undefined) {
      x1 = Math.min(Math.max(x1, 0), maxShape.width);
      x2 = Math.min(Math.max(x2, 0), maxShape.width);
      y1 = Math.min(Math.max(y1, 0), maxShape.height);
      y2 = Math.min(Math.max(y2, 0), maxShape.height);
    }
    out[o] = x1;
    out[o + 1] = y1;
    out[o + 2] = x2;
    out[o + 3] = y2;
  }
  return out;
}
