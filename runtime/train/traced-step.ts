// A training step as one traced IR graph, for any stage: named loss terms from a forward function,
// the gradient of their sum with respect to the trainable parameters, optional clipping, the
// optimizer update (SGD or AdamW), and optionally the EMA of a momentum copy of the parameters —
// traced once per input signature, cut into forward / backward / update phases (phased-graph.ts),
// and replayed with new values every iteration. The box-domain step is built on it; a fine-tuning
// or image-domain step only supplies its forward function and tensors. The forward function may
// also record extra outputs of the same graph (`StepTensors.extra`: the running-statistic updates
// of BN layers in training mode), which the replay returns for the step to write back.
// Flow: Tensor API → **IR (forward + backward + update)** → phases → Backend.

import type { TensorType } from '../../compiler/ir/index.js';
import type { TensorData } from '../cpu/tensor-data.js';
import { emaUpdate } from '../optim/clip-ema.js';
import { optimizerUpdate, type OptimizerSpec } from '../optim/train-step.js';
import type { Backend } from '../tensor/backend.js';
import { Tensor, withTrace } from '../tensor/tensor.js';
import { Trace } from '../tensor/trace.js';
import { TrainSetupError } from './errors.js';
import { runPhases, splitPhases, type PhasedGraph } from './phased-graph.js';
import type { StepResult } from './stage-loop.js';

export type TensorMap = ReadonlyMap<string, Tensor>;
export type ValueMap = ReadonlyMap<string, TensorData>;

/** The tensors a step's forward function sees, by name. */
export interface StepTensors {
  /** Trainable parameters (the optimizer updates them). */
  readonly params: TensorMap;
  /** Constants of the step: a frozen backbone, fixed buffers. */
  readonly frozen: TensorMap;
  /** The momentum (EMA) copy of `params`, same names; empty without an EMA. */
  readonly ema: TensorMap;
  readonly batch: TensorMap;
  /**
   * Records `value` as an extra output of the step under `name` (a BN running-statistic update,
   * computed under no_grad from forward values); `runTracedStep` returns it in `extra`. A later
   * record of the same name replaces an earlier one.
   */
  readonly extra: (name: string, value: Tensor) => void;
}

export interface TracedStepSpec {
  readonly params: ReadonlyMap<string, TensorType>;
  readonly frozen: ReadonlyMap<string, TensorType>;
  readonly batch: ReadonlyMap<string, TensorType>;
  /** Keep a momentum copy of the parameters: ema ← m·ema + (1 − m)·params after each update. */
  readonly ema: boolean;
  readonly optimizer: OptimizerSpec;
  readonly clipNorm?: number;
  /** The named loss terms (scalars); the objective is their sum. Runs once, while tracing. */
  readonly losses: (t: StepTensors) => Readonly<Record<string, Tensor>>;
}

export interface TracedStep {
  readonly phased: PhasedGraph;
  /** Values of constants the forward function captured (Tensor.from inside it). */
  readonly constants: readonly TensorData[];
  readonly lossNames: readonly string[];
  readonly paramNames: readonly string[];
  readonly stateNames: readonly string[];
  /** Names of the extra outputs the forward function recorded, in output order. */
  readonly extraNames: readonly string[];
  /** Whether the gradient norm before clipping is an output (steps that clip). */
  readonly logsGradNorm: boolean;
}

/** The optimizer's state slots per parameter, named as PyTorch's optimizer state. */
export function optimizerSlots(o: OptimizerSpec): string[] {
  return o.kind === 'sgd' ? ['momentum_buffer'] : ['exp_avg', 'exp_avg_sq'];
}

/** `${param}.${slot}` for every parameter and slot, in input order. */
export function stateNamesOf(paramNames: Iterable<string>, o: OptimizerSpec): string[] {
  return [...paramNames].flatMap((p) => optimizerSlots(o).map((s) => `${p}.${s}`));
}

export function traceStep(spec: TracedStepSpec): TracedStep {
  const trace = new Trace();
  const placeholders: Tensor[] = [];
  const ph = (name: string, t: TensorType) => {
    const p = new Tensor(trace, trace.input(undefined, t.shape, t.dtype, name));
    placeholders.push(p);
    return p;
  };
  const group = (types: ReadonlyMap<string, TensorType>, prefix: string) =>
    new Map([...types].map(([n, t]) => [n, ph(prefix + n, t)] as const));
  const paramNames = [...spec.params.keys()];
  const stateNames = stateNamesOf(paramNames, spec.optimizer);
  const slots = optimizerSlots(spec.optimizer).length;
  const params = group(spec.params, 'param:');
  const state = stateNames.map((n, i) =>
    ph(`state:${n}`, spec.params.get(paramNames[Math.floor(i / slots)])!),
  );
  const ema = spec.ema ? group(spec.params, 'ema:') : new Map<string, Tensor>();
  const frozen = group(spec.frozen, 'frozen:');
  const batch = group(spec.batch, 'batch:');
  const scalar: TensorType = { shape: [], dtype: 'f32' };
  const lr = ph('lr', scalar);
  const momentum = ph('momentum', scalar);
  const step = ph('step', scalar);

  const extras = new Map<string, Tensor>();
  const extra = (name: string, value: Tensor) => {
    if (value.trace !== trace)
      throw new TrainSetupError(`extra output '${name}' is not a tensor of the step's trace`);
    extras.set(name, value);
  };
  const out = withTrace(trace, () => {
    const terms = spec.losses({ params, frozen, ema, batch, extra });
    const entries = Object.entries(terms);
    if (entries.length === 0)
      throw new TrainSetupError('a training step needs at least one loss term');
    for (const [name, t] of entries)
      if (t.shape.length !== 0 || t.dtype !== 'f32')
        throw new TrainSetupError(
          `loss term '${name}' must be an f32 scalar, got ${t.dtype}[${t.shape.join(', ')}]`,
        );
    const total = entries.map(([, t]) => t).reduce((a, b) => a.add(b));
    const list = [...params.values()];
    const { grads, gradNorm, newParams, newState } = optimizerUpdate(
      total,
      list,
      state,
      lr,
      step,
      spec,
    );
    const emaList = [...ema.values()];
    const newEma = spec.ema ? newParams.map((p, i) => emaUpdate(emaList[i], p, momentum)) : [];
    return {
      losses: entries.map(([, t]) => t),
      names: entries.map(([n]) => n),
      updated: [...newParams, ...newState, ...newEma],
      grads,
      gradNorm,
    };
  });
  const extraNames = [...extras.keys()];
  const norms = out.gradNorm === undefined ? [] : [out.gradNorm];
  const all = [...out.losses, ...out.updated, ...out.grads, ...norms, ...extras.values()];
  const { graph, bindings } = trace.extract(
    all.map((t) => t.id),
    placeholders.map((t) => t.id),
  );
  const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
  const nLoss = out.losses.length;
  const nUpd = out.updated.length;
  const nGrad = out.grads.length;
  const phased = splitPhases(graph, [
    // Extra outputs are functions of forward values, so the forward phase makes them.
    {
      name: 'forward',
      outputs: [...range(0, nLoss), ...range(nLoss + nUpd + nGrad + norms.length, extras.size)],
    },
    // The gradients, and their norm before clipping where the step clips.
    { name: 'backward', outputs: range(nLoss + nUpd, nGrad + norms.length) },
    { name: 'update', outputs: range(nLoss, nUpd) },
  ]);
  return {
    phased,
    constants: bindings,
    lossNames: out.names,
    paramNames,
    stateNames,
    extraNames,
    logsGradNorm: norms.length > 0,
  };
}

export interface StepValues {
  readonly params: ValueMap;
  readonly state: ValueMap;
  readonly ema: ValueMap;
  readonly frozen: ValueMap;
  readonly batch: ValueMap;
  readonly lr: number;
  /** EMA momentum m of this iteration (ignored without an EMA). */
  readonly momentum: number;
  /** 1-based optimizer step (AdamW's bias correction). */
  readonly step: number;
}

export interface StepOutputs {
  readonly losses: Record<string, number>;
  /** The global L2 norm of the gradients before clipping, in steps that clip. */
  readonly gradNorm?: number;
  readonly params: Map<string, TensorData>;
  readonly state: Map<string, TensorData>;
  readonly ema: Map<string, TensorData>;
  /** The extra outputs the forward function recorded (`StepTensors.extra`), by name. */
  readonly extra: Map<string, TensorData>;
  /** Wall seconds of the forward, backward and update phases. */
  readonly seconds: {
    readonly forward: number;
    readonly backward: number;
    readonly update: number;
  };
}

/** What the stage loop logs of one traced step: its loss terms, images and time shares. */
export function stepResultOf(out: StepOutputs, images: number, dataSeconds: number): StepResult {
  return {
    losses: out.losses,
    ...(out.gradNorm === undefined ? {} : { gradNorm: out.gradNorm }),
    images,
    seconds: {
      data: dataSeconds,
      forward: out.seconds.forward,
      backward: out.seconds.backward,
      optimizer: out.seconds.update,
    },
  };
}

function scalarValue(v: number): TensorData {
  return { shape: [], dtype: 'f32', data: Float32Array.of(v) };
}

/** Runs a traced step on `backend`: the loss terms (before the update) and the updated tensors. */
export async function runTracedStep(
  traced: TracedStep,
  spec: Pick<TracedStepSpec, 'ema' | 'frozen' | 'batch'>,
  v: StepValues,
  backend: Backend,
): Promise<StepOutputs> {
  const pick = (m: ValueMap, names: Iterable<string>, what: string) =>
    [...names].map((n) => {
      const t = m.get(n);
      if (t === undefined) throw new TrainSetupError(`the step has no ${what} tensor '${n}'`);
      return t;
    });
  const inputs = [
    ...pick(v.params, traced.paramNames, 'parameter'),
    ...pick(v.state, traced.stateNames, 'optimizer state'),
    ...(spec.ema ? pick(v.ema, traced.paramNames, 'EMA') : []),
    ...pick(v.frozen, spec.frozen.keys(), 'frozen'),
    ...pick(v.batch, spec.batch.keys(), 'batch'),
    scalarValue(v.lr),
    scalarValue(v.momentum),
    scalarValue(v.step),
    ...traced.constants,
  ];
  const run = await runPhases(traced.phased, inputs, backend);
  const nLoss = traced.lossNames.length;
  const p = traced.paramNames.length;
  const s = traced.stateNames.length;
  const rest = run.outputs.slice(nLoss);
  // After the losses: parameters, optimizer state, EMA, one gradient per parameter, …
  // … then the gradient norm before clipping (steps that clip), then extras.
  const gradNormAt = p + s + (spec.ema ? p : 0) + p;
  const extraValues = rest.slice(gradNormAt + (traced.logsGradNorm ? 1 : 0));
  const losses: Record<string, number> = {};
  traced.lossNames.forEach((n, i) => (losses[n] = run.outputs[i].data[0]));
  return {
    losses,
    ...(traced.logsGradNorm ? { gradNorm: rest[gradNormAt].data[0] } : {}),
    params: new Map(traced.paramNames.map((n, i) => [n, rest[i]])),
    state: new Map(traced.stateNames.map((n, i) => [n, rest[p + i]])),
    ema: spec.ema ? new Map(traced.paramNames.map((n, i) => [n, rest[p + s + i]])) : new Map(),
    extra: new Map(traced.extraNames.map((n, i) => [n, extraValues[i]])),
    seconds: {
      forward: run.seconds.forward ?? 0,
      backward: run.seconds.backward ?? 0,
      update: run.seconds.update ?? 0,
    },
  };
}

/**
 * Traced steps by batch signature (names, dtypes, shapes): a step is traced once per distinct
 * batch layout and replayed for every later batch with the same one.
 */
export class TracedStepCache {
  readonly #entries = new Map<string, { traced: TracedStep; spec: TracedStepSpec }>();

  get(
    batch: ReadonlyMap<string, TensorData>,
    specFor: (batchTypes: Map<string, TensorType>) => TracedStepSpec,
  ): { traced: TracedStep; spec: TracedStepSpec } {
    const key = JSON.stringify([...batch].map(([n, t]) => [n, t.dtype, t.shape]));
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      const spec = specFor(typesOf(batch));
      entry = { traced: traceStep(spec), spec };
      this.#entries.set(key, entry);
    }
    return entry;
  }
}

/** The tensor types of named values. */
export function typesOf(m: ReadonlyMap<string, TensorData>): Map<string, TensorType> {
  return new Map([...m].map(([n, t]) => [n, { shape: t.shape, dtype: t.dtype }]));
}
