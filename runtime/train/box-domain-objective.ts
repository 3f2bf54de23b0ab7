// What differs between detector families in AlignDet's box-domain step (aligndet-spec §4–§6): the
// host matching of each view against its own pseudo boxes (which rows of the head's outputs are
// samples, their instance ids, the regression targets of view 1) and the loss terms computed from
// the two branches' outputs. The step itself (box-domain-step.ts: shared frozen backbone, online
// and momentum branches, tracing, optimizer, EMA, checkpoints) is the same for every family.
// This file holds the interface and RetinaNet's objective (MaxIoU + per-image sampling, box
// InfoNCE + L1 on DeltaXYWH deltas); FCOS's is runtime/train/fcos-box-domain.ts.
// Flow: batch → **objective (targets)** → traced step → **objective (losses)**.

import type { TensorData } from '../cpu/tensor-data.js';
import type { Batch } from '../data/loader/batch.js';
import type { FeatureMapSize } from '../detect/anchors.js';
import type { Tensor } from '../tensor/tensor.js';
import { sampledRows, viewTargets, type MatchingConfig, type ViewTargets } from './box-targets.js';
import type { LoweredLoss } from './lowered-loss.js';
import type { StepContext } from './stage-loop.js';

/** One branch's head outputs, rows flattened level-major, then location, then prior. */
export interface BoxDomainHeadOutput {
  /** `[B, N, D]` projector outputs. */
  readonly embeddings: Tensor;
  /** `[B, N, 4]` box regression (DeltaXYWH deltas, or FCOS (l, t, r, b) distances). */
  readonly deltas: Tensor;
  /** `[B, N, 1]` centerness logits (FCOS only). */
  readonly centerness?: Tensor;
}

export interface BoxDomainObjective {
  /** Settings a resumed run must share with its checkpoint (merged into the step's setup()). */
  settings(): Record<string, unknown>;
  /** Strides of the head's levels (feature maps of a canvas: ceil division by each). */
  readonly strides: readonly number[];
  /**
   * Host matching of both views: the batch tensors the losses read (besides `view1`, `view2`).
   * `featureMaps(v)` are the head's feature map sizes on view v's canvas.
   */
  targets(
    batch: Batch,
    ctx: StepContext,
    featureMaps: (view: number) => FeatureMapSize[],
  ): Map<string, TensorData>;
  /** The loss terms (fixed names) from the online branch on view 1 and the momentum one on view 2. */
  losses(
    q: BoxDomainHeadOutput,
    k: BoxDomainHeadOutput,
    batch: (name: string) => Tensor,
  ): Record<string, Tensor>;
}

export const LOSS_CONTRAST = 'contrast';
export const LOSS_REGRESSION = 'reg_l1';

/** RetinaNet (spec §4–§6): MaxIoU per view, RandomSampler per image, box InfoNCE + L1. */
export class RetinaNetObjective implements BoxDomainObjective {
  /** Targets of the last step, for tests and debugging. */
  lastTargets: readonly [ViewTargets, ViewTargets] | undefined;

  constructor(
    readonly matching: MatchingConfig,
    /** `box_infonce(q, lq, vq, k, lk, vk, tau)` and `l1(pred, target, weight, avg)`, lowered. */
    readonly contrastive: LoweredLoss,
    readonly regression: LoweredLoss,
    /** Where `targets` gets the matching of both views (default `viewTargets`; tests inject). */
    readonly match?: (batch: Batch, ctx: StepContext) => [ViewTargets, ViewTargets],
  ) {}

  get strides(): readonly number[] {
    return this.matching.anchors.strides;
  }

  settings(): Record<string, unknown> {
    return { matching: this.matching };
  }

  /** Matching of both views (each against its own boxes), before gathering the sampled rows. */
  viewTargets(
    batch: Batch,
    ctx: StepContext,
    featureMaps: (view: number) => FeatureMapSize[],
  ): [ViewTargets, ViewTargets] {
    const [t1, t2] = [0, 1].map((v) =>
      viewTargets(batch, v, this.matching, ctx.rng, featureMaps(v)),
    );
    return [t1, t2];
  }

  targets(
    batch: Batch,
    ctx: StepContext,
    featureMaps: (view: number) => FeatureMapSize[],
  ): Map<string, TensorData> {
    const [t1, t2] = this.match?.(batch, ctx) ?? this.viewTargets(batch, ctx, featureMaps);
    this.lastTargets = [t1, t2];
    const b = batch.size;
    const num = this.matching.sampler.num;
    const r1 = sampledRows(t1, b, num);
    const r2 = sampledRows(t2, b, num);
    const rows1 = b * r1.perImage;
    const rows2 = b * r2.perImage;
    return new Map<string, TensorData>([
      ['rows1', { shape: [rows1], dtype: 'i32', data: r1.index }],
      ['labels1', { shape: [rows1], dtype: 'i32', data: r1.labels }],
      ['sampled1', { shape: [rows1], dtype: 'bool', data: r1.valid }],
      ['rows2', { shape: [rows2], dtype: 'i32', data: r2.index }],
      ['labels2', { shape: [rows2], dtype: 'i32', data: r2.labels }],
      ['sampled2', { shape: [rows2], dtype: 'bool', data: r2.valid }],
      ['reg_targets', { shape: [rows1, 4], dtype: 'f32', data: r1.regTargets }],
      ['reg_weights', { shape: [rows1], dtype: 'f32', data: r1.regWeights }],
      ['num_pos', { shape: [], dtype: 'f32', data: Float32Array.of(t1.numPositives) }],
    ]);
  }

  losses(
    out1: BoxDomainHeadOutput,
    out2: BoxDomainHeadOutput,
    get: (name: string) => Tensor,
  ): Record<string, Tensor> {
    const d = out1.embeddings.shape[2];
    // Only the sampled anchors' rows enter the losses (gathered; padding rows are masked).
    const q = out1.embeddings.reshape([-1, d]).takeRows(get('rows1'));
    const k = out2.embeddings.reshape([-1, d]).takeRows(get('rows2'));
    const contrast = this.contrastive.call({
      q,
      lq: get('labels1'),
      vq: get('sampled1'),
      k,
      lk: get('labels2'),
      vk: get('sampled2'),
    });
    const reg = this.regression.call({
      pred: out1.deltas.reshape([-1, 4]).takeRows(get('rows1')),
      target: get('reg_targets'),
      weight: get('reg_weights'),
      avg: get('num_pos'),
    });
    return { [LOSS_CONTRAST]: contrast, [LOSS_REGRESSION]: reg };
  }
}
