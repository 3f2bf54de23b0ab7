// The supervised fine-tuning step of a RetinaNet stage (mmdet's RetinaNet: sigmoid focal loss over
// every assigned anchor plus a regression term on positives, both over mmdet's avg_factor): the
// regression term is L1 on the DeltaXYWH deltas, or — mmdet's `reg_decoded_bbox=True` with
// GIoULoss — `giou_loss` between the deltas decoded with their anchors (std.boxes `decode_deltas`,
// stds 1, the log-ratio clamp of wh_ratio_clip 16/1000) and the matched boxes. Host matching
// (finetune-targets.ts), then the traced step of supervised-step.ts (forward, backward, SGD/AdamW)
// replayed for every batch of the same shape. The loss functions are std.losses' and std.boxes'
// own, lowered and inlined into the trace, so the decoding is differentiated with the detector. The
// detector's trainable parameters are the optimizer's; its BN buffers and frozen stages (mmdet
// `frozen_stages`, `norm_eval`) are constants of the step.
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
import { finetuneTargets, type FinetuneTargets } from './finetune-targets.js';
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

/**
 * The regression term of a RetinaNet stage: `l1` on the deltas against DeltaXYWH targets, or
 * `giou_loss` on the decoded deltas against the matched boxes (mmdet `reg_decoded_bbox=True`).
 */
export type RetinaRegressionLoss = 'l1' | 'giou_loss';

export interface FinetuneConfig extends SupervisedStepConfig<RetinaHead> {
  readonly anchors: AnchorGeneratorConfig;
  readonly assigner: MaxIoUAssignerConfig;
  /** Default `l1`. */
  readonly regression?: RetinaRegressionLoss;
  /** The plan's names of the classification and regression terms, and their weights. */
  readonly lossNames: readonly [string, string];
  readonly lossWeights: readonly [number, number];
}

export class FinetuneStep extends SupervisedStep<RetinaHead, FinetuneConfig> {
  readonly #regression = this.config.regression ?? 'l1';
  readonly #l1 = LoweredLoss.fromStd('losses', 'l1');
  readonly #giou = LoweredLoss.fromStd('losses', 'giou_loss');
  readonly #decode = LoweredLoss.fromStd('boxes', 'decode_deltas');
  /** Targets of the last step, for tests. */
  lastTargets: FinetuneTargets | undefined;

  setup(): Record<string, unknown> {
    return {
      kind: 'finetune',
      optimizer: this.config.optimizer,
      clipNorm: this.config.clipNorm ?? null,
      assigner: this.config.assigner,
      anchors: this.config.anchors,
      focal: { alpha: this.config.alpha, gamma: this.config.gamma },
      lossWeights: this.config.lossWeights,
      // Absent for L1, so checkpoints written before the GIoU form resume unchanged.
      ...(this.#regression === 'l1' ? {} : { regression: this.#regression }),
      params: shapesOf(this.params),
      frozen: shapesOf(this.frozen),
    };
  }

  /** The batch tensors of the traced step: images and the anchors' host targets. */
  batchValues(batch: Batch): Map<string, TensorData> {
    const c = this.config;
    const t = finetuneTargets(batch, c.anchors, c.assigner, c.numClasses, c.classOf);
    this.lastTargets = t;
    const v = batch.views[0];
    const rows = batch.size * t.anchorsPerImage;
    const decoded: [string, TensorData][] = [];
    if (this.#regression === 'giou_loss') {
      const anchors = new Float32Array(rows * 4);
      for (let i = 0; i < batch.size; i++) anchors.set(t.anchors, i * t.anchorsPerImage * 4);
      decoded.push(
        ['anchors', { shape: [rows, 4], dtype: 'f32', data: anchors }],
        ['box_targets', { shape: [rows, 4], dtype: 'f32', data: t.boxTargets }],
      );
    }
    return new Map<string, TensorData>([
      ['images', { shape: [batch.size, 3, v.height, v.width], dtype: 'f32', data: v.images }],
      ['cls_targets', { shape: [rows, c.numClasses], dtype: 'f32', data: t.classTargets }],
      ['cls_weights', { shape: [rows], dtype: 'f32', data: t.classWeights }],
      ['reg_targets', { shape: [rows, 4], dtype: 'f32', data: t.regTargets }],
      ['reg_weights', { shape: [rows], dtype: 'f32', data: t.regWeights }],
      // mmdet divides both terms by Σ over images of max(#positives, 1).
      ['num_pos', { shape: [], dtype: 'f32', data: Float32Array.of(t.avgFactor) }],
      ...decoded,
    ]);
  }

  protected headLosses(levels: LevelsOf<RetinaHead>, batch: TensorMap): Record<string, Tensor> {
    return this.lossesOf({ cls: levels.map((l) => l.cls), reg: levels.map((l) => l.reg) }, batch);
  }

  /** The weighted loss terms of the head's per-level outputs `[B, A·K, H, W]` on the batch rows. */
  lossesOf(
    head: { readonly cls: readonly Tensor[]; readonly reg: readonly Tensor[] },
    batch: TensorMap,
  ): Record<string, Tensor> {
    const get = (name: string) => batchTensor(batch, name);
    const c = this.config;
    const logits = flattenPriors(head.cls, c.numClasses).reshape([-1, c.numClasses]);
    const deltas = flattenPriors(head.reg, 4).reshape([-1, 4]);
    const cls = this.focal.call({
      logits,
      targets: get('cls_targets'),
      weight: get('cls_weights'),
      avg: get('num_pos'),
    });
    const reg =
      this.#regression === 'giou_loss'
        ? this.#giou.call({
            pred: this.#decode.call({ priors: get('anchors'), deltas }),
            target: get('box_targets'),
            weight: get('reg_weights'),
            avg: get('num_pos'),
          })
        : this.#l1.call({
            pred: deltas,
            target: get('reg_targets'),
            weight: get('reg_weights'),
            avg: get('num_pos'),
          });
    return weightedTerms([cls, reg], c.lossNames, c.lossWeights);
  }
}
