// The RetinaNet fine-tuning step with the GIoU form (`giou_loss(decode_deltas(out.anchors,
// out.deltas), m.targets, …)`, mmdet `reg_decoded_bbox=True` + GIoULoss(loss_weight=2.0)) against
// mmdetection's: scripts/make-retinanet-giou-goldens.py (PyTorch, a literal transcription of mmdet
// 2.x AnchorHead.get_targets / loss_single with MaxIoUAssigner, DeltaXYWHBBoxCoder.decode and
// GIoULoss) wrote a three-image batch (the third without boxes), per-level head outputs, the focal
// and GIoU terms over mmdet's avg_factor (Σ max(#positives, 1)) and the gradients of
// focal + 2·GIoU with respect to every level's deltas and logits. The step's host targets plus its
// traced loss terms (decoding included) on the same head outputs must give the same numbers, and
// autodiff the same gradients (in f64 to 1e-9; the terms in f32 to 1e-5).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gradients } from '../../runtime/autodiff/grad.js';
import { RETINANET_ASSIGNER } from '../../runtime/detect/max-iou-assigner.js';
import { DenseDetector } from '../../runtime/models/detector.js';
import { fpnForLevels } from '../../runtime/models/fpn.js';
import { ResNet } from '../../runtime/models/resnet.js';
import { RetinaHead } from '../../runtime/models/retina-head.js';
import { packageRoot } from '../../runtime/package-root.js';
import { Rng } from '../../runtime/rng.js';
import { FinetuneStep } from '../../runtime/run/finetune-step.js';
import { cpuReferenceBackend } from '../../runtime/tensor/backend.js';
import { Tensor, withTrace } from '../../runtime/tensor/tensor.js';
import { Trace } from '../../runtime/tensor/trace.js';
import { goldenBatch } from './golden-batch.js';

interface Level {
  shape: number[];
  data: number[];
}

interface Golden {
  canvas: [number, number];
  anchors: {
    strides: number[];
    ratios: number[];
    octaveBaseScale: number;
    scalesPerOctave: number;
  };
  numClasses: number;
  categoryIds: number[];
  lossWeight: number;
  images: { boxes: number[][]; labels: number[]; size: [number, number] }[];
  cls: Level[];
  reg: Level[];
  positives: number[];
  avgFactor: number;
  loss_cls: number;
  loss_bbox: number;
  grad_reg: Level[];
  grad_cls: Level[];
}

const golden = JSON.parse(
  readFileSync(join(packageRoot(), 'test', 'fixtures', 'run', 'retinanet-giou-loss.json'), 'utf8'),
) as Golden;

/** A small RetinaNet: the step needs a model for its parameters; its outputs are not used here. */
function model(): DenseDetector<RetinaHead> {
  const backbone = new ResNet({ depth: 18, widthMultiplier: 1 / 16, outIndices: [1, 2, 3] });
  const neck = fpnForLevels({
    inChannels: backbone.outChannels,
    inputLevels: [3, 4, 5],
    levels: [3, 5],
    outChannels: 8,
  });
  const head = new RetinaHead({
    inChannels: 8,
    stackedConvs: 1,
    numAnchors: 9,
    classifier: { kind: 'logits', numClasses: golden.numClasses },
  });
  return new DenseDetector(backbone, neck, head).initialize(Rng.fromSeed(3));
}

function maxAbsDiff(actual: ArrayLike<number>, expected: readonly number[]): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++)
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  return worst;
}

describe('RetinaNet fine-tuning with focal + GIoU on decoded deltas vs mmdetection', () => {
  it('gives the same targets, loss terms and gradients w.r.t. the deltas and logits', async () => {
    const step = new FinetuneStep({
      model: model(),
      anchors: golden.anchors,
      assigner: RETINANET_ASSIGNER,
      regression: 'giou_loss',
      numClasses: golden.numClasses,
      classOf: new Map(golden.categoryIds.map((c, i) => [c, i])),
      alpha: 0.25,
      gamma: 2,
      lossNames: ['cls', 'reg'],
      lossWeights: [1, golden.lossWeight],
      optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 0 },
      backend: cpuReferenceBackend(),
    });
    const values = step.batchValues(goldenBatch(golden));
    const t = step.lastTargets!;
    const perImage = golden.positives.map((_, i) => {
      let n = 0;
      for (let a = 0; a < t.anchorsPerImage; a++) n += t.regWeights[i * t.anchorsPerImage + a];
      return n;
    });
    expect(perImage).toEqual(golden.positives);
    expect(golden.positives[2]).toBe(0);
    expect(t.avgFactor).toBe(golden.avgFactor);
    expect(values.get('num_pos')!.data[0]).toBe(golden.avgFactor);

    const backend = cpuReferenceBackend({ float64: true });
    const trace = new Trace();
    const levels = (xs: readonly Level[]) =>
      xs.map((x) =>
        Tensor.from({ shape: x.shape, dtype: 'f32', data: Float32Array.from(x.data) }, trace),
      );
    const cls = levels(golden.cls);
    const reg = levels(golden.reg);
    const { losses, grads } = withTrace(trace, () => {
      const batch = new Map([...values].map(([n, v]) => [n, Tensor.from(v, trace)]));
      const terms = step.lossesOf({ cls, reg }, batch);
      return { losses: terms, grads: gradients(terms.cls.add(terms.reg), [...reg, ...cls]) };
    });
    // In f64 the step's graph and the transcription agree to rounding (measured ~1e-14 on the
    // terms, ~5e-12 on the gradients, which are stored with 10 digits); in f32, as it trains, to
    // 1e-5.
    const value = async (x: Tensor, b = backend) => (await x.data(b)).data[0];
    const f32 = cpuReferenceBackend();
    for (const [b, tolerance] of [
      [backend, 1e-9],
      [f32, 1e-5],
    ] as const) {
      expect(Math.abs((await value(losses.cls, b)) - golden.loss_cls)).toBeLessThan(tolerance);
      const reg = (await value(losses.reg, b)) - golden.lossWeight * golden.loss_bbox;
      expect(Math.abs(reg)).toBeLessThan(tolerance);
    }
    const expected = [...golden.grad_reg, ...golden.grad_cls];
    for (let i = 0; i < expected.length; i++) {
      const g = await grads[i].data(backend);
      expect(g.shape).toEqual(expected[i].shape);
      expect(maxAbsDiff(g.data, expected[i].data), `gradient ${i}`).toBeLessThan(1e-9);
    }
    // The GIoU term has gradient: positives at strides 8 and 16 (none at 32).
    expect(golden.grad_reg[0].data.some((x) => x !== 0)).toBe(true);
    expect(golden.grad_reg[1].data.some((x) => x !== 0)).toBe(true);
  });
});
