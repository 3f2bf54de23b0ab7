// The box-domain step with the FCOS objective (runtime/train/fcos-box-domain.ts) on runtime/models'
// blocks (ResNet-18 at 1/16 width → FPN P3–P4 → FCOS head with the AlignDet projector): the
// sampling follows AlignDet's FCOS rule (every positive of the batch while there are fewer than
// `sample`, background fills the rest, labels are the boxes' instance ids), the three terms are
// finite, one step lowers the contrastive loss on a fixed batch, and the frozen backbone is
// unchanged.

import { describe, expect, it } from 'vitest';
import { FCOS_INF } from '../../runtime/detect/fcos-targets.js';
import { DenseDetector } from '../../runtime/models/detector.js';
import { FcosHead } from '../../runtime/models/fcos-head.js';
import { fpnForLevels } from '../../runtime/models/fpn.js';
import { ResNet } from '../../runtime/models/resnet.js';
import { Rng } from '../../runtime/rng.js';
import { cpuReferenceBackend } from '../../runtime/tensor/backend.js';
import {
  BoxDomainStep,
  GROUP_MOMENTUM,
  LOSS_CONTRAST,
} from '../../runtime/train/box-domain-step.js';
import {
  FcosBoxDomainObjective,
  LOSS_FCOS_BOX,
  LOSS_FCOS_CENTERNESS,
} from '../../runtime/train/fcos-box-domain.js';
import { regressRangesOf } from '../../runtime/train/fcos-point-targets.js';
import { LoweredLoss } from '../../runtime/train/lowered-loss.js';
import { boxDomainDetectorOf } from '../../runtime/train/module-detector.js';
import { syntheticBatch } from './tiny-detector.js';

const STRIDES = [8, 16];
const SAMPLE = 40;

function model(): DenseDetector<FcosHead> {
  const backbone = new ResNet({ depth: 18, widthMultiplier: 1 / 16, outIndices: [1, 2, 3] });
  const neck = fpnForLevels({
    inChannels: backbone.outChannels,
    inputLevels: [3, 4, 5],
    levels: [3, 4],
    outChannels: 32,
  });
  const head = new FcosHead({
    inChannels: 32,
    stackedConvs: 1,
    strides: STRIDES,
    classifier: { kind: 'projector', dim: 8, hiddenChannels: 32 },
  });
  const det = new DenseDetector(backbone, neck, head).initialize(Rng.fromSeed(3));
  // As the runner does for narrow heads: the projector ×10, so lr 0.01 is a small step.
  for (const { name, parameter } of head.state())
    if (name.startsWith('conv_cls.') && parameter.shape.length === 4)
      parameter.value = parameter.value!.map((v) => v * 10);
  return det;
}

describe('box-domain step with the FCOS objective', () => {
  it('samples by the FCOS rule, lowers the contrastive loss and keeps the backbone frozen', async () => {
    const parts = boxDomainDetectorOf(model());
    const objective = () =>
      new FcosBoxDomainObjective(
        { strides: STRIDES, regressRanges: regressRangesOf([-1, 16], FCOS_INF) },
        SAMPLE,
        LoweredLoss.fromStd('losses', 'box_infonce', new Map([['tau', 0.5]])),
      );
    const make = (o = objective()) =>
      new BoxDomainStep(
        {
          detector: parts.detector,
          objective: o,
          optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 1e-4 },
          baseMomentum: 0.996,
          backend: cpuReferenceBackend(),
        },
        parts.backbone,
        parts.online,
      );
    const batch = syntheticBatch(31, 0);
    const ctx = (lr: number) => ({
      stage: 'box_domain',
      step: 1,
      totalSteps: 4,
      epoch: 0,
      lr,
      rng: Rng.fromSeed(1),
    });
    const frozen = new Map([...parts.backbone].map(([k, t]) => [k, Float32Array.from(t.data)]));
    const o = objective();
    const first = make(o);
    const before = await first.run(batch, ctx(0.01));
    for (const term of [LOSS_CONTRAST, LOSS_FCOS_BOX, LOSS_FCOS_CENTERNESS]) {
      expect(Number.isFinite(before.losses[term]), term).toBe(true);
      expect(before.losses[term], term).toBeGreaterThan(0);
    }
    // Sampling: every positive of view 1 (fewer than SAMPLE here), background fills to SAMPLE.
    const { targets, sampled } = o.last!;
    expect(targets.numPositives).toBeGreaterThan(0);
    expect(targets.numPositives).toBeLessThan(SAMPLE);
    expect(sampled.valid.reduce((s, v) => s + v, 0)).toBe(SAMPLE);
    const sampledPositives = Array.from(sampled.index).filter(
      (flat, r) => sampled.valid[r] === 1 && targets.positive[flat] === 1,
    );
    expect(sampledPositives).toHaveLength(targets.numPositives);
    // A positive's label is the instance id of a box that contains its point.
    const v = batch.views[0];
    const k = batch.maxBoxes;
    for (const flat of sampledPositives) {
      const image = Math.floor(flat / targets.pointsPerImage);
      const p = flat % targets.pointsPerImage;
      const [x, y] = [targets.points[2 * p], targets.points[2 * p + 1]];
      const row = Array.from(batch.instanceIds).indexOf(targets.labels[flat]);
      expect(Math.floor(row / k)).toBe(image);
      const [x1, y1, x2, y2] = v.boxes.subarray(row * 4, row * 4 + 4);
      expect(x > x1 && x < x2 && y > y1 && y < y2).toBe(true);
    }
    for (const [name, t] of first.backbone)
      expect(Float32Array.from(t.data)).toEqual(frozen.get(name));
    const after = make();
    after.restore(new Map(first.groups()).set(GROUP_MOMENTUM, make().momentum));
    const again = await after.run(batch, ctx(0));
    expect(again.losses[LOSS_CONTRAST]).toBeLessThan(before.losses[LOSS_CONTRAST]);
  }, 60_000);
});
