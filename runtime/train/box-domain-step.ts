// The AlignDet box-domain pre-training step (aligndet-spec §3–§6 and its appendix), as one traced IR
// graph replayed every iteration, cut into forward / backward / update phases for timing:
//
//   targets1, targets2 = match(view1 anchors, P1), match(view2 anchors, P2)      (host, §4)
//   f1 = no_grad(backbone(view1)); f2 = no_grad(backbone(view2))   one shared frozen backbone (§10.14)
//   q, deltas = online_head(f1);  k = no_grad(momentum_head(f2))   f_k in train mode, no_grad (§3.1)
//   q, deltas, k = their sampled anchors' rows (gathered; only sampled anchors count, §5.3)
//   contrast = box_infonce(q, ids1, sampled1, k, ids2, sampled2, τ)  lowered from std.losses (§5.2)
//   reg = l1(deltas[pos1], encode(anchors1, P1), avg = #positives of view 1)   view 1 only (§6, §10.9)
//   online ← optimizer(online, ∇(contrast + reg))       neck / head / projectors only
//   momentum ← m·momentum + (1 − m)·online, m = 1 − (1 − m0)(cos(πk/K) + 1)/2   parameters only (§3.2)
//
// The backbone is stored once and both branches read it, so it is bit-identical in f_q and f_k and
// never receives a gradient or weight decay. The momentum detector holds only the non-backbone
// parameters. The matching and the loss terms are the family's objective (box-domain-objective.ts:
// RetinaNet, above, by default; FCOS in fcos-box-domain.ts); the rest of the step is shared.
// Flow: batch → targets (objective) → **traced step** → Backend.

import type { TensorData } from '../cpu/tensor-data.js';
import type { Batch } from '../data/loader/batch.js';
import type { FeatureMapSize } from '../detect/anchors.js';
import { featureMapSizes } from '../detect/anchors.js';
import { cosineMomentum } from '../optim/schedules.js';
import type { OptimizerSpec } from '../optim/train-step.js';
import type { Backend } from '../tensor/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  LOSS_CONTRAST,
  LOSS_REGRESSION,
  RetinaNetObjective,
  type BoxDomainHeadOutput,
  type BoxDomainObjective,
} from './box-domain-objective.js';
import type { MatchingConfig, ViewTargets } from './box-targets.js';
import type { TensorGroups } from './checkpoint.js';
import { groupsOf, restoreGroups, shapesOf, type GroupList } from './checkpoint-groups.js';
import { TrainSetupError } from './errors.js';
import type { LoweredLoss } from './lowered-loss.js';
import type { StepContext, StepResult, TrainableStep } from './stage-loop.js';
import { zeroOptimizerState } from './step-state.js';
import {
  runTracedStep,
  stepResultOf,
  TracedStepCache,
  typesOf,
  type StepTensors,
  type TensorMap,
  type TracedStep,
  type TracedStepSpec,
} from './traced-step.js';

export type { TensorMap } from './traced-step.js';

/** What the step needs of a detector family: a frozen backbone and a head with a projector. */
export interface BoxDomainDetector {
  /** The frozen backbone's feature maps (called inside no_grad). */
  backbone(params: TensorMap, images: Tensor): Tensor[];
  /**
   * Neck + head on backbone features: per-anchor embeddings `[B, N, D]` (the projector output)
   * and box deltas `[B, N, 4]` (FCOS: distances, and centerness `[B, N, 1]`), N flattened
   * level-major, then location, then anchor.
   */
  head(params: TensorMap, features: readonly Tensor[]): BoxDomainHeadOutput;
  /** Feature map sizes of a canvas (default: ceil division by each anchor stride). */
  featureMaps?(height: number, width: number): FeatureMapSize[];
}

interface BoxDomainCommonConfig {
  readonly detector: BoxDomainDetector;
  readonly optimizer: OptimizerSpec;
  /** Clip the online gradients to this global L2 norm before the update (DETR: 0.1). */
  readonly clipNorm?: number;
  /** EMA base momentum m0 (0.996 in the reference). */
  readonly baseMomentum: number;
  readonly backend: Backend;
}

/** RetinaNet's matching and losses (the default objective), or another family's objective. */
export type BoxDomainConfig = BoxDomainCommonConfig &
  (
    | {
        readonly matching: MatchingConfig;
        /** `box_infonce(q, lq, vq, k, lk, vk, tau)` and `l1(pred, target, weight, avg)`, lowered. */
        readonly contrastive: LoweredLoss;
        readonly regression: LoweredLoss;
        readonly objective?: undefined;
      }
    | { readonly objective: BoxDomainObjective }
  );

/** Checkpoint group prefixes; the online and target names follow the reference's wrapper. */
export const GROUP_ONLINE = 'online_backbone.';
export const GROUP_MOMENTUM = 'target_backbone.';
export const GROUP_BACKBONE = 'online_backbone.backbone.';
export const GROUP_OPTIMIZER = 'optimizer.';

export { LOSS_CONTRAST, LOSS_REGRESSION };

export class BoxDomainStep implements TrainableStep<Batch> {
  online: Map<string, TensorData>;
  momentum: Map<string, TensorData>;
  readonly backbone: Map<string, TensorData>;
  optimizerState: Map<string, TensorData>;
  readonly objective: BoxDomainObjective;
  readonly #traced = new TracedStepCache();

  constructor(
    readonly config: BoxDomainConfig,
    backbone: ReadonlyMap<string, TensorData>,
    online: ReadonlyMap<string, TensorData>,
  ) {
    this.objective =
      config.objective ??
      new RetinaNetObjective(config.matching, config.contrastive, config.regression, (b, c) =>
        // Through the step's own method, so a subclass can supply the matching (tests do).
        this.targets(b, c),
      );
    this.backbone = new Map(backbone);
    this.online = new Map(online);
    // f_k starts as an exact copy of f_q (§3.1).
    this.momentum = new Map(online);
    this.optimizerState = zeroOptimizerState(online, config.optimizer);
  }

  get momentumBase(): number {
    return this.config.baseMomentum;
  }

  /** Settings a resumed run must share with the checkpoint. */
  setup(): Record<string, unknown> {
    return {
      kind: 'box_domain',
      optimizer: this.config.optimizer,
      clipNorm: this.config.clipNorm ?? null,
      baseMomentum: this.config.baseMomentum,
      ...this.objective.settings(),
      online: shapesOf(this.online),
      backbone: shapesOf(this.backbone),
    };
  }

  #groupList(): GroupList {
    return [
      [GROUP_ONLINE, this.online],
      [GROUP_BACKBONE, this.backbone],
      [GROUP_MOMENTUM, this.momentum],
      [GROUP_OPTIMIZER, this.optimizerState],
    ];
  }

  groups(): TensorGroups {
    return groupsOf(this.#groupList());
  }

  restore(groups: TensorGroups): void {
    restoreGroups(groups, this.#groupList(), 'model');
  }

  #featureMaps(height: number, width: number): FeatureMapSize[] {
    return (
      this.config.detector.featureMaps?.(height, width) ??
      featureMapSizes({ height, width }, this.objective.strides)
    );
  }

  /** RetinaNet's host matching of both views (each against its own boxes), for tests. */
  targets(batch: Batch, ctx: StepContext): [ViewTargets, ViewTargets] {
    if (!(this.objective instanceof RetinaNetObjective))
      throw new TrainSetupError("targets() is the RetinaNet objective's view targets");
    return this.objective.viewTargets(batch, ctx, (v) => this.#viewMaps(batch, v));
  }

  /** Targets of the last step (RetinaNet), for tests and debugging. */
  get lastTargets(): readonly [ViewTargets, ViewTargets] | undefined {
    return this.objective instanceof RetinaNetObjective ? this.objective.lastTargets : undefined;
  }

  #viewMaps(batch: Batch, view: number): FeatureMapSize[] {
    return this.#featureMaps(batch.views[view].height, batch.views[view].width);
  }

  async run(batch: Batch, ctx: StepContext): Promise<StepResult> {
    const dataStart = performance.now();
    if (batch.views.length < 2)
      throw new TrainSetupError(
        `box-domain training needs two views per sample, got ${batch.views.length}`,
      );
    const b = batch.size;
    const [v1, v2] = batch.views;
    const batchValues = new Map<string, TensorData>([
      ['view1', { shape: [b, 3, v1.height, v1.width], dtype: 'f32', data: v1.images }],
      ['view2', { shape: [b, 3, v2.height, v2.width], dtype: 'f32', data: v2.images }],
      ...this.objective.targets(batch, ctx, (v) => this.#viewMaps(batch, v)),
    ]);
    const { traced, spec } = this.#trace(batchValues);
    const dataSeconds = (performance.now() - dataStart) / 1000;
    const out = await runTracedStep(
      traced,
      spec,
      {
        params: this.online,
        state: this.optimizerState,
        ema: this.momentum,
        frozen: this.backbone,
        batch: batchValues,
        lr: ctx.lr,
        momentum: this.momentumAt(ctx),
        step: ctx.step,
      },
      this.config.backend,
    );
    this.online = out.params;
    this.optimizerState = out.state;
    this.momentum = out.ema;
    return stepResultOf(out, b, dataSeconds);
  }

  /** The EMA momentum of this iteration: cosine from m0 to 1, k = 0-based iteration (§3.2). */
  momentumAt(ctx: StepContext): number {
    return cosineMomentum(this.config.baseMomentum, ctx.step - 1, ctx.totalSteps);
  }

  #trace(batch: ReadonlyMap<string, TensorData>): { traced: TracedStep; spec: TracedStepSpec } {
    return this.#traced.get(batch, (batchTypes) => ({
      params: typesOf(this.online),
      frozen: typesOf(this.backbone),
      batch: batchTypes,
      ema: true,
      optimizer: this.config.optimizer,
      ...(this.config.clipNorm === undefined ? {} : { clipNorm: this.config.clipNorm }),
      losses: (t) => this.#losses(t),
    }));
  }

  /** The forward pass of both branches and the two loss terms (traced once per batch shape). */
  #losses({ params, frozen, ema, batch }: StepTensors): Record<string, Tensor> {
    const get = (name: string) => batch.get(name)!;
    const det = this.config.detector;
    const trace = get('view1').trace;
    // One backbone, the same tensors for both views, under no_grad: frozen and shared (§10.14).
    const f1 = trace.noGrad(() => det.backbone(frozen, get('view1')));
    const f2 = trace.noGrad(() => det.backbone(frozen, get('view2')));
    const out1 = det.head(params, f1);
    // f_k: the momentum copy of neck + head, no gradient (§3.1).
    const out2 = trace.noGrad(() => det.head(ema, f2));
    return this.objective.losses(out1, out2, get);
  }
}
