// A whole training step as ONE IR graph: loss forward, backward (VJP table), optional clipping by
// global norm, and the optimizer update — traced once, then replayed every iteration with new
// batch data, learning rate and step number as inputs (no re-tracing, no recompiling).
// Flow: Tensor API → **IR (forward + backward + update)** → Backend (CPU reference or WebGPU).
import type { Graph, TensorType } from '../../compiler/ir/index.js';
import { simplifyGraph, verifyGraph } from '../../compiler/ir/index.js';
import { gradients } from '../autodiff/grad.js';
import type { TensorData } from '../cpu/tensor-data.js';
import { allocate } from '../cpu/tensor-data.js';
import type { Backend } from '../tensor/backend.js';
import { Tensor, withTrace } from '../tensor/tensor.js';
import { Trace } from '../tensor/trace.js';
import type { AdamWOptions } from './adamw.js';
import { adamwStep } from './adamw.js';
import { clipGradNorm } from './clip-ema.js';
import type { SgdOptions } from './sgd.js';
import { sgdStep } from './sgd.js';

export type OptimizerSpec =
  ({ readonly kind: 'sgd' } & SgdOptions) | ({ readonly kind: 'adamw' } & AdamWOptions);

export interface TrainStepSpec {
  /** The scalar loss of the parameters on one batch. */
  readonly loss: (params: Tensor[], batch: Tensor[]) => Tensor;
  readonly paramTypes: readonly TensorType[];
  readonly batchTypes: readonly TensorType[];
  readonly optimizer: OptimizerSpec;
  /** Clip gradients to this global L2 norm before the update. */
  readonly clipNorm?: number;
}

/**
 * The traced step. Inputs, in order: params (P), optimizer state (S per param: SGD 1, AdamW 2),
 * batch (B), lr (f32 scalar), step (f32 scalar, 1-based). Outputs: loss, new params, new state.
 */
export interface TracedTrainStep {
  readonly graph: Graph;
  readonly statePerParam: number;
  /** Values of constants the loss captured (Tensor.from inside it); appended after `step`. */
  readonly constants: readonly TensorData[];
}

/**
 * The update half of a traced step, recorded in the loss's trace: gradients of `loss` for `params`
 * (autodiff, honouring the trace's stop-gradients and custom VJPs), optional clipping by global
 * norm, then one optimizer step. Returns the (clipped) gradients and, when clipping, the norm before it too. `state` holds statePerParam(optimizer) tensors per parameter.
 */
export function optimizerUpdate(
  loss: Tensor,
  params: readonly Tensor[],
  state: readonly Tensor[],
  lr: Tensor,
  step: Tensor,
  spec: { readonly optimizer: OptimizerSpec; readonly clipNorm?: number },
): {
  readonly grads: Tensor[];
  /**
   * With clipping, the global L2 norm of the gradients before clipping (what the log records, as
   * mmdet logs `grad_norm` only with `grad_clip`): clipping computes it anyway, while computing it
   * without would add a reduction kernel per parameter to every step.
   */
  readonly gradNorm: Tensor | undefined;
  readonly newParams: Tensor[];
  readonly newState: Tensor[];
} {
  let grads = gradients(loss, params);
  let gradNorm: Tensor | undefined;
  if (spec.clipNorm !== undefined) {
    const clipped = clipGradNorm(grads, spec.clipNorm);
    grads = clipped.grads;
    gradNorm = clipped.totalNorm;
  }
  const o = spec.optimizer;
  const newParams: Tensor[] = [];
  const newState: Tensor[] = [];
  params.forEach((p, i) => {
    if (o.kind === 'sgd') {
      const r = sgdStep(p, grads[i], state[i], lr, o);
      newParams.push(r.param);
      newState.push(r.momentumBuffer);
    } else {
      const r = adamwStep(p, grads[i], { m: state[2 * i], v: state[2 * i + 1] }, lr, step, o);
      newParams.push(r.param);
      newState.push(r.state.m, r.state.v);
    }
  });
  return { grads, gradNorm, newParams, newState };
}

function statePerParam(o: OptimizerSpec): number {
  return o.kind === 'sgd' ? 1 : 2;
}

export function traceTrainStep(spec: TrainStepSpec): TracedTrainStep {
  const trace = new Trace();
  const perParam = statePerParam(spec.optimizer);
  const ph = (t: TensorType, name: string) =>
    new Tensor(trace, trace.input(undefined, t.shape, t.dtype, name));
  const params = spec.paramTypes.map((t, i) => ph(t, `param${i}`));
  const state = spec.paramTypes.flatMap((t, i) =>
    Array.from({ length: perParam }, (_, k) => ph(t, `state${i}_${k}`)),
  );
  const batch = spec.batchTypes.map((t, i) => ph(t, `batch${i}`));
  const lr = ph({ shape: [], dtype: 'f32' }, 'lr');
  const step = ph({ shape: [], dtype: 'f32' }, 'step');
  const outputs = withTrace(trace, () => {
    const loss = spec.loss(params, batch);
    const { newParams, newState } = optimizerUpdate(loss, params, state, lr, step, spec);
    return [loss, ...newParams, ...newState];
  });
  const placeholders = [...params, ...state, ...batch, lr, step].map((t) => t.id);
  const { graph, bindings } = trace.extract(
    outputs.map((t) => t.id),
    placeholders,
  );
  const simple = simplifyGraph(graph);
  verifyGraph(simple);
  return { graph: simple, statePerParam: perParam, constants: bindings };
}

/** Parameters and optimizer state between steps, and a `step` that replays the traced graph. */
export class Trainer {
  readonly traced: TracedTrainStep;
  params: TensorData[];
  state: TensorData[];
  #iteration = 0;

  constructor(
    spec: TrainStepSpec,
    initialParams: readonly TensorData[],
    readonly backend: Backend,
    float64 = false,
  ) {
    this.traced = traceTrainStep(spec);
    this.params = [...initialParams];
    this.state = initialParams.flatMap((p) =>
      Array.from({ length: this.traced.statePerParam }, () => ({
        shape: p.shape,
        dtype: p.dtype,
        data: allocate(p.dtype, p.data.length, float64),
      })),
    );
  }

  /** One iteration on `batch` with learning rate `lr`; returns the loss (before the update). */
  async step(batch: readonly TensorData[], lr: number): Promise<TensorData> {
    this.#iteration++;
    const float64 = this.params[0]?.data instanceof Float64Array;
    const scalar = (v: number): TensorData => {
      const data = allocate('f32', 1, float64);
      data[0] = v;
      return { shape: [], dtype: 'f32', data };
    };
    const inputs = [
      ...this.params,
      ...this.state,
      ...batch,
      scalar(lr),
      scalar(this.#iteration),
      ...this.traced.constants,
    ];
    const [loss, ...rest] = await this.backend.run(this.traced.graph, inputs);
    this.params = rest.slice(0, this.params.length);
    this.state = rest.slice(this.params.length);
    return loss;
  }
}
