// The host tensor state a traced training step starts from (runtime/train): a module's parameter
// values as named tensors, split into the optimizer's (trainable) and the step's constants (BN
// buffers, frozen stages: mmdet `frozen_stages`, `norm_eval`), and the optimizer's zeroed slots.
// Inside the traced step, `bindState` binds the module's parameters to the traced tensors again.
// Flow: module (runtime/nn) → **step state** → a TrainableStep's params / frozen / optimizer maps.

import type { TensorData } from '../cpu/tensor-data.js';
import { allocate } from '../cpu/tensor-data.js';
import { ParameterBinding } from '../nn/binding.js';
import type { Module, NamedParameter } from '../nn/module.js';
import { BatchNorm2d } from '../nn/norm.js';
import type { OptimizerSpec } from '../optim/train-step.js';
import type { Tensor } from '../tensor/tensor.js';
import { TrainSetupError } from './errors.js';
import { stateNamesOf, type StepTensors, type TensorMap } from './traced-step.js';

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

/**
 * Records, as extra outputs of a traced step, the buffer updates (BN running statistics in
 * training mode) that a forward pass left on `binding`, each named `prefix + its state name`.
 */
export function recordBufferUpdates(
  binding: ParameterBinding,
  entries: readonly NamedParameter[],
  extra: StepTensors['extra'],
  prefix = '',
): void {
  const names = new Map(entries.map((e) => [e.parameter, e.name]));
  for (const [parameter, value] of binding.updates) {
    const name = names.get(parameter);
    if (name === undefined)
      throw new TrainSetupError('internal: a buffer update of a parameter outside the step');
    extra(prefix + name, value);
  }
}

/** State names of the running statistics of every BN layer of `network` that uses batch statistics. */
export function statisticBuffersOf(network: Module): string[] {
  const buffers = new Set<unknown>();
  for (const m of network.modules())
    if (m instanceof BatchNorm2d && m.usesBatchStatistics)
      buffers.add(m.runningMean).add(m.runningVar).add(m.numBatchesTracked);
  return network
    .state()
    .filter((e) => buffers.has(e.parameter))
    .map((e) => e.name);
}
