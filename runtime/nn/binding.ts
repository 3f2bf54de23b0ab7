// How a forward pass sees a module's parameters: a ParameterBinding maps each Parameter to a Tensor
// of one trace. By default a parameter becomes an eager tensor holding its current host value (a
// constant input of the graph); `placeholderBinding` instead makes every parameter and buffer a
// named graph input, so a training step is traced once and replayed with new values; `bind` ties a
// parameter to a given tensor (an argument of a function under runtime/autodiff). Training-mode BN
// records its running-statistic updates here (`setUpdate`, `applyBufferUpdates`). Flow: module tree
// (runtime/nn/module.ts) → **binding** → Tensor ops in a Trace (runtime/tensor).
import type { TensorData } from '../cpu/tensor-data.js';
import type { Backend } from '../tensor/backend.js';
import { Tensor, activeTrace } from '../tensor/tensor.js';
import type { Trace } from '../tensor/trace.js';
import { UninitializedParameterError } from './errors.js';
import type { Module, Parameter } from './module.js';

function hostValue(p: Parameter, what: string): TensorData {
  if (p.value === undefined) {
    throw new UninitializedParameterError(
      `parameter ${what} has no value: initialise the model or load its weights first`,
    );
  }
  return { shape: p.shape, dtype: 'f32', data: p.value };
}

export class ParameterBinding {
  readonly #tensors = new Map<Parameter, Tensor>();
  readonly #names = new Map<Parameter, string>();
  readonly #updates = new Map<Parameter, Tensor>();

  /** `root` (optional) only supplies qualified names for error messages. */
  constructor(
    readonly trace: Trace = activeTrace(),
    root?: Module,
  ) {
    if (root !== undefined)
      for (const { name, parameter } of root.state()) this.#names.set(parameter, name);
  }

  /** Makes `p` read `tensor` (which must belong to this binding's trace). */
  bind(p: Parameter, tensor: Tensor): this {
    this.#tensors.set(p, tensor);
    return this;
  }

  /**
   * Records `value` as the new value of a buffer (BN running statistics) once this step's graph
   * has run; a later update of the same buffer replaces an earlier one.
   */
  setUpdate(p: Parameter, value: Tensor): void {
    this.#updates.set(p, value);
  }

  /** Buffer updates recorded during the forward pass, to realise with the step's outputs. */
  get updates(): ReadonlyMap<Parameter, Tensor> {
    return this.#updates;
  }

  /** The tensor of `p` on this trace: the bound one, or an eager constant of its current value. */
  tensor(p: Parameter): Tensor {
    let t = this.#tensors.get(p);
    if (t === undefined) {
      t = Tensor.from(
        hostValue(p, this.#names.get(p) ?? `of shape [${p.shape.join(', ')}]`),
        this.trace,
      );
      this.#tensors.set(p, t);
    }
    return t;
  }
}

/**
 * Computes the recorded buffer updates on `backend` and writes them into the parameters' host
 * values (eager use; a replayed traced step returns them as extra outputs instead).
 */
export async function applyBufferUpdates(
  binding: ParameterBinding,
  backend?: Backend,
): Promise<void> {
  for (const [p, t] of binding.updates) {
    // `undefined` selects the Tensor front end's default backend.
    p.value = Float32Array.from((await t.data(backend)).data);
  }
}

export interface Placeholder {
  readonly name: string;
  readonly parameter: Parameter;
  readonly tensor: Tensor;
}

/**
 * A binding whose every parameter and buffer of `root` is a named input node without a value, in
 * state-dict order. Pass `placeholders.map(p => p.tensor.id)` as the graph's leading inputs
 * (`Trace.extract(targets, ids)`) and `placeholderValues(placeholders)` as their data.
 */
export function placeholderBinding(
  root: Module,
  trace: Trace = activeTrace(),
): { binding: ParameterBinding; placeholders: Placeholder[] } {
  const binding = new ParameterBinding(trace, root);
  const placeholders = root.state().map(({ name, parameter }) => {
    const tensor = new Tensor(trace, trace.input(undefined, parameter.shape, 'f32', name));
    binding.bind(parameter, tensor);
    return { name, parameter, tensor };
  });
  return { binding, placeholders };
}

/** The current host values of placeholders, in order (to run a graph traced with them). */
export function placeholderValues(placeholders: readonly Placeholder[]): TensorData[] {
  return placeholders.map((p) => hostValue(p.parameter, p.name));
}
