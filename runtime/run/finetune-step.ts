// The supervised fine-tuning step of a RetinaNet stage (mmdet's RetinaNet: sigmoid focal loss over
// every assigned anchor plus L1 on the DeltaXYWH deltas of positives, both averaged over the
// positives): host matching (finetune-targets.ts), then one traced graph (runtime/train's
// traceStep: forward, backward, SGD/AdamW) replayed for every batch of the same shape. The loss
// functions are `sigmoid_focal` and `l1` of pipelines/std/losses.align, lowered and inlined into the
// trace. The detector's trainable parameters are the optimizer's; its BN buffers and frozen stages
// (mmdet `frozen_stages`, `norm_eval`) are constants of the step.
// Flow: stage spec → **fine-tuning step** (TrainableStep) → runtime/train's stage loop.

import type { TensorData } from '../cpu/tensor-data.js';
import { allocate } from '../cpu/tensor-data.js';
import type { Batch } from '../data/loader/batch.js';
import type { AnchorGeneratorConfig } from '../detect/anchors.js';
import type { MaxIoUAssignerConfig } from '../detect/max-iou-assigner.js';
import { flattenPriors } from '../models/dense-outputs.js';
import type { DenseDetector } from '../models/detector.js';
import type { RetinaHead } from '../models/retina-head.js';
import { ParameterBinding } from '../nn/binding.js';
import type { NamedParameter } from '../nn/module.js';
import type { OptimizerSpec } from '../optim/train-step.js';
import type { Backend } from '../tensor/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import type { TensorGroups } from '../train/checkpoint.js';
import { TrainSetupError } from '../train/errors.js';
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
import { finetuneTargets } from './finetune-targets.js';

/** Checkpoint group prefixes of a fine-tuning stage (names inside are the detector's state names). */
export const GROUP_DETECTOR = 'detector.';
export const GROUP_DETECTOR_FROZEN = 'detector_frozen.';
export const GROUP_FT_OPTIMIZER = 'optimizer.';

export interface FinetuneConfig {
  readonly model: DenseDetector<RetinaHead>;
  readonly anchors: AnchorGeneratorConfig;
  readonly assigner: MaxIoUAssignerConfig;
  readonly numClasses: number;
  /** Dataset category id → logit channel. */
  readonly classOf: ReadonlyMap<number, number>;
  readonly alpha: number;
  readonly gamma: number;
  /** The plan's names of the classification and regression terms, and their weights. */
  readonly lossNames: readonly [string, string];
  readonly lossWeights: readonly [number, number];
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

/** The model's state split into the optimizer's parameters and the step's constants. */
export function splitModelState(model: DenseDetector<RetinaHead>): {
  trainable: NamedParameter[];
  frozen: NamedParameter[];
} {
  const all = model.state();
  const isTrainable = (p: NamedParameter) => p.parameter.kind !== 'buffer' && p.parameter.trainable;
  return { trainable: all.filter(isTrainable), frozen: all.filter((p) => !isTrainable(p)) };
}

export class FinetuneStep implements TrainableStep<Batch> {
  params: Map<string, TensorData>;
  readonly frozen: Map<string, TensorData>;
  optimizerState: Map<string, TensorData>;
  readonly momentumBase = null;
  readonly #entries: readonly NamedParameter[];
  readonly #focal: LoweredLoss;
  readonly #l1: LoweredLoss;
  readonly #traced = new TracedStepCache();

  constructor(readonly config: FinetuneConfig) {
    const { trainable, frozen } = splitModelState(config.model);
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
    this.#l1 = LoweredLoss.fromStd('losses', 'l1');
  }

  setup(): Record<string, unknown> {
    const shapes = (m: ReadonlyMap<string, TensorData>) =>
      Object.fromEntries([...m].map(([k, t]) => [k, t.shape]));
    return {
      kind: 'finetune',
      optimizer: this.config.optimizer,
      clipNorm: this.config.clipNorm ?? null,
      assigner: this.config.assigner,
      anchors: this.config.anchors,
      focal: { alpha: this.config.alpha, gamma: this.config.gamma },
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

  async run(batch: Batch, ctx: StepContext): Promise<StepResult> {
    const dataStart = performance.now();
    const c = this.config;
    const t = finetuneTargets(batch, c.anchors, c.assigner, c.numClasses, c.classOf);
    const v = batch.views[0];
    const rows = batch.size * t.anchorsPerImage;
    const batchValues = new Map<string, TensorData>([
      ['images', { shape: [batch.size, 3, v.height, v.width], dtype: 'f32', data: v.images }],
      ['cls_targets', { shape: [rows, c.numClasses], dtype: 'f32', data: t.classTargets }],
      ['cls_weights', { shape: [rows], dtype: 'f32', data: t.classWeights }],
      ['reg_targets', { shape: [rows, 4], dtype: 'f32', data: t.regTargets }],
      ['reg_weights', { shape: [rows], dtype: 'f32', data: t.regWeights }],
      // mmdet averages both terms over the positives, at least one.
      ['num_pos', { shape: [], dtype: 'f32', data: Float32Array.of(Math.max(1, t.numPositives)) }],
    ]);
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
      c.backend,
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
      losses: (x) => this.#losses(x),
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

  #losses({ params, frozen, batch }: StepTensors): Record<string, Tensor> {
    const get = (name: string) => batch.get(name)!;
    const c = this.config;
    const images = get('images');
    const levels = c.model.forward(this.#bind(images, params, frozen), images);
    const logits = flattenPriors(
      levels.map((l) => l.cls),
      c.numClasses,
    ).reshape([-1, c.numClasses]);
    const deltas = flattenPriors(
      levels.map((l) => l.reg),
      4,
    ).reshape([-1, 4]);
    const cls = this.#focal.call({
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
    const [wc, wr] = c.lossWeights;
    return {
      [c.lossNames[0]]: wc === 1 ? cls : cls.mul(wc),
      [c.lossNames[1]]: wr === 1 ? reg : reg.mul(wr),
    };
  }
}
