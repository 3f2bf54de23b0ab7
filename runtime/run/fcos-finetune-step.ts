// The supervised fine-tuning step of an FCOS stage, as mmdet's `FCOSHead.loss` (aligndet-spec §6,
// §7.2): every point of the canvas is assigned by the FCOS rule to the image's labelled boxes
// (runtime/train/fcos-point-targets.ts); all points enter `sigmoid_focal` (one-hot targets on
// positives, background rows all zero) divided by the number of positives (at least 1); the
// positives' predicted (l, t, r, b) are decoded into boxes and enter `iou_loss` (−log IoU, or
// `giou_loss`) weighted by their centerness targets and divided by the sum of those targets (at
// least 1e-6); `centerness_loss` (BCE on the centerness logits) on the positives, divided by the
// number of positives. The loss functions are std.losses' own, lowered and inlined into the traced
// step of supervised-step.ts (forward, backward, SGD/AdamW), whose checkpoint groups and trainable /
// frozen split both families share, so `init` and resume read both alike. Flow: stage spec → **FCOS fine-tuning step** → runtime/train's loop.

import type { TensorData } from '../cpu/tensor-data.js';
import type { Batch } from '../data/loader/batch.js';
import type { FcosTargetConfig } from '../detect/fcos-targets.js';
import { flattenPriors } from '../models/dense-outputs.js';
import type { FcosHead } from '../models/fcos-head.js';
import type { Tensor } from '../tensor/tensor.js';
import { shapesOf } from '../train/checkpoint-groups.js';
import { fcosPointTargets, type FcosPointTargets } from '../train/fcos-point-targets.js';
import {
  FcosRegressionLosses,
  fcosRegressionTensors,
  type FcosBoxLoss,
} from '../train/fcos-regression.js';
import type { TensorMap } from '../train/traced-step.js';
import {
  batchTensor,
  SupervisedStep,
  weightedTerms,
  type LevelsOf,
  type SupervisedStepConfig,
} from './supervised-step.js';

export interface FcosFinetuneConfig extends SupervisedStepConfig<FcosHead> {
  readonly targets: FcosTargetConfig;
  readonly boxLoss: FcosBoxLoss;
  /** The plan's names of the classification, box and centerness terms, and their weights. */
  readonly lossNames: readonly [string, string, string];
  readonly lossWeights: readonly [number, number, number];
}

export class FcosFinetuneStep extends SupervisedStep<FcosHead, FcosFinetuneConfig> {
  readonly #regression = new FcosRegressionLosses(this.config.boxLoss);
  /** Targets of the last step, for tests. */
  lastTargets: FcosPointTargets | undefined;

  setup(): Record<string, unknown> {
    return {
      kind: 'fcos_finetune',
      optimizer: this.config.optimizer,
      clipNorm: this.config.clipNorm ?? null,
      targets: this.config.targets,
      focal: { alpha: this.config.alpha, gamma: this.config.gamma },
      boxLoss: this.config.boxLoss,
      lossWeights: this.config.lossWeights,
      params: shapesOf(this.params),
      frozen: shapesOf(this.frozen),
    };
  }

  /** The batch tensors of the traced step (host targets included). */
  batchValues(batch: Batch): Map<string, TensorData> {
    const c = this.config;
    const k = batch.maxBoxes;
    const t = fcosPointTargets(batch, 0, c.targets, (i, r) => {
      const cls = c.classOf.get(batch.labels[i * k + r]);
      if (cls === undefined)
        throw new RangeError(`internal: category ${batch.labels[i * k + r]} has no class index`);
      return cls;
    });
    this.lastTargets = t;
    const v = batch.views[0];
    const rows = batch.size * t.pointsPerImage;
    const clsTargets = new Float32Array(rows * c.numClasses);
    for (let r = 0; r < rows; r++)
      if (t.labels[r] >= 0) clsTargets[r * c.numClasses + t.labels[r]] = 1;
    return new Map<string, TensorData>([
      ['images', { shape: [batch.size, 3, v.height, v.width], dtype: 'f32', data: v.images }],
      ['cls_targets', { shape: [rows, c.numClasses], dtype: 'f32', data: clsTargets }],
      // mmdet's FCOS puts every point into the focal loss (no ignored points).
      ['cls_weights', { shape: [rows], dtype: 'f32', data: new Float32Array(rows).fill(1) }],
      ...fcosRegressionTensors(t, batch.size),
    ]);
  }

  protected headLosses(levels: LevelsOf<FcosHead>, batch: TensorMap): Record<string, Tensor> {
    return this.lossesOf(
      {
        cls: levels.map((l) => l.cls),
        reg: levels.map((l) => l.reg),
        centerness: levels.map((l) => l.centerness),
      },
      batch,
    );
  }

  /** The weighted loss terms of the head's per-level outputs `[B, C, H, W]` on `batchValues`' rows. */
  lossesOf(
    head: { readonly cls: Tensor[]; readonly reg: Tensor[]; readonly centerness: Tensor[] },
    batch: TensorMap,
  ): Record<string, Tensor> {
    const get = (name: string) => batchTensor(batch, name);
    const c = this.config;
    const logits = flattenPriors(head.cls, c.numClasses).reshape([-1, c.numClasses]);
    const distances = flattenPriors(head.reg, 4).reshape([-1, 4]);
    const centerness = flattenPriors(head.centerness, 1).reshape([-1]);
    const cls = this.focal.call({
      logits,
      targets: get('cls_targets'),
      weight: get('cls_weights'),
      avg: get('num_pos'),
    });
    const reg = this.#regression.call(distances, centerness, get);
    return weightedTerms([cls, reg.box, reg.centerness], c.lossNames, c.lossWeights);
  }
}
