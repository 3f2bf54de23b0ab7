// What every supervised fine-tuning step of a dense detector shares (RetinaNet: finetune-step.ts,
// FCOS: fcos-finetune-step.ts): the detector's trainable parameters are the optimizer's, its BN
// buffers and frozen stages (mmdet `frozen_stages`, `norm_eval`) are constants of the step; one
// traced graph (runtime/train's traced-step.ts: forward, backward, SGD/AdamW) is replayed for every
// batch of the same shape; the checkpoint groups are `detector.`, `detector_frozen.` and
// `optimizer.` for both families, so `init` and resume read them alike. A family supplies only its
// batch tensors (host targets) and its loss terms on the head's per-level outputs.
// Flow: stage spec → **supervised step** (TrainableStep) → runtime/train's stage loop.

import type { TensorData } from '../cpu/tensor-data.js';
import type { Batch } from '../data/loader/batch.js';
import type { DenseDetector } from '../models/detector.js';
import type { FcosHead } from '../models/fcos-head.js';
import type { RetinaHead } from '../models/retina-head.js';
import type { NamedParameter } from '../nn/module.js';
import type { OptimizerSpec } from '../optim/train-step.js';
import type { Backend } from '../tensor/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import type { TensorGroups } from '../train/checkpoint.js';
import { groupsOf, restoreGroups, type GroupList } from '../train/checkpoint-groups.js';
import { TrainSetupError } from '../train/errors.js';
import { LoweredLoss } from '../train/lowered-loss.js';
import type { StepContext, StepResult, TrainableStep } from '../train/stage-loop.js';
import {
  bindState,
  splitTrainable,
  statisticBuffersOf,
  valuesOf,
  zeroOptimizerState,
} from '../train/step-state.js';
import {
  runTracedStep,
  stepResultOf,
  TracedStepCache,
  typesOf,
  type StepTensors,
  type TensorMap,
  type TracedStep,
  type TracedStepSpec,
} from '../train/traced-step.js';

/** Checkpoint group prefixes of a fine-tuning stage (names inside are the detector's state names). */
export const GROUP_DETECTOR = 'detector.';
export const GROUP_DETECTOR_FROZEN = 'detector_frozen.';
export const GROUP_FT_OPTIMIZER = 'optimizer.';

/** What the shared part of the step needs of a family's configuration. */
export interface SupervisedStepConfig<H extends RetinaHead | FcosHead> {
  readonly model: DenseDetector<H>;
  readonly numClasses: number;
  /** Dataset category id → logit channel. */
  readonly classOf: ReadonlyMap<number, number>;
  /** `sigmoid_focal`'s α and γ (both families' classification term). */
  readonly alpha: number;
  readonly gamma: number;
  readonly optimizer: OptimizerSpec;
  readonly clipNorm?: number;
  readonly backend: Backend;
}

/** The head's per-level outputs for a batch, as `DenseDetector<H>.forward` returns them. */
export type LevelsOf<H extends RetinaHead | FcosHead> = ReturnType<DenseDetector<H>['forward']>;

/** The model's state split into the optimizer's parameters and the step's constants. */
export function splitModelState(model: DenseDetector<RetinaHead | FcosHead>): {
  trainable: NamedParameter[];
  frozen: NamedParameter[];
} {
  return splitTrainable(model.state());
}

export abstract class SupervisedStep<
  H extends RetinaHead | FcosHead,
  C extends SupervisedStepConfig<H>,
> implements TrainableStep<Batch> {
  params: Map<string, TensorData>;
  readonly frozen: Map<string, TensorData>;
  optimizerState: Map<string, TensorData>;
  readonly momentumBase = null;
  /** std.losses `sigmoid_focal` with the stage's α, γ: the classification term of both families. */
  protected readonly focal: LoweredLoss;
  readonly #entries: readonly NamedParameter[];
  readonly #traced = new TracedStepCache();

  constructor(readonly config: C) {
    // This step does not write running statistics back (the image-domain step does): a BN in
    // training mode would train on batch statistics and leave its buffers stale.
    const stale = statisticBuffersOf(config.model);
    if (stale.length > 0)
      throw new TrainSetupError(
        `${stale[0]} belongs to a BN layer using batch statistics, which fine-tuning does not support`,
        { hint: 'keep the backbone in norm_eval (the default for detectors)' },
      );
    const { trainable, frozen } = splitModelState(config.model);
    this.#entries = [...trainable, ...frozen];
    this.params = valuesOf(trainable);
    this.frozen = valuesOf(frozen);
    this.optimizerState = zeroOptimizerState(this.params, config.optimizer);
    this.focal = LoweredLoss.fromStd(
      'losses',
      'sigmoid_focal',
      new Map([
        ['alpha', config.alpha],
        ['gamma', config.gamma],
      ]),
    );
  }

  /** Settings a resume must match (compared as JSON). */
  abstract setup(): Record<string, unknown>;

  /** The batch tensors of the traced step: `images` and the family's host targets. */
  abstract batchValues(batch: Batch): Map<string, TensorData>;

  /** The family's weighted loss terms of the head's outputs on the batch's target rows. */
  protected abstract headLosses(levels: LevelsOf<H>, batch: TensorMap): Record<string, Tensor>;

  #groupList(): GroupList {
    return [
      [GROUP_DETECTOR, this.params],
      [GROUP_DETECTOR_FROZEN, this.frozen],
      [GROUP_FT_OPTIMIZER, this.optimizerState],
    ];
  }

  groups(): TensorGroups {
    return groupsOf(this.#groupList());
  }

  restore(groups: TensorGroups): void {
    restoreGroups(groups, this.#groupList(), 'detector');
  }

  /** Every tensor of the detector (trainable and frozen), current values. */
  weights(): Map<string, TensorData> {
    return new Map([...this.frozen, ...this.params]);
  }

  async run(batch: Batch, ctx: StepContext): Promise<StepResult> {
    const dataStart = performance.now();
    const batchValues = this.batchValues(batch);
    const { traced, spec } = this.#trace(batchValues);
    const dataSeconds = (performance.now() - dataStart) / 1000;
    const out = await runTracedStep(
      traced,
      spec,
      {
        params: this.params,
        state: this.optimizerState,
        ema: new Map(),
        frozen: this.frozen,
        batch: batchValues,
        lr: ctx.lr,
        momentum: 0,
        step: ctx.step,
      },
      this.config.backend,
    );
    this.params = out.params;
    this.optimizerState = out.state;
    return stepResultOf(out, batch.size, dataSeconds);
  }

  /** The forward pass and the weighted loss terms (traced once per batch shape). */
  losses({ params, frozen, batch }: StepTensors): Record<string, Tensor> {
    const images = batchTensor(batch, 'images');
    return this.headLosses(
      this.config.model.forward(bindState(images.trace, this.#entries, params, frozen), images),
      batch,
    );
  }

  #trace(batch: ReadonlyMap<string, TensorData>): { traced: TracedStep; spec: TracedStepSpec } {
    return this.#traced.get(batch, (batchTypes) => ({
      params: typesOf(this.params),
      frozen: typesOf(this.frozen),
      batch: batchTypes,
      ema: false,
      optimizer: this.config.optimizer,
      ...(this.config.clipNorm === undefined ? {} : { clipNorm: this.config.clipNorm }),
      losses: (x) => this.losses(x),
    }));
  }
}

/** The traced batch tensor `name` (one of `batchValues`' names). */
export function batchTensor(batch: TensorMap, name: string): Tensor {
  const t = batch.get(name);
  if (t === undefined)
    throw new TrainSetupError(`the fine-tuning step has no batch tensor ${name}`);
  return t;
}

/** `terms[i]` under `names[i]`, times `weights[i]` (a weight of 1 adds no op to the graph). */
export function weightedTerms(
  terms: readonly Tensor[],
  names: readonly string[],
  weights: readonly number[],
): Record<string, Tensor> {
  return Object.fromEntries(
    terms.map((t, i) => [names[i], weights[i] === 1 ? t : t.mul(weights[i])]),
  );
}
