// The supervised fine-tuning step of an FCOS stage, as mmdet's `FCOSHead.loss` (aligndet-spec §6,
// §7.2): every point of the canvas is assigned by the FCOS rule to the image's labelled boxes
// (runtime/train/fcos-point-targets.ts); all points enter `sigmoid_focal` (one-hot targets on
// positives, background rows all zero) divided by the number of positives (at least 1); the
// positives' predicted (l, t, r, b) are decoded into boxes and enter `iou_loss` (−log IoU, or
// `giou_loss`) weighted by their centerness targets and divided by the sum of those targets (at
// least 1e-6); `centerness_loss` (BCE on the centerness logits) on the positives, divided by the
// number of positives. The loss functions are std.losses' own, lowered and inlined into one traced
// step (forward, backward, SGD/AdamW) replayed for every batch of the same shape. Checkpoint groups
// and the trainable / frozen split are those of the RetinaNet fine-tuning step, so `init` and
// resume read both alike. Flow: stage spec → **FCOS fine-tuning step** → runtime/train's loop.

import type { TensorData } from '../cpu/tensor-data.js';
import { allocate } from '../cpu/tensor-data.js';
import type { Batch } from '../data/loader/batch.js';
import type { FcosTargetConfig } from '../detect/fcos-targets.js';
import { flattenPriors } from '../models/dense-outputs.js';
import type { DenseDetector } from '../models/detector.js';
import type { FcosHead } from '../models/fcos-head.js';
import { ParameterBinding } from '../nn/binding.js';
import type { NamedParameter } from '../nn/module.js';
import type { OptimizerSpec } from '../optim/train-step.js';
import type { Backend } from '../tensor/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import type { TensorGroups } from '../train/checkpoint.js';
import { TrainSetupError } from '../train/errors.js';
import { fcosPointTargets, type FcosPointTargets } from '../train/fcos-point-targets.js';
import {
  FcosRegressionLosses,
  fcosRegressionTensors,
  type FcosBoxLoss,
} from '../train/fcos-regression.js';
import { LoweredLoss } from '../train/lowered-loss.js';
import type { StepContext, StepResult, TrainableStep } from '../train/stage-loop.js';
import {
  runTracedStep,
  stateNamesOf,
  TracedStepCache,
  typesOf,
  type StepTensors,
  type TensorMap,
  type TracedStep,
  type TracedStepSpec,
} from '../train/traced-step.js';
import { GROUP_DETECTOR, GROUP_DETECTOR_FROZEN, GROUP_FT_OPTIMIZER } from './finetune-step.js';

export interface FcosFinetuneConfig {
  readonly model: DenseDetector<FcosHead>;
  readonly targets: FcosTargetConfig;
  readonly numClasses: number;
  /** Dataset category id → logit channel. */
  readonly classOf: ReadonlyMap<number, number>;
  readonly alpha: number;
  readonly gamma: number;
  readonly boxLoss: FcosBoxLoss;
  /** The plan's names of the classification, box and centerness terms, and their weights. */
  readonly lossNames: readonly [string, string, string];
  readonly lossWeights: readonly [number, number, number];
  readonly optimizer: OptimizerSpec;
  readonly clipNorm?: number;
  readonly backend: Backend;
}

function valuesOf(entries: readonly NamedParameter[]): Map<string, TensorData> {
  return new Map(
    entries.map(({ name, parameter }) => {
      if (parameter.value === undefined)
        throw new TrainSetupError(`parameter ${name} has no value`);
      return [name, { shape: parameter.shape, dtype: 'f32', data: parameter.value }];
    }),
  );
}

export class FcosFinetuneStep implements TrainableStep<Batch> {
  params: Map<string, TensorData>;
  readonly frozen: Map<string, TensorData>;
  optimizerState: Map<string, TensorData>;
  readonly momentumBase = null;
  readonly #entries: readonly NamedParameter[];
  readonly #focal: LoweredLoss;
  readonly #regression: FcosRegressionLosses;
  readonly #traced = new TracedStepCache();
  /** Targets of the last step, for tests. */
  lastTargets: FcosPointTargets | undefined;

  constructor(readonly config: FcosFinetuneConfig) {
    const all = config.model.state();
    const isTrainable = (p: NamedParameter) =>
      p.parameter.kind !== 'buffer' && p.parameter.trainable;
    const trainable = all.filter(isTrainable);
    const frozen = all.filter((p) => !isTrainable(p));
    this.#entries = [...trainable, ...frozen];
    this.params = valuesOf(trainable);
    this.frozen = valuesOf(frozen);
    this.optimizerState = new Map(
      stateNamesOf(this.params.keys(), config.optimizer).map((n) => {
        const p = this.params.get(n.slice(0, n.lastIndexOf('.')))!;
        return [n, { shape: p.shape, dtype: p.dtype, data: allocate(p.dtype, p.data.length) }];
      }),
    );
    this.#focal = LoweredLoss.fromStd(
      'losses',
      'sigmoid_focal',
      new Map([
        ['alpha', config.alpha],
        ['gamma', config.gamma],
      ]),
    );
    this.#regression = new FcosRegressionLosses(config.boxLoss);
  }

  setup(): Record<string, unknown> {
    const shapes = (m: ReadonlyMap<string, TensorData>) =>
      Object.fromEntries([...m].map(([k, t]) => [k, t.shape]));
    return {
      kind: 'fcos_finetune',
      optimizer: this.config.optimizer,
      clipNorm: this.config.clipNorm ?? null,
      targets: this.config.targets,
      focal: { alpha: this.config.alpha, gamma: this.config.gamma },
      boxLoss: this.config.boxLoss,
      lossWeights: this.config.lossWeights,
      params: shapes(this.params),
      frozen: shapes(this.frozen),
    };
  }

  groups(): TensorGroups {
    return new Map([
      [GROUP_DETECTOR, this.params],
      [GROUP_DETECTOR_FROZEN, this.frozen],
      [GROUP_FT_OPTIMIZER, this.optimizerState],
    ]);
  }

  restore(groups: TensorGroups): void {
    const take = (prefix: string, into: Map<string, TensorData>) => {
      const g = groups.get(prefix);
      if (g === undefined) throw new TrainSetupError(`checkpoint has no tensor group '${prefix}'`);
      for (const [name, want] of into) {
        const t = g.get(name);
        if (t === undefined || t.shape.join(',') !== want.shape.join(','))
          throw new TrainSetupError(`checkpoint tensor '${prefix}${name}' is missing or misshapen`);
        into.set(name, t);
      }
    };
    take(GROUP_DETECTOR, this.params);
    take(GROUP_DETECTOR_FROZEN, this.frozen);
    take(GROUP_FT_OPTIMIZER, this.optimizerState);
  }

  /** Every tensor of the detector (trainable and frozen), current values. */
  weights(): Map<string, TensorData> {
    return new Map([...this.frozen, ...this.params]);
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
    return {
      losses: out.losses,
      images: batch.size,
      seconds: {
        data: dataSeconds,
        forward: out.seconds.forward,
        backward: out.seconds.backward,
        optimizer: out.seconds.update,
      },
    };
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

  #bind(images: Tensor, params: TensorMap, frozen: TensorMap): ParameterBinding {
    const b = new ParameterBinding(images.trace);
    for (const { name, parameter } of this.#entries) {
      const t = params.get(name) ?? frozen.get(name);
      if (t === undefined) throw new TrainSetupError(`the step has no tensor for ${name}`);
      b.bind(parameter, t);
    }
    return b;
  }

  /** The forward pass and the three weighted loss terms (traced once per batch shape). */
  losses({ params, frozen, batch }: StepTensors): Record<string, Tensor> {
    const images = batch.get('images');
    if (images === undefined) throw new TrainSetupError('the FCOS step has no batch tensor images');
    const levels = this.config.model.forward(this.#bind(images, params, frozen), images);
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
    const get = (name: string) => {
      const t = batch.get(name);
      if (t === undefined) throw new TrainSetupError(`the FCOS step has no batch tensor ${name}`);
      return t;
    };
    const c = this.config;
    const logits = flattenPriors(head.cls, c.numClasses).reshape([-1, c.numClasses]);
    const distances = flattenPriors(head.reg, 4).reshape([-1, 4]);
    const centerness = flattenPriors(head.centerness, 1).reshape([-1]);
    const cls = this.#focal.call({
      logits,
      targets: get('cls_targets'),
      weight: get('cls_weights'),
      avg: get('num_pos'),
    });
    const reg = this.#regression.call(distances, centerness, get);
    const terms = [cls, reg.box, reg.centerness];
    return Object.fromEntries(
      terms.map((t, i) => {
        const w = c.lossWeights[i];
        return [c.lossNames[i], w === 1 ? t : t.mul(w)];
      }),
    );
  }
}
