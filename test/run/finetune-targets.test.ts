// Targets of the supervised RetinaNet step (runtime/run/finetune-targets.ts) on a hand-made batch
// whose answers are worked out by hand: one anchor per location (32×32, stride 32, mmdet's centre
// offset 0) on a 64×64 canvas, so the four anchors are [-16,-16,16,16], [16,-16,48,16],
// [-16,16,16,48] and [16,16,48,48].

import { describe, expect, it } from 'vitest';
import type { Batch } from '../../runtime/data/loader/batch.js';
import { RETINANET_ASSIGNER } from '../../runtime/detect/max-iou-assigner.js';
import { finetuneTargets } from '../../runtime/run/finetune-targets.js';

const ANCHORS = { strides: [32], ratios: [1], octaveBaseScale: 1, scalesPerOctave: 1 };

function batch(): Batch {
  // Image 0: one box equal to anchor 3 (class id 2). Image 1: [0,0,40,40] (class id 3) + padding.
  const boxes = Float32Array.of(16, 16, 48, 48, 0, 0, 0, 0, 0, 0, 40, 40, 0, 0, 0, 0);
  return {
    epoch: 0,
    index: 0,
    size: 2,
    maxBoxes: 2,
    sampleIndices: Int32Array.of(0, 1),
    imageIds: Int32Array.of(10, 11),
    instanceIds: Int32Array.of(0, -1, 1, -1),
    present: Uint8Array.of(1, 0, 1, 0),
    labels: Int32Array.of(2, 0, 3, 0),
    numInstances: 2,
    truncatedBoxes: 0,
    views: [
      {
        images: new Float32Array(2 * 3 * 64 * 64),
        height: 64,
        width: 64,
        imageSizes: Int32Array.of(64, 64, 64, 64),
        boxes,
        boxMask: Uint8Array.of(1, 0, 1, 0),
        transforms: Float64Array.of(1, 0, 1, 0, 1, 0, 1, 0),
      },
    ],
  };
}

describe('fine-tuning targets', () => {
  it('assigns, one-hot encodes and encodes deltas as mmdet RetinaNet', () => {
    const classOf = new Map([
      [1, 0],
      [2, 1],
      [3, 2],
    ]);
    const t = finetuneTargets(batch(), ANCHORS, RETINANET_ASSIGNER, 3, classOf);
    expect(t.anchorsPerImage).toBe(4);
    expect(t.numPositives).toBe(2);
    // Image 0: anchor 3 has IoU 1 → positive, class 2 → channel 1; the rest IoU 0 → negatives.
    // Image 1: best IoU 0.28 (anchor 3) < 0.5, but it is the box's best anchor (low-quality
    // match, min_pos 0) → positive; the others (0.108, 0.171, 0.171) < 0.4 → negatives.
    expect(Array.from(t.classWeights)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(Array.from(t.regWeights)).toEqual([0, 0, 0, 1, 0, 0, 0, 1]);
    const rows = Array.from({ length: 8 }, (_, r) =>
      Array.from(t.classTargets.slice(r * 3, r * 3 + 3)),
    );
    expect(rows).toEqual([
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
      [0, 1, 0],
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 1],
    ]);
    expect(Array.from(t.regTargets.slice(12, 16))).toEqual([0, 0, 0, 0]);
    // Anchor centre 32, size 32 → box centre 20, size 40: dx = (20 − 32)/32, dw = ln(40/32).
    const d = Array.from(t.regTargets.slice(28, 32));
    expect(d[0]).toBeCloseTo(-0.375, 6);
    expect(d[1]).toBeCloseTo(-0.375, 6);
    expect(d[2]).toBeCloseTo(Math.log(40 / 32), 6);
    expect(d[3]).toBeCloseTo(Math.log(40 / 32), 6);
  });

  it('ignores anchors between the thresholds', () => {
    // Box [16,16,56,56]: IoU with anchor 3 = 32²/(32² + 40² − 32²) = 0.64 → positive; with anchor 1
    // [16,-16,48,16] 0 → negative. Raising pos to 0.7 and neg to 0.5 leaves 0.64 ignored — except
    // that it is still the box's best anchor, so turn low-quality matching off to see it ignored.
    const b = batch();
    const boxes = b.views[0].boxes;
    boxes.set([16, 16, 56, 56], 0);
    const t = finetuneTargets(
      b,
      ANCHORS,
      { posIouThr: 0.7, negIouThr: 0.5, minPosIou: 0, matchLowQuality: false },
      3,
      new Map([
        [1, 0],
        [2, 1],
        [3, 2],
      ]),
    );
    expect(Array.from(t.classWeights.slice(0, 4))).toEqual([1, 1, 1, 0]);
    expect(Array.from(t.regWeights.slice(0, 4))).toEqual([0, 0, 0, 0]);
  });
});
