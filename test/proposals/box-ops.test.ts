// IoU, greedy NMS in rank order and AlignDet's (SoCo's) filters with their fallbacks, on boxes
// whose answers are worked out by hand in the comments.

import { describe, expect, it } from 'vitest';
import { boxIou, filterBoxes, nmsInOrder } from '../../runtime/data/proposals/box-ops.js';
import type { Box, BoxFilter } from '../../runtime/data/proposals/box-ops.js';

const aligndet: BoxFilter = { minSide: 32, maxAspect: 3, minRelSize: 0, maxRelSize: 0.8 };

describe('boxIou', () => {
  it('computes overlap over union with exclusive corners', () => {
    // [0,0,10,10] ∩ [5,0,15,10] = 5×10 = 50; union 100 + 100 − 50 = 150.
    expect(boxIou([0, 0, 10, 10], [5, 0, 15, 10])).toBeCloseTo(1 / 3, 12);
    expect(boxIou([0, 0, 10, 10], [0, 0, 10, 10])).toBe(1);
    // Touching edges share no area.
    expect(boxIou([0, 0, 10, 10], [10, 0, 20, 10])).toBe(0);
    expect(boxIou([0, 0, 10, 10], [20, 20, 30, 30])).toBe(0);
  });
});

describe('nmsInOrder', () => {
  const boxes: Box[] = [
    [0, 0, 10, 10],
    [5, 0, 15, 10], // IoU 1/3 with the first
    [1, 0, 11, 10], // IoU 90/110 ≈ 0.82 with the first
    [50, 50, 60, 60],
  ];

  it('keeps rank order and drops a box overlapping a kept one above the threshold', () => {
    expect(nmsInOrder(boxes, 0.5)).toEqual([boxes[0], boxes[1], boxes[3]]);
    expect(nmsInOrder(boxes, 0.3)).toEqual([boxes[0], boxes[3]]);
  });

  it('keeps a box whose IoU equals the threshold (only > suppresses)', () => {
    expect(nmsInOrder(boxes.slice(0, 2), 1 / 3)).toEqual(boxes.slice(0, 2));
  });

  it('stops at the limit and is off at threshold 1', () => {
    expect(nmsInOrder(boxes, 0.5, 2)).toEqual([boxes[0], boxes[1]]);
    expect(nmsInOrder(boxes, 1)).toEqual(boxes);
  });
});

describe('filterBoxes', () => {
  // Image 200×100: √(W·H) = √20000 ≈ 141.42, so √(w·h) ≤ 113.14 keeps a box at ratio 0.8.
  const W = 200;
  const H = 100;

  it('applies min side, aspect (inclusive at 3) and relative size together', () => {
    const keep: Box[] = [
      [0, 0, 32, 32], // smallest allowed
      [0, 0, 96, 32], // aspect exactly 3
      [0, 0, 113, 113], // √area 113 ≤ 113.14
      [0, 0, 120, 100], // √area 109.5, aspect 1.2
    ];
    const drop: Box[] = [
      [0, 0, 31, 40], // side 31
      [0, 0, 97, 32], // aspect 3.03
      [0, 0, 114, 114], // √area 114 > 113.14
    ];
    const result = filterBoxes([drop[0], ...keep, ...drop.slice(1)], W, H, aligndet);
    expect(result.stage).toBe('full');
    expect(result.boxes).toEqual(keep);
  });

  it('falls back to min side + aspect when the full filter leaves nothing', () => {
    const boxes: Box[] = [
      [0, 0, 200, 100], // too large relative to the image, aspect 2
      [0, 0, 40, 10], // too thin
    ];
    expect(filterBoxes(boxes, W, H, aligndet)).toEqual({
      boxes: [[0, 0, 200, 100]],
      stage: 'aspect-only',
    });
  });

  it('then to min side alone, then reports an empty image', () => {
    const wide: Box[] = [[0, 0, 200, 40]]; // aspect 5, side ≥ 32
    expect(filterBoxes(wide, W, H, aligndet)).toEqual({ boxes: wide, stage: 'min-side-only' });
    expect(filterBoxes([[0, 0, 10, 10]], W, H, aligndet)).toEqual({ boxes: [], stage: 'empty' });
    expect(filterBoxes([], W, H, aligndet)).toEqual({ boxes: [], stage: 'empty' });
  });
});
