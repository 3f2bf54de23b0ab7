// The FCOS fine-tuning step's loss against mmdetection's: scripts/make-fcos-goldens.py (PyTorch, a
// literal transcription of mmdet 2.x FCOSHead.get_targets / loss) wrote a two-image batch, per-level
// head outputs and the three loss terms; the step's host targets plus its lowered std losses must
// give the same numbers on the same head outputs — with the IoU and the GIoU box term.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FCOS_INF } from '../../runtime/detect/fcos-targets.js';
import { packageRoot } from '../../runtime/package-root.js';
import { Rng } from '../../runtime/rng.js';
import { buildFcos, type FcosPlan } from '../../runtime/run/fcos-detector.js';
import { FcosFinetuneStep } from '../../runtime/run/fcos-finetune-step.js';
import { cpuReferenceBackend } from '../../runtime/tensor/backend.js';
import { Tensor, withTrace } from '../../runtime/tensor/tensor.js';
import { Trace } from '../../runtime/tensor/trace.js';
import { regressRangesOf } from '../../runtime/train/fcos-point-targets.js';
import type { FcosBoxLoss } from '../../runtime/train/fcos-regression.js';
import { goldenBatch } from './golden-batch.js';

interface Golden {
  canvas: [number, number];
  strides: number[];
  ranges: number[];
  numClasses: number;
  categoryIds: number[];
  images: { boxes: number[][]; labels: number[]; size: [number, number] }[];
  cls: { shape: number[]; data: number[] }[];
  reg: { shape: number[]; data: number[] }[];
  centerness: { shape: number[]; data: number[] }[];
  numPositives: number;
  loss_cls: number;
  loss_bbox: number;
  loss_bbox_giou: number;
  loss_centerness: number;
}

const golden = JSON.parse(
  readFileSync(join(packageRoot(), 'test', 'fixtures', 'run', 'fcos-loss.json'), 'utf8'),
) as Golden;

const plan: FcosPlan = {
  name: 'finetuned',
  at: 'test',
  depth: 18,
  widthMultiplier: 0.125,
  weights: undefined,
  frozenBackbone: false,
  frozenStages: 1,
  levels: [3, 5],
  channels: 32,
  extra: 'none',
  convs: 1,
  headChannels: 32,
  classifier: { kind: 'logits', numClasses: golden.numClasses },
  strides: golden.strides,
};

async function lossesWith(boxLoss: FcosBoxLoss): Promise<{
  values: Record<string, number>;
  positives: number;
}> {
  const step = new FcosFinetuneStep({
    model: await buildFcos(plan, Rng.fromSeed(0)),
    targets: {
      strides: golden.strides,
      regressRanges: regressRangesOf(golden.ranges, FCOS_INF),
    },
    numClasses: golden.numClasses,
    classOf: new Map(golden.categoryIds.map((c, i) => [c, i])),
    alpha: 0.25,
    gamma: 2,
    boxLoss,
    lossNames: ['cls', 'box', 'centerness'],
    lossWeights: [1, 1, 1],
    optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 0 },
    backend: cpuReferenceBackend(),
  });
  const values = step.batchValues(goldenBatch(golden));
  const trace = new Trace();
  const losses = withTrace(trace, () => {
    const batch = new Map([...values].map(([n, t]) => [n, Tensor.from(t, trace)]));
    const levels = (xs: Golden['cls']) =>
      xs.map((x) =>
        Tensor.from({ shape: x.shape, dtype: 'f32', data: Float32Array.from(x.data) }, trace),
      );
    return step.lossesOf(
      {
        cls: levels(golden.cls),
        reg: levels(golden.reg),
        centerness: levels(golden.centerness),
      },
      batch,
    );
  });
  const out: Record<string, number> = {};
  for (const [name, t] of Object.entries(losses))
    out[name] = (await t.data(cpuReferenceBackend())).data[0];
  return { values: out, positives: step.lastTargets!.numPositives };
}

describe('FCOS fine-tuning loss vs mmdetection (PyTorch transcription)', () => {
  it('assigns the same positives and gives the same focal, IoU and centerness terms', async () => {
    const { values, positives } = await lossesWith('iou_loss');
    expect(positives).toBe(golden.numPositives);
    expect(positives).toBeGreaterThan(0);
    expect(values.cls).toBeCloseTo(golden.loss_cls, 4);
    expect(values.box).toBeCloseTo(golden.loss_bbox, 4);
    expect(values.centerness).toBeCloseTo(golden.loss_centerness, 4);
  });

  it('gives the GIoU term of mmdet GIoULoss with giou_loss', async () => {
    const { values } = await lossesWith('giou_loss');
    expect(values.box).toBeCloseTo(golden.loss_bbox_giou, 4);
    expect(values.cls).toBeCloseTo(golden.loss_cls, 4);
  });
});
