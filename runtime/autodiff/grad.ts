// The autodiff entry points of the Tensor front end: `gradients` (reverse mode over the recorded
// tape of a trace, result as more lazy Tensors), `noGrad` regions, and `valueAndGrad`/`grad`/
// `traceValueAndGrad` of a function traced once into a single forward+backward IR graph that any
// Backend runs (and a GPU executor can compile once and replay every step).
import type { Graph, NodeId, TensorType } from '../../compiler/ir/index.js';
import { verifyGraph } from '../../compiler/ir/index.js';
import type { TensorData } from '../cpu/tensor-data.js';
import type { Backend } from '../tensor/backend.js';
import { cpuReferenceBackend } from '../tensor/backend.js';
import { TensorShapeError } from '../tensor/errors.js';
import { Tensor, activeTrace, withTrace } from '../tensor/tensor.js';
import { Trace } from '../tensor/trace.js';
import { buildBackward } from './backward.js';

/** Runs `fn` with gradient recording off: tensors made inside are constants for autodiff. */
export function noGrad<T>(fn: () => T): T {
  return activeTrace().noGrad(fn);
}

/**
 * d(sum of y·seed)/dx for each x, as Tensors of y's trace (seed defaults to ones, i.e. the
 * gradient of a scalar y). Uses of a value in several places accumulate by addition.
 */
export function gradients(y: Tensor, xs: readonly Tensor[], seed?: Tensor): Tensor[] {
  const trace = y.trace;
  for (const x of xs)
    if (x.trace !== trace)
      throw new TensorShapeError('gradients: tensors belong to different traces');
  const ids = buildBackward(
    trace.builder,
    y.id,
    xs.map((x) => x.id),
    {
      seed: seed?.id,
      stopGradient: trace.stopGradient,
      customVjp: trace.customVjp,
    },
  );
  return ids.map((id) => new Tensor(trace, id));
}

export type TracedFn = (...args: Tensor[]) => Tensor;

export interface TracedGrad {
  /** Inputs: the arguments in order, then `constants`; outputs: value, then one gradient per `wrt`. */
  readonly graph: Graph;
  /** Values of the constant tensors the function captured (Tensor.from inside it). */
  readonly constants: readonly TensorData[];
}

/**
 * Traces `fn` on placeholder arguments of `argTypes` and appends the backward pass: one graph with
 * outputs `[value, d value/d args[wrt[0]], …]`. `wrt` defaults to every f32 argument.
 */
export function traceValueAndGrad(
  fn: TracedFn,
  argTypes: readonly TensorType[],
  wrt?: readonly number[],
): TracedGrad {
  const trace = new Trace();
  const args = argTypes.map(
    (t, i) => new Tensor(trace, trace.input(undefined, t.shape, t.dtype, `arg${i}`)),
  );
  const which = wrt ?? argTypes.flatMap((t, i) => (t.dtype === 'f32' ? [i] : []));
  const value = withTrace(trace, () => fn(...args));
  if (value.trace !== trace)
    throw new TensorShapeError('the traced function returned a tensor from another trace');
  const grads: NodeId[] = buildBackward(
    trace.builder,
    value.id,
    which.map((i) => args[i].id),
    {
      stopGradient: trace.stopGradient,
      customVjp: trace.customVjp,
    },
  );
  const { graph, bindings } = trace.extract(
    [value.id, ...grads],
    args.map((a) => a.id),
  );
  verifyGraph(graph);
  return { graph, constants: bindings };
}

export interface ValueAndGrad {
  readonly value: TensorData;
  readonly grads: TensorData[];
}

/** `valueAndGrad(fn)(...args)`: value of `fn` and its gradient w.r.t. the f32 arguments (or `wrt`). */
export function valueAndGrad(
  fn: TracedFn,
  options: { backend?: Backend; wrt?: readonly number[] } = {},
): (...args: TensorData[]) => Promise<ValueAndGrad> {
  const backend = options.backend ?? cpuReferenceBackend();
  // One trace per distinct argument signature: later calls replay the same graph.
  const cache = new Map<string, TracedGrad>();
  return async (...args) => {
    const key = JSON.stringify(args.map((a) => [a.dtype, a.shape]));
    let traced = cache.get(key);
    if (traced === undefined) {
      traced = traceValueAndGrad(fn, args, options.wrt);
      cache.set(key, traced);
    }
    const [value, ...grads] = await backend.run(traced.graph, [...args, ...traced.constants]);
    return { value, grads };
  };
}

/** `grad(fn)(...args)`: the gradients only. */
export function grad(
  fn: TracedFn,
  options: { backend?: Backend; wrt?: readonly number[] } = {},
): (...args: TensorData[]) => Promise<TensorData[]> {
  const vg = valueAndGrad(fn, options);
  return async (...args) => (await vg(...args)).grads;
}
