// The image-domain (BYOL) pre-training step, as one traced IR graph replayed every iteration
// (runtime/train/traced-step.ts: forward, backward, optimizer update and the EMA of the target):
//
//   online(v) = predictor(projector(pool(backbone(v))))      trainable: backbone, projector, predictor
//   target(v) = projector(pool(backbone(v))) with the EMA weights, under no_grad
//   term_t = byol(online_t(view a).field, target_t(view b).field)     std.losses `byol`, per plan term
//   online ← optimizer(online, ∇ Σ weight_t · term_t)
//   target ← m·target + (1 − m)·online, m = 1 − (1 − m0)(cos(πk/K) + 1)/2          (BYOL eq. 1)
//
// The target holds a copy of every trainable parameter (its unused predictor copy follows the
// EMA too, harmlessly); frozen stages are constants shared by both networks. BN layers in training
// mode (the encoder's default; `norm_eval: true` keeps running statistics) normalise by batch
// statistics in both networks, as BYOL's reference does; each network keeps its own running
// statistics, updated by its own forward passes (views in order) and returned as extra outputs of
// the traced step — the target's are not EMA'd (mmselfsup's momentum update covers parameters
// only). Checkpoint groups: `encoder.` (trainable), `encoder_frozen.` (buffers, frozen stages;
// the online running statistics), `target.` (EMA), `target_buffers.` (the target's running
// statistics, only when some BN trains), `optimizer.`.
// Flow: batch (two views) → **image-domain step** (TrainableStep) → runtime/train's stage loop.

import type { TensorData } from '../cpu/tensor-data.js';
import type { Batch } from '../data/loader/batch.js';
import type { ParameterBinding } from '../nn/binding.js';
import type { Module, NamedParameter } from '../nn/module.js';
import { cosineMomentum } from '../optim/schedules.js';
import type { OptimizerSpec } from '../optim/train-step.js';
import type { Backend } from '../tensor/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import type { TensorGroups } from './checkpoint.js';
import { groupsOf, restoreGroups, shapesOf, type GroupList } from './checkpoint-groups.js';
import { TrainSetupError } from './errors.js';
import type { LoweredLoss } from './lowered-loss.js';
import type { StepContext, StepResult, TrainableStep } from './stage-loop.js';
import {
  bindState,
  recordBufferUpdates,
  splitTrainable,
  statisticBuffersOf,
  valuesOf,
  zeroOptimizerState,
} from './step-state.js';
import {
  runTracedStep,
  stepResultOf,
  TracedStepCache,
  typesOf,
  type StepTensors,
  type TracedStep,
  type TracedStepSpec,
} from './traced-step.js';

/** Checkpoint group prefixes; names inside are the encoder's state names (`backbone.conv1.weight`). */
export const GROUP_ENCODER = 'encoder.';
export const GROUP_ENCODER_FROZEN = 'encoder_frozen.';
export const GROUP_TARGET = 'target.';
/** The target network's own BN running statistics (present when some BN uses batch statistics). */
export const GROUP_TARGET_BUFFERS = 'target_buffers.';
export const GROUP_ENCODER_OPTIMIZER = 'optimizer.';

/** One output of a network on one view: `q1.prediction` is {view: 0, field: 'prediction'}. */
export interface EncoderOutputRef {
  readonly view: 0 | 1;
  readonly field: 'projection' | 'prediction';
}

/** One loss term `name = byol(online(view).field, target(view).field), weight: w`. */
export interface ImageDomainTerm {
  readonly name: string;
  readonly weight: number;
  readonly online: EncoderOutputRef;
  readonly target: EncoderOutputRef;
}

/** What the step needs of the network: its module tree and a forward pass on bound tensors. */
export interface ImageDomainNetwork extends Module {
  forward(
    b: ParameterBinding,
    images: Tensor,
  ): { readonly projection: Tensor; readonly prediction: Tensor | undefined };
}

export interface ImageDomainConfig {
  readonly network: ImageDomainNetwork;
  readonly terms: readonly ImageDomainTerm[];
  /** std.losses `byol(p, z)`, lowered. */
  readonly loss: LoweredLoss;
  readonly optimizer: OptimizerSpec;
  readonly clipNorm?: number;
  /** EMA base momentum m0 (BYOL: 0.996). */
  readonly baseMomentum: number;
  readonly backend: Backend;
}

export class ImageDomainStep implements TrainableStep<Batch> {
  params: Map<string, TensorData>;
  target: Map<string, TensorData>;
  readonly frozen: Map<string, TensorData>;
  /** The target's running statistics of every BN in training mode (names as in `frozen`). */
  readonly targetBuffers: Map<string, TensorData>;
  optimizerState: Map<string, TensorData>;
  readonly #entries: readonly NamedParameter[];
  readonly #traced = new TracedStepCache();

  constructor(readonly config: ImageDomainConfig) {
    if (config.terms.length === 0)
      throw new TrainSetupError('an image-domain step needs at least one loss term');
    const all = config.network.state();
    const { trainable, frozen } = splitTrainable(all);
    const hint = 'initialise the encoder or load its weights before building the step';
    this.#entries = all;
    this.params = valuesOf(trainable, hint);
    this.frozen = valuesOf(frozen, hint);
    // The target starts as an exact copy of the online network (BYOL §3.1).
    this.target = new Map(this.params);
    this.targetBuffers = new Map(
      statisticBuffersOf(config.network).map((n) => [n, this.frozen.get(n)!] as const),
    );
    this.optimizerState = zeroOptimizerState(this.params, config.optimizer);
  }

  get momentumBase(): number {
    return this.config.baseMomentum;
  }

  /** The EMA momentum of this iteration: cosine from m0 to 1, k = 0-based iteration. */
  momentumAt(ctx: StepContext): number {
    return cosineMomentum(this.config.baseMomentum, ctx.step - 1, ctx.totalSteps);
  }

  setup(): Record<string, unknown> {
    return {
      kind: 'image_domain',
      optimizer: this.config.optimizer,
      clipNorm: this.config.clipNorm ?? null,
      baseMomentum: this.config.baseMomentum,
      terms: this.config.terms,
      params: shapesOf(this.params),
      frozen: shapesOf(this.frozen),
      batchStatistics: [...this.targetBuffers.keys()],
    };
  }

  #groupList(): GroupList {
    return [
      [GROUP_ENCODER, this.params],
      [GROUP_ENCODER_FROZEN, this.frozen],
      [GROUP_TARGET, this.target],
      ...(this.targetBuffers.size === 0
        ? []
        : ([[GROUP_TARGET_BUFFERS, this.targetBuffers]] as const)),
      [GROUP_ENCODER_OPTIMIZER, this.optimizerState],
    ];
  }

  groups(): TensorGroups {
    return groupsOf(this.#groupList());
  }

  restore(groups: TensorGroups): void {
    restoreGroups(groups, this.#groupList(), 'encoder');
  }

  /** The online network's tensors (trainable and frozen), current values. */
  weights(): Map<string, TensorData> {
    return new Map([...this.frozen, ...this.params]);
  }

  async run(batch: Batch, ctx: StepContext): Promise<StepResult> {
    const dataStart = performance.now();
    if (batch.views.length < 2)
      throw new TrainSetupError(
        `image-domain training needs two views per sample, got ${batch.views.length}`,
      );
    const [v1, v2] = batch.views;
    const b = batch.size;
    const batchValues = new Map<string, TensorData>([
      ['view1', { shape: [b, 3, v1.height, v1.width], dtype: 'f32', data: v1.images }],
      ['view2', { shape: [b, 3, v2.height, v2.width], dtype: 'f32', data: v2.images }],
    ]);
    const { traced, spec } = this.#trace(batchValues);
    const dataSeconds = (performance.now() - dataStart) / 1000;
    const out = await runTracedStep(
      traced,
      spec,
      {
        params: this.params,
        state: this.optimizerState,
        ema: this.target,
        frozen: this.#frozenInputs(),
        batch: batchValues,
        lr: ctx.lr,
        momentum: this.momentumAt(ctx),
        step: ctx.step,
      },
      this.config.backend,
    );
    this.params = out.params;
    this.optimizerState = out.state;
    this.target = out.ema;
    for (const [name, value] of out.extra) {
      if (name.startsWith(GROUP_TARGET_BUFFERS))
        this.targetBuffers.set(name.slice(GROUP_TARGET_BUFFERS.length), value);
      else this.frozen.set(name, value);
    }
    // Logged terms are weighted, as the objective sums them.
    return stepResultOf(out, b, dataSeconds);
  }

  #trace(batch: ReadonlyMap<string, TensorData>): { traced: TracedStep; spec: TracedStepSpec } {
    return this.#traced.get(batch, (batchTypes) => ({
      params: typesOf(this.params),
      frozen: typesOf(this.#frozenInputs()),
      batch: batchTypes,
      ema: true,
      optimizer: this.config.optimizer,
      ...(this.config.clipNorm === undefined ? {} : { clipNorm: this.config.clipNorm }),
      losses: (t) => this.#losses(t),
    }));
  }

  /** The step's constant inputs: the online network's buffers and frozen stages, the target's statistics. */
  #frozenInputs(): Map<string, TensorData> {
    const out = new Map(this.frozen);
    for (const [n, t] of this.targetBuffers) out.set(GROUP_TARGET_BUFFERS + n, t);
    return out;
  }

  /**
   * Both networks on the views the terms use (each network and view once, views in order, as
   * mmselfsup's BYOL), then the terms. A network's second forward pass starts from the running
   * statistics its first one left, as two calls of a torch module in training mode do.
   */
  #losses({ params, frozen, ema, batch, extra }: StepTensors): Record<string, Tensor> {
    const views = [batch.get('view1')!, batch.get('view2')!];
    const trace = views[0].trace;
    const net = this.config.network;
    const run = (isTarget: boolean): Map<number, ReturnType<ImageDomainNetwork['forward']>> => {
      const used = new Set<0 | 1>();
      for (const t of this.config.terms) used.add(isTarget ? t.target.view : t.online.view);
      const prefix = isTarget ? GROUP_TARGET_BUFFERS : '';
      // The running statistics each forward starts from: the stored ones, then the last update.
      const tensors = new Map(isTarget ? ema : params);
      for (const n of this.targetBuffers.keys()) tensors.set(n, frozen.get(prefix + n)!);
      const outs = new Map<number, ReturnType<ImageDomainNetwork['forward']>>();
      for (const view of [...used].sort()) {
        const b: ParameterBinding = bindState(trace, this.#entries, tensors, frozen);
        const forward = () => net.forward(b, views[view]);
        outs.set(view, isTarget ? trace.noGrad(forward) : forward());
        recordBufferUpdates(b, this.#entries, extra, prefix);
        for (const { name, parameter } of this.#entries) {
          const updated = b.updates.get(parameter);
          if (updated !== undefined) tensors.set(name, updated);
        }
      }
      return outs;
    };
    const online = run(false);
    const target = run(true);
    const pick = (ref: EncoderOutputRef, isTarget: boolean): Tensor => {
      const t = (isTarget ? target : online).get(ref.view)![ref.field];
      if (t === undefined)
        throw new TrainSetupError(
          `the ${isTarget ? 'target' : 'online'} network has no ${ref.field} (it has no predictor)`,
        );
      return t;
    };
    const terms: Record<string, Tensor> = {};
    for (const term of this.config.terms) {
      const value = this.config.loss.call({
        p: pick(term.online, false),
        z: pick(term.target, true),
      });
      terms[term.name] = term.weight === 1 ? value : value.mul(term.weight);
    }
    return terms;
  }
}
