// Hand-made cases for the pycocotools rules one at a time (single box, crowd, score ties across
// images, empty images, inclusive area bounds, the per-image-per-category maxDets cut), each with
// the number worked out by hand in the comment next to it.

import { describe, expect, test } from 'vitest';
import type { CocoAnnotationJson, CocoResultJson } from '../../runtime/eval/coco-format.js';
import { evaluateBbox } from '../../runtime/eval/coco-eval.js';
import { formatFixed3 } from '../../runtime/eval/summarize.js';
import { vocAllPointAp } from '../../runtime/eval/voc-ap.js';
import { IOU_THRESHOLDS, RECALL_THRESHOLDS } from '../../runtime/eval/params.js';

type Box = [number, number, number, number];
let nextId = 1;
function gtBox(
  imageId: number,
  bbox: Box,
  extra: Partial<CocoAnnotationJson> = {},
): CocoAnnotationJson {
  return {
    id: nextId++,
    image_id: imageId,
    category_id: 1,
    bbox,
    area: bbox[2] * bbox[3],
    iscrowd: 0,
    ...extra,
  };
}
function groundTruth(imageIds: number[], annotations: CocoAnnotationJson[], categories = [1]) {
  return {
    images: imageIds.map((id) => ({ id })),
    categories: categories.map((id) => ({ id, name: `c${id}` })),
    annotations,
  };
}
function det(imageId: number, bbox: Box, score: number, categoryId = 1): CocoResultJson {
  return { image_id: imageId, category_id: categoryId, bbox, score };
}

/** One TP at precision 1/(1 + eps), the eps pycocotools adds to tp + fp. */
const ONE_TP = 1 / (1 + 2.220446049250313e-16);

describe('thresholds are numpy linspace values', () => {
  test('iou and recall thresholds', () => {
    expect(IOU_THRESHOLDS[8]).toBe(0.8999999999999999);
    expect(IOU_THRESHOLDS[9]).toBe(0.95);
    expect(RECALL_THRESHOLDS[35]).toBe(0.35000000000000003);
    expect(RECALL_THRESHOLDS[100]).toBe(1);
  });
});

describe('single box', () => {
  test('a perfect detection gives the values pycocotools prints for one TP', () => {
    const report = evaluateBbox(groundTruth([7], [gtBox(7, [10, 10, 50, 40])]), [
      det(7, [10, 10, 50, 40], 0.9),
    ]);
    expect(ONE_TP).toBe(0.9999999999999998);
    expect(report.byName.AP).toBe(0.9999999999999998);
    expect(report.byName.AP50).toBe(0.9999999999999999);
    expect(report.byName.AR100).toBe(1);
    // area 2000 is medium: small and large have no GT.
    expect(report.byName.APs).toBe(-1);
    expect(report.byName.APl).toBe(-1);
    expect(report.byName.APm).toBe(0.9999999999999998);
  });

  test('IoU 0.58 counts at thresholds .50 and .55 only', () => {
    // GT [0,0,100,100]; detection [0,0,58,100]: IoU 0.58.
    const report = evaluateBbox(groundTruth([1], [gtBox(1, [0, 0, 100, 100])]), [
      det(1, [0, 0, 58, 100], 0.5),
    ]);
    expect(report.byName.AP50).toBe(0.9999999999999999);
    expect(report.byName.AP75).toBe(0);
    expect(report.byName.AR100).toBeCloseTo(2 / 10, 15);
  });

  test('an IoU equal to the threshold counts (IoU 0.6 = thresholds[2])', () => {
    expect(IOU_THRESHOLDS[2]).toBe(0.6);
    const report = evaluateBbox(groundTruth([1], [gtBox(1, [0, 0, 100, 100])]), [
      det(1, [0, 0, 60, 100], 0.5),
    ]);
    expect(report.byName.AR100).toBeCloseTo(3 / 10, 15);
  });

  test('no detections at all: AP 0, not -1 (pycocotools itself rejects an empty list)', () => {
    const report = evaluateBbox(groundTruth([1], [gtBox(1, [0, 0, 10, 10])]), []);
    expect(report.byName.AP).toBe(0);
    expect(report.byName.AR100).toBe(0);
    expect(report.perCategory[0].ap).toBe(0);
    expect(report.vocAp50).toBe(0);
  });

  test('no ground truth at all: every number is -1', () => {
    const report = evaluateBbox(groundTruth([1], []), [det(1, [0, 0, 10, 10], 0.5)]);
    expect(report.stats).toEqual(new Array(12).fill(-1));
    expect(report.perCategory[0]).toMatchObject({ ap: -1, ap50: -1, ap75: -1, vocAp50: -1 });
  });
});

describe('crowd', () => {
  // GT: a normal box A (50x50 at 200,200) and a crowd region C (100x100 at the origin).
  const gt = groundTruth(
    [1],
    [gtBox(1, [200, 200, 50, 50]), gtBox(1, [0, 0, 100, 100], { iscrowd: 1 })],
  );
  const inCrowd1 = det(1, [10, 10, 20, 20], 0.97); // inter/det area = 1, plain IoU = 0.04
  const inCrowd2 = det(1, [50, 50, 20, 20], 0.95);
  const onA = det(1, [200, 200, 50, 50], 0.9);

  test('detections inside a crowd region are ignored, however many', () => {
    // Both crowd detections match C (IoU = intersection / detection area = 1) and are ignored,
    // so the one TP is alone: precision 1/(1+eps) at every recall threshold.
    const report = evaluateBbox(gt, [inCrowd1, inCrowd2, onA]);
    expect(report.byName.AP).toBe(0.9999999999999998);
    expect(report.byName.AR100).toBe(1);
    expect(report.counts.crowdGroundTruth).toBe(1);
  });

  test('the same region without iscrowd makes them false positives', () => {
    // Now C is a normal GT (2 to find) and the two detections have IoU 0.04 with it: FP, FP, TP.
    // Precision at the TP is 1/3, recall 1/2: 51 recall thresholds (0…0.50) read 1/3 at every IoU.
    const plain = groundTruth([1], [gtBox(1, [200, 200, 50, 50]), gtBox(1, [0, 0, 100, 100])]);
    const report = evaluateBbox(plain, [inCrowd1, inCrowd2, onA]);
    expect(report.byName.AP50).toBeCloseTo((51 * (1 / 3)) / 101, 15);
    expect(report.byName.AR100).toBe(0.5);
  });

  test('VOC AP50 treats crowd as difficult: not a positive, and plain IoU decides', () => {
    // Plain IoU of the crowd detections with C is 0.04 < 0.5: they are VOC false positives.
    const report = evaluateBbox(gt, [inCrowd1, inCrowd2, onA]);
    expect(report.perCategory[0].vocAp50).toBeCloseTo(1 / 3, 15);
    // A detection equal to C has plain IoU 1 with it and is ignored.
    const onC = det(1, [0, 0, 100, 100], 0.99);
    expect(evaluateBbox(gt, [onC, onA]).perCategory[0].vocAp50).toBe(1);
  });
});

describe('score ties', () => {
  // Two images, one GT each; a TP in image 1 and a FP in image 2, both with score 0.5.
  const gt = groundTruth([1, 2], [gtBox(1, [0, 0, 40, 40]), gtBox(2, [0, 0, 40, 40])]);
  const tp = det(1, [0, 0, 40, 40], 0.5);
  const fp = det(2, [300, 300, 40, 40], 0.5);

  test('across images, ties go in ascending image id, not results-file order', () => {
    // Order TP, FP whatever the file says: precision 1/(1+eps) up to recall 0.5 (51 thresholds),
    // then 0. In file order FP, TP it would be 0.5 instead.
    for (const results of [
      [tp, fp],
      [fp, tp],
    ]) {
      const report = evaluateBbox(gt, results);
      expect(report.byName.AP50).toBeCloseTo((51 * ONE_TP) / 101, 15);
    }
  });

  test('within an image, ties keep results-file order', () => {
    // Image 1 alone: a duplicate (IoU 1) listed before or after a far-away FP of the same score.
    const gt1 = groundTruth([1], [gtBox(1, [0, 0, 40, 40])]);
    const far = det(1, [300, 300, 40, 40], 0.5);
    // TP first: precision 1/(1+eps) at every recall threshold (recall 1 at the first detection).
    expect(evaluateBbox(gt1, [tp, far]).byName.AP50).toBe(0.9999999999999999);
    // FP first: the TP comes second, precision 1/2 everywhere.
    expect(evaluateBbox(gt1, [far, tp]).byName.AP50).toBe(0.5);
  });
});

describe('empty images', () => {
  test('a detection on an image without GT is a false positive', () => {
    const gt = groundTruth([1, 2], [gtBox(1, [0, 0, 40, 40])]);
    const report = evaluateBbox(gt, [det(2, [0, 0, 40, 40], 0.9), det(1, [0, 0, 40, 40], 0.8)]);
    // FP then TP: precision 1/(2+eps) = 0.5 at every recall threshold.
    expect(report.byName.AP50).toBe(0.5);
    expect(report.byName.AR100).toBe(1);
  });

  test('an image with neither GT nor detections changes nothing', () => {
    const withEmpty = groundTruth([1, 5], [gtBox(1, [0, 0, 40, 40])]);
    const without = groundTruth([1], [gtBox(1, [0, 0, 40, 40])]);
    const results = [det(1, [0, 0, 40, 40], 0.8), det(1, [100, 0, 40, 40], 0.7)];
    expect(evaluateBbox(withEmpty, results).stats).toEqual(evaluateBbox(without, results).stats);
  });
});

describe('area ranges', () => {
  test('bounds are inclusive: area exactly 32² is both small and medium', () => {
    const report = evaluateBbox(groundTruth([1], [gtBox(1, [0, 0, 32, 32])]), [
      det(1, [0, 0, 32, 32], 0.9),
    ]);
    expect(report.byName.APs).toBe(0.9999999999999998);
    expect(report.byName.APm).toBe(0.9999999999999998);
    expect(report.byName.APl).toBe(-1);
  });

  test("the GT's area field, not its box, decides the range", () => {
    const gt = groundTruth([1], [gtBox(1, [0, 0, 200, 200], { area: 500 })]);
    const report = evaluateBbox(gt, [det(1, [0, 0, 200, 200], 0.9)]);
    expect(report.byName.APs).toBe(0.9999999999999998);
    expect(report.byName.APl).toBe(-1);
  });

  test('an unmatched detection outside the range is ignored there', () => {
    // A small GT found; a large FP with a higher score. For "small" the FP is ignored.
    const gt = groundTruth([1], [gtBox(1, [0, 0, 20, 20])]);
    const report = evaluateBbox(gt, [
      det(1, [100, 100, 200, 200], 0.9),
      det(1, [0, 0, 20, 20], 0.8),
    ]);
    expect(report.byName.APs).toBe(0.9999999999999998);
    expect(report.byName.AP).toBe(0.5);
  });
});

describe('maxDets', () => {
  test('AR1 cuts per image and per category, not per image', () => {
    // One image with one GT in each of two categories, each found by one detection.
    const gt = groundTruth(
      [1],
      [gtBox(1, [0, 0, 40, 40]), gtBox(1, [100, 100, 40, 40], { category_id: 2 })],
      [1, 2],
    );
    const report = evaluateBbox(gt, [
      det(1, [0, 0, 40, 40], 0.9, 1),
      det(1, [100, 100, 40, 40], 0.8, 2),
    ]);
    expect(report.byName.AR1).toBe(1);
  });

  test('AR1 keeps the highest-scoring detection of each image', () => {
    // Two GT in one image: the top detection finds one of them, so AR1 = 0.5, AR10 = 1.
    const gt = groundTruth([1], [gtBox(1, [0, 0, 40, 40]), gtBox(1, [100, 100, 40, 40])]);
    const report = evaluateBbox(gt, [det(1, [0, 0, 40, 40], 0.8), det(1, [100, 100, 40, 40], 0.9)]);
    expect(report.byName.AR1).toBe(0.5);
    expect(report.byName.AR10).toBe(1);
  });
});

describe('VOC all-point AP', () => {
  test('TP, FP, TP with 3 positives is 5/9', () => {
    // Envelope: precision 1 up to recall 1/3, 2/3 up to 2/3, then nothing: 1/3 + 2/9.
    expect(vocAllPointAp([true, false, true], 3)).toBeCloseTo(5 / 9, 15);
  });
  test('no detections is 0, a perfect ranking is 1', () => {
    expect(vocAllPointAp([], 2)).toBe(0);
    expect(vocAllPointAp([true, true, false], 2)).toBe(1);
  });
});

describe('summary text numbers', () => {
  test("format like Python's {:0.3f}, exact halves to even", () => {
    expect(formatFixed3(0.0625)).toBe('0.062');
    expect(formatFixed3(0.1875)).toBe('0.188');
    expect(formatFixed3(-1)).toBe('-1.000');
    expect(formatFixed3(0.30255)).toBe('0.303');
    expect(formatFixed3(0.9999999999999998)).toBe('1.000');
  });
});
