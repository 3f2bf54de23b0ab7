// The host tensor state a traced training step starts from (runtime/train): a module's parameter
// values as named tensors, split into the optimizer's (trainable) and the step's constants (BN
// buffers, frozen stages: mmdet `frozen_stages`, `norm_eval`), and the optimizer's zeroed slots.
// Inside the traced step, `bindState` binds the module's parameters to the traced tensors again.
// Flow: module (runtime/nn) → **step state** → a TrainableStep's params / frozen / optimizer maps.

import type { TensorData } from '../cpu/tensor-data.js';
import { allocate } from '../cpu/tensor-data.js';
import { ParameterBinding } from '../nn/binding.js';
import type { NamedParameter } from '../nn/module.js';
import type { OptimizerSpec } from '../optim/train-step.js';
import type { Tensor } from '../tensor/tensor.js';
import { TrainSetupError } from './errors.js';
import { stateNamesOf, type TensorMap } from './traced-step.js';

/** A module's state split into the optimizer's parameters and the step's constants. */
export function splitTrainable(all: readonly NamedParameter[]): {
  trainable: NamedParameter[];
  frozen: NamedParameter[];
} {
  const isTrainable = (p: NamedParameter) => p.parameter.kind !== 'buffer' && p.parameter.trainable;
  return { trainable: all.filter(isTrainable), frozen: all.filter((p) => !isTrainable(p)) };
}

/** Name → current value of each parameter; `hint` says how to give a parameter its value. */
export function valuesOf(
  entries: readonly NamedParameter[],
  hint?: string,
): Map<string, TensorData> {
  return new Map(
    entries.map(({ name, parameter }) => {
      if (parameter.value === undefined)
        throw new TrainSetupError(
          `parameter ${name} has no value`,
          hint === undefined ? undefined : { hint },
        );
      return [name, { shape: parameter.shape, dtype: 'f32', data: parameter.value }];
    }),
  );
}

/** The optimizer's slots (`<param>.<slot>`) of every parameter, zero. */
export function zeroOptimizerState(
  params: ReadonlyMap<string, TensorData>,
  optimizer: OptimizerSpec,
): Map<string, TensorData> {
  return new Map(
    stateNamesOf(params.keys(), optimizer).map((n) => {
      const p = params.get(n.slice(0, n.lastIndexOf('.')));
      if (p === undefined) throw new RangeError(`internal: optimizer slot ${n} has no parameter`);
      return [n, { shape: p.shape, dtype: p.dtype, data: allocate(p.dtype, p.data.length) }];
    }),
  );
}

/** Binds each module parameter of `entries` to its traced tensor in `weights`, else in `frozen`. */
export function bindState(
  trace: Tensor['trace'],
  entries: readonly NamedParameter[],
  weights: TensorMap,
  frozen: TensorMap,
): ParameterBinding {
  const b = new ParameterBinding(trace);
  for (const { name, parameter } of entries) {
    const t = weights.get(name) ?? frozen.get(name);
    if (t === undefined) throw new TrainSetupError(`the step has no tensor for ${name}`);
    b.bind(parameter, t);
  }
  return b;
}
