// The supervised RetinaNet step (runtime/run/finetune-step.ts) against an independent computation:
// the same detector run eagerly, its outputs flattened by hand (level, location, anchor), and the
// focal and L1 terms summed in plain loops from the formulas (torchvision's sigmoid_focal_loss,
// mmdet's averaging over positives). The step's reported terms (computed before its update) must
// match, which checks the prior order, the targets' alignment and the lowered std losses together;
// a second step on the same batch must lower the objective.

import { describe, expect, it } from 'vitest';
import type { Batch } from '../../runtime/data/loader/batch.js';
import { RETINANET_ASSIGNER } from '../../runtime/detect/max-iou-assigner.js';
import { DenseDetector } from '../../runtime/models/detector.js';
import { fpnForLevels } from '../../runtime/models/fpn.js';
import { ResNet } from '../../runtime/models/resnet.js';
import { RetinaHead } from '../../runtime/models/retina-head.js';
import { ParameterBinding } from '../../runtime/nn/binding.js';
import { BatchNorm2d } from '../../runtime/nn/norm.js';
import { Rng } from '../../runtime/rng.js';
import { FinetuneStep } from '../../runtime/run/finetune-step.js';
import { finetuneTargets } from '../../runtime/run/finetune-targets.js';
import { cpuReferenceBackend } from '../../runtime/tensor/backend.js';
import { Tensor, withTrace } from '../../runtime/tensor/tensor.js';
import { Trace } from '../../runtime/tensor/trace.js';

const ANCHORS = { strides: [8, 16], ratios: [0.5, 1, 2], octaveBaseScale: 4, scalesPerOctave: 3 };
const CLASSES = 3;
const classOf = new Map([
  [1, 0],
  [2, 1],
  [3, 2],
]);

function model(): DenseDetector<RetinaHead> {
  const backbone = new ResNet({
    depth: 18,
    widthMultiplier: 1 / 16,
    outIndices: [1, 2, 3],
    frozenStages: 1,
  });
  const neck = fpnForLevels({
    inChannels: backbone.outChannels,
    inputLevels: [3, 4, 5],
    levels: [3, 4],
    outChannels: 8,
  });
  const head = new RetinaHead({
    inChannels: 8,
    stackedConvs: 1,
    numAnchors: 9,
    classifier: { kind: 'logits', numClasses: CLASSES },
  });
  return new DenseDetector(backbone, neck, head).initialize(Rng.fromSeed(5));
}

function batch(): Batch {
  const rng = Rng.fromSeed(7);
  const images = Float32Array.from({ length: 2 * 3 * 64 * 64 }, () => rng.uniform() * 2 - 1);
  return {
    epoch: 0,
    index: 0,
    size: 2,
    maxBoxes: 2,
    sampleIndices: Int32Array.of(0, 1),
    imageIds: Int32Array.of(1, 2),
    instanceIds: Int32Array.of(0, 1, 2, -1),
    present: Uint8Array.of(1, 1, 1, 0),
    labels: Int32Array.of(1, 3, 2, 0),
    numInstances: 3,
    truncatedBoxes: 0,
    views: [
      {
        images,
        height: 64,
        width: 64,
        imageSizes: Int32Array.of(64, 64, 56, 60),
        boxes: Float32Array.of(4, 6, 36, 30, 30, 30, 60, 62, 10, 12, 50, 40, 0, 0, 0, 0),
        boxMask: Uint8Array.of(1, 1, 1, 0),
        transforms: Float64Array.of(1, 0, 1, 0, 1, 0, 1, 0),
      },
    ],
  };
}

const logSigmoid = (x: number) => (x < 0 ? x - Math.log1p(Math.exp(x)) : -Math.log1p(Math.exp(-x)));

describe('fine-tuning step', () => {
  it('reports the focal and L1 terms of an independent computation, and lowers them', async () => {
    const m = model();
    const b = batch();
    // Independent: eager forward, flatten (n, h, w, a) by hand, loops over the formulas.
    const trace = new Trace();
    const levels = withTrace(trace, () =>
      m.forward(
        new ParameterBinding(trace),
        Tensor.from({ shape: [2, 3, 64, 64], dtype: 'f32', data: b.views[0].images }, trace),
      ),
    );
    const logits: number[][] = [];
    const deltas: number[][] = [];
    for (let n = 0; n < 2; n++)
      for (const l of levels) {
        const cls = await l.cls.data();
        const reg = await l.reg.data();
        const [, , h, w] = cls.shape;
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++)
            for (let a = 0; a < 9; a++) {
              const at = (c: number, per: number) => ((n * 9 * per + a * per + c) * h + y) * w + x;
              logits.push(Array.from({ length: CLASSES }, (_, c) => cls.data[at(c, CLASSES)]));
              deltas.push(Array.from({ length: 4 }, (_, c) => reg.data[at(c, 4)]));
            }
      }
    // Images are [n][levels] above but the step's rows are image-major too: same order.
    const t = finetuneTargets(b, ANCHORS, RETINANET_ASSIGNER, CLASSES, classOf);
    expect(logits.length).toBe(2 * t.anchorsPerImage);
    const avg = Math.max(1, t.numPositives);
    let focal = 0;
    let l1 = 0;
    logits.forEach((row, r) => {
      if (!t.classWeights[r]) return;
      row.forEach((z, c) => {
        const y = t.classTargets[r * CLASSES + c];
        const p = 1 / (1 + Math.exp(-z));
        const ce = -(y * logSigmoid(z) + (1 - y) * logSigmoid(-z));
        const pt = p * y + (1 - p) * (1 - y);
        focal += (0.25 * y + 0.75 * (1 - y)) * ce * (1 - pt) ** 2;
      });
      if (t.regWeights[r])
        for (let c = 0; c < 4; c++) l1 += Math.abs(deltas[r][c] - t.regTargets[r * 4 + c]);
    });
    expect(t.numPositives).toBeGreaterThan(0);

    const step = new FinetuneStep({
      model: m,
      anchors: ANCHORS,
      assigner: RETINANET_ASSIGNER,
      numClasses: CLASSES,
      classOf,
      alpha: 0.25,
      gamma: 2,
      lossNames: ['cls', 'reg'],
      lossWeights: [1, 2],
      optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 1e-4 },
      backend: cpuReferenceBackend(),
    });
    // Stem and layer1 are frozen (frozen_stages 1), BN buffers are constants.
    expect(step.frozen.has('backbone.conv1.weight')).toBe(true);
    expect(step.frozen.has('backbone.layer2.0.bn1.running_mean')).toBe(true);
    expect(step.params.has('backbone.layer2.0.conv1.weight')).toBe(true);
    expect(step.params.has('bbox_head.retina_cls.weight')).toBe(true);
    const ctx = (k: number) => ({
      stage: 'finetune',
      step: k,
      totalSteps: 2,
      epoch: 0,
      lr: 0.01,
      rng: Rng.fromSeed(1),
    });
    const first = await step.run(b, ctx(1));
    expect(first.losses.cls).toBeCloseTo(focal / avg, 4);
    expect(first.losses.reg).toBeCloseTo((2 * l1) / avg, 4);
    const second = await step.run(b, ctx(2));
    expect(second.losses.cls + second.losses.reg).toBeLessThan(first.losses.cls + first.losses.reg);
  });

  it('refuses a backbone whose BN uses batch statistics (it would not write them back)', () => {
    const m = model();
    for (const bn of m.modules()) if (bn instanceof BatchNorm2d) bn.normEval = false;
    expect(
      () =>
        new FinetuneStep({
          model: m,
          anchors: ANCHORS,
          assigner: RETINANET_ASSIGNER,
          numClasses: CLASSES,
          classOf,
          alpha: 0.25,
          gamma: 2,
          lossNames: ['cls', 'reg'],
          lossWeights: [1, 1],
          optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 0 },
          backend: cpuReferenceBackend(),
        }),
    ).toThrow(
      /backbone\.layer2\.0\.bn1\.running_mean belongs to a BN layer using batch statistics/,
    );
  });
});
