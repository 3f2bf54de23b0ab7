// The supervised fine-tuning step of a RetinaNet stage (mmdet's RetinaNet: sigmoid focal loss over
// every assigned anchor plus L1 on the DeltaXYWH deltas of positives, both averaged over the
// positives): host matching (finetune-targets.ts), then the traced step of supervised-step.ts
// (forward, backward, SGD/AdamW) replayed for every batch of the same shape. The loss
// functions are `sigmoid_focal` and `l1` of pipelines/std/losses.align, lowered and inlined into the
// trace. The detector's trainable parameters are the optimizer's; its BN buffers and frozen stages
// (mmdet `frozen_stages`, `norm_eval`) are constants of the step.
// Flow: stage spec → **fine-tuning step** (TrainableStep) → runtime/train's stage loop.

import type { TensorData } from '../cpu/tensor-data.js';
import type { Batch } from '../data/loader/batch.js';
import type { AnchorGeneratorConfig } from '../detect/anchors.js';
import type { MaxIoUAssignerConfig } from '../detect/max-iou-assigner.js';
import { flattenPriors } from '../models/dense-outputs.js';
import type { RetinaHead } from '../models/retina-head.js';
import type { Tensor } from '../tensor/tensor.js';
import { shapesOf } from '../train/checkpoint-groups.js';
import { LoweredLoss } from '../train/lowered-loss.js';
import type { TensorMap } from '../train/traced-step.js';
import { finetuneTargets } from './finetune-targets.js';
import {
  batchTensor,
  SupervisedStep,
  weightedTerms,
  type LevelsOf,
  type SupervisedStepConfig,
} from './supervised-step.js';

export {
  GROUP_DETECTOR,
  GROUP_DETECTOR_FROZEN,
  GROUP_FT_OPTIMIZER,
  splitModelState,
} from './supervised-step.js';

export interface FinetuneConfig extends SupervisedStepConfig<RetinaHead> {
  readonly anchors: AnchorGeneratorConfig;
  readonly assigner: MaxIoUAssignerConfig;
  /** The plan's names of the classification and regression terms, and their weights. */
  readonly lossNames: readonly [string, string];
  readonly lossWeights: readonly [number, number];
}

export class FinetuneStep extends SupervisedStep<RetinaHead, FinetuneConfig> {
  readonly #l1 = LoweredLoss.fromStd('losses', 'l1');

  setup(): Record<string, unknown> {
    return {
      kind: 'finetune',
      optimizer: this.config.optimizer,
      clipNorm: this.config.clipNorm ?? null,
      assigner: this.config.assigner,
      anchors: this.config.anchors,
      focal: { alpha: this.config.alpha, gamma: this.config.gamma },
      lossWeights: this.config.lossWeights,
      params: shapesOf(this.params),
      frozen: shapesOf(this.frozen),
    };
  }

  /** The batch tensors of the traced step: images and the anchors' host targets. */
  batchValues(batch: Batch): Map<string, TensorData> {
    const c = this.config;
    const t = finetuneTargets(batch, c.anchors, c.assigner, c.numClasses, c.classOf);
    const v = batch.views[0];
    const rows = batch.size * t.anchorsPerImage;
    return new Map<string, TensorData>([
      ['images', { shape: [batch.size, 3, v.height, v.width], dtype: 'f32', data: v.images }],
      ['cls_targets', { shape: [rows, c.numClasses], dtype: 'f32', data: t.classTargets }],
      ['cls_weights', { shape: [rows], dtype: 'f32', data: t.classWeights }],
      ['reg_targets', { shape: [rows, 4], dtype: 'f32', data: t.regTargets }],
      ['reg_weights', { shape: [rows], dtype: 'f32', data: t.regWeights }],
      // mmdet averages both terms over the positives, at least one.
      ['num_pos', { shape: [], dtype: 'f32', data: Float32Array.of(Math.max(1, t.numPositives)) }],
    ]);
  }

  protected headLosses(levels: LevelsOf<RetinaHead>, batch: TensorMap): Record<string, Tensor> {
    const get = (name: string) => batchTensor(batch, name);
    const c = this.config;
    const logits = flattenPriors(
      levels.map((l) => l.cls),
      c.numClasses,
    ).reshape([-1, c.numClasses]);
    const deltas = flattenPriors(
      levels.map((l) => l.reg),
      4,
    ).reshape([-1, 4]);
    const cls = this.focal.call({
      logits,
      targets: get('cls_targets'),
      weight: get('cls_weights'),
      avg: get('num_pos'),
    });
    const reg = this.#l1.call({
      pred: deltas,
      target: get('reg_targets'),
      weight: get('reg_weights'),
      avg: get('num_pos'),
    });
    return weightedTerms([cls, reg], c.lossNames, c.lossWeights);
  }
}
