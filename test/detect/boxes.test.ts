// Overlap matrices and NMS against torchvision (box_iou, generalized_box_iou, nms, batched_nms) and
// a transcription of mmdet's bbox_overlaps (iof), plus hand-checked tiny cases.

import { describe, expect, it } from 'vitest';
import { alignedOverlaps, boxAreas, overlapMatrix } from '../../runtime/detect/boxes.js';
import { DetectInputError } from '../../runtime/detect/errors.js';
import { batchedNms, nms } from '../../runtime/detect/nms.js';
import { expectClose, expectExact, f32, i32, loadGolden } from './golden.js';

interface BoxOps {
  a: number[];
  b: number[];
  iou: number[];
  giou: number[];
  iof: number[];
  nms: {
    boxes: number[];
    scores: number[];
    classes: number[];
    cases: { iou: number; keep: number[]; batchedKeep: number[] }[];
  };
}

const golden = loadGolden<BoxOps>('box-ops.json');

describe('overlaps', () => {
  it('match torchvision box_iou / generalized_box_iou and mmdet iof', () => {
    const a = f32(golden.a);
    const b = f32(golden.b);
    expectClose(overlapMatrix(a, b, 'iou'), golden.iou, 1e-6, 'iou');
    expectClose(overlapMatrix(a, b, 'giou'), golden.giou, 1e-6, 'giou');
    expectClose(overlapMatrix(a, b, 'iof'), golden.iof, 1e-6, 'iof');
  });

  it('hand-checked: half overlap, disjoint, contained, degenerate', () => {
    const a = f32([0, 0, 10, 10]);
    const b = f32([5, 0, 15, 10, 20, 0, 30, 10, 2, 2, 4, 4, 3, 3, 3, 3]);
    // [5,0,15,10]: inter 50, union 150 → 1/3; enclosing 150 → giou 1/3.
    // [20,0,30,10]: iou 0; enclosing 300, union 200 → giou −1/3.
    // [2,2,4,4]: inter 4, union 100 → 0.04; iof 4/100.
    // zero-area box: iou 0, not NaN (eps floor).
    expectClose(overlapMatrix(a, b, 'iou'), [1 / 3, 0, 0.04, 0], 1e-6);
    // zero-area box inside: union 100 = enclosing area, so giou = iou = 0.
    expectClose(overlapMatrix(a, b, 'giou'), [1 / 3, -1 / 3, 0.04, 0], 1e-6);
    expectClose(overlapMatrix(b, a, 'iof'), [0.5, 0, 1, 0], 1e-6);
    expectClose(
      alignedOverlaps(f32([0, 0, 2, 2, 0, 0, 1, 1]), f32([1, 1, 3, 3, 0, 0, 1, 1])),
      [1 / 7, 1],
      1e-6,
    );
    expectExact(boxAreas(f32([0, 0, 2, 3, 1, 1, 1, 5])), [6, 0]);
  });

  it('reject ragged input with a typed error', () => {
    expect(() => overlapMatrix(f32([0, 0, 1]), f32([0, 0, 1, 1]))).toThrow(DetectInputError);
  });
});

describe('NMS', () => {
  const boxes = f32(golden.nms.boxes);
  const scores = f32(golden.nms.scores);
  const classes = i32(golden.nms.classes);
  for (const c of golden.nms.cases) {
    it(`matches torchvision nms and batched_nms at IoU ${c.iou}`, () => {
      expectExact(nms(boxes, scores, c.iou), c.keep, 'keep');
      expectExact(batchedNms(boxes, scores, classes, c.iou), c.batchedKeep, 'batched keep');
    });
  }

  it('hand-checked: suppression is strict (>), classes do not suppress each other', () => {
    // [0,0,10,10] vs [0,0,10,5]: inter 50, union 100, IoU exactly 0.5; vs [0,0,10,9]: IoU 0.9.
    const b = f32([0, 0, 10, 10, 0, 0, 10, 5, 0, 0, 10, 9]);
    const s = f32([0.9, 0.8, 0.7]);
    expectExact(nms(b, s, 0.5), [0, 1]);
    expectExact(nms(b, s, 0.49), [0]);
    expectExact(batchedNms(b, s, i32([0, 0, 1]), 0.5), [0, 1, 2]);
    expectExact(batchedNms(b, s, i32([0, 0, 1]), 0.5, true), [0, 1]);
    expectExact(nms(f32([]), f32([]), 0.5), []);
  });
});
