// Value and gradient of a `.align` function, and the finite-difference check that loss authors run
// on their own functions (`alignc grad`, `alignc check-grad`). The function is lowered to IR
// (lower-fn.ts), differentiated by the runtime's VJP table — or by its hand-written backward
// block — and evaluated on the CPU reference. Flow: checked AST → IR → autodiff → values.

import type { FnDecl } from '../../grammar/ast.js';
import { buildBackward } from '../../runtime/autodiff/backward.js';
import { interpret } from '../../runtime/cpu/interpret.js';
import { allocate, type TensorData } from '../../runtime/cpu/tensor-data.js';
import { AlignError } from '../../runtime/errors.js';
import { Rng } from '../../runtime/rng.js';
import type { DType, Graph, Shape } from '../ir/index.js';
import { lowerWithCustomBackward } from './custom-backward.js';
import { lowerFn, type ArgType, type LoweredFn } from './lower-fn.js';

export class GradInputError extends AlignError {
  readonly code = 'E_GRAD_INPUT';
}

export interface GradOptions {
  /** Evaluate in f64 (finite differences need it). */
  readonly float64?: boolean;
  /** Values for parameters that have defaults (hyperparameters such as τ). */
  readonly constants?: ReadonlyMap<string, number>;
  /** Cotangent of the output; default ones (the gradient of the output's sum). */
  readonly cotangent?: TensorData;
  /** Differentiate through the body even when the function declares a backward block. */
  readonly ignoreCustomBackward?: boolean;
}

export interface GradResult {
  readonly value: TensorData;
  /** Gradient of Σ cotangent·output with respect to each f32 tensor argument. */
  readonly grads: ReadonlyMap<string, TensorData>;
  /** The function's dimension names and their sizes in this call. */
  readonly dims: ReadonlyMap<string, number>;
  readonly usedCustomBackward: boolean;
}

export function hasCustomBackward(fn: FnDecl): boolean {
  return fn.body.some((s) => s.kind === 'Backward');
}

export interface GradientGraph {
  readonly lowered: LoweredFn;
  /** Outputs: the function's value, then its gradient for each name of `wrt`. */
  readonly graph: Graph;
  /** The f32 tensor parameters differentiated, in output order. */
  readonly wrt: readonly string[];
}

/**
 * `fn` lowered for `types` with the gradients of Σ cotangent·output appended (autodiff, honouring
 * `detach` and backward blocks of called functions). The cotangent is ones, or with
 * `cotangentInput` an extra last graph input `__cotangent` shaped like the output.
 */
export function gradientGraph(
  fn: FnDecl,
  types: ReadonlyMap<string, ArgType>,
  functions: ReadonlyMap<string, FnDecl>,
  options: {
    readonly constants?: ReadonlyMap<string, number>;
    readonly cotangentInput?: boolean;
  } = {},
): GradientGraph {
  const lowered = lowerFn(fn, types, functions, options.constants);
  const b = lowered.builder;
  const outType = b.type(lowered.output);
  if (outType.dtype !== 'f32') {
    throw new GradInputError(
      `function ${fn.name.name} returns ${outType.dtype}; only f32 results have gradients`,
    );
  }
  const wrt = lowered.params
    .map((p, k) => ({ p, node: lowered.inputNodes[k] }))
    .filter(({ p }) => p.type.dtype === 'f32');
  const seed = options.cotangentInput ? b.input('__cotangent', outType.shape, 'f32') : undefined;
  const gradNodes = buildBackward(
    b,
    lowered.output,
    wrt.map((d) => d.node),
    { seed, stopGradient: lowered.stopGradient, customVjp: lowered.customVjp },
  );
  return {
    lowered,
    graph: b.build([lowered.output, ...gradNodes]),
    wrt: wrt.map(({ p }) => p.name),
  };
}

export function valueAndGrad(
  fn: FnDecl,
  functions: ReadonlyMap<string, FnDecl>,
  inputs: ReadonlyMap<string, TensorData>,
  options: GradOptions = {},
): GradResult {
  const float64 = options.float64 ?? false;
  const types = new Map<string, ArgType>(
    [...inputs].map(([name, t]) => [name, { shape: t.shape, dtype: t.dtype }]),
  );
  for (const name of inputs.keys()) {
    if (!fn.params.some((p) => p.name.name === name)) {
      throw new GradInputError(`function ${fn.name.name} has no parameter ${name}`, {
        hint: `its parameters: ${fn.params.map((p) => p.name.name).join(', ')}`,
      });
    }
  }
  const constants = options.constants ?? new Map<string, number>();
  if (hasCustomBackward(fn) && !options.ignoreCustomBackward) {
    const lowered = lowerWithCustomBackward(fn, types, functions, constants);
    const ordered = lowered.params.map((p) => inputs.get(p.name)!);
    const cot = options.cotangent ?? ones(lowered.builder.shape(lowered.output), float64);
    const results = interpret(lowered.graph, [...ordered, cot], { float64 });
    const grads = new Map<string, TensorData>();
    lowered.params.forEach((p, k) => {
      if (p.type.dtype === 'f32') grads.set(p.name, results[1 + k]);
    });
    return { value: results[0], grads, dims: lowered.dims, usedCustomBackward: true };
  }
  const { lowered, graph, wrt } = gradientGraph(fn, types, functions, {
    constants,
    cotangentInput: true,
  });
  const outType = lowered.builder.type(lowered.output);
  const ordered = lowered.params.map((p) => inputs.get(p.name)!);
  const cot = options.cotangent ?? ones(outType.shape, float64);
  const results = interpret(graph, [...ordered, cot], { float64 });
  const grads = new Map<string, TensorData>();
  wrt.forEach((name, k) => grads.set(name, results[1 + k]));
  return { value: results[0], grads, dims: lowered.dims, usedCustomBackward: false };
}

function ones(shape: Shape, float64: boolean): TensorData {
  const n = shape.reduce((a, d) => a * d, 1);
  const data = allocate('f32', n, float64);
  data.fill(1);
  return { shape: [...shape], dtype: 'f32', data };
}

// ---- check-grad ----------------------------------------------------------------------------------

export interface CheckGradOptions {
  readonly seed?: number;
  /** Sizes of the function's dimension names; unnamed ones get small distinct defaults. */
  readonly dims?: ReadonlyMap<string, number>;
  /** Largest accepted error, relative to max(|numeric|, |autodiff|, 1). */
  readonly tolerance?: number;
  readonly constants?: ReadonlyMap<string, number>;
}

export interface ArgGradReport {
  readonly name: string;
  readonly shape: Shape;
  readonly worstError: number;
  /** Flat index of the worst element, with both gradients there. */
  readonly worstIndex: number;
  readonly autodiff: number;
  readonly numeric: number;
  readonly ok: boolean;
}

export interface CheckGradReport {
  readonly fn: string;
  readonly seed: number;
  readonly dims: Readonly<Record<string, number>>;
  readonly tolerance: number;
  readonly usedCustomBackward: boolean;
  readonly args: readonly ArgGradReport[];
  readonly ok: boolean;
}

const DEFAULT_DIM_SIZES = [5, 4, 3, 6, 2];

/**
 * Concrete types for `fn`'s tensor parameters (those without defaults): dimension names take their
 * size from `dims`, and unnamed ones small distinct defaults (recorded into the returned map).
 */
export function declaredArgTypes(
  fn: FnDecl,
  dims: ReadonlyMap<string, number> = new Map(),
): { readonly types: Map<string, ArgType>; readonly dims: Map<string, number> } {
  const sizes = new Map(dims);
  let nextDefault = 0;
  const dimSize = (name: string): number => {
    let size = sizes.get(name);
    if (size === undefined) {
      size = DEFAULT_DIM_SIZES[nextDefault++ % DEFAULT_DIM_SIZES.length];
      sizes.set(name, size);
    }
    return size;
  };
  const types = new Map<string, ArgType>();
  for (const p of fn.params) {
    if (p.default) continue;
    const shape = p.type.dims.map((d) => (d.kind === 'DimSize' ? d.size : dimSize(d.name)));
    types.set(p.name.name, { shape, dtype: p.type.dtype });
  }
  return { types, dims: sizes };
}

/**
 * Draws inputs of the declared shapes (f32 in [-2, 2), except `f32[…, 4]` arguments, drawn as valid
 * boxes x1 < x2, y1 < y2; i32 in [-1, 3); bool fair coins), then compares the gradient (autodiff,
 * or the function's own backward block) with central finite differences in f64, per argument.
 */
export function checkGrad(
  fn: FnDecl,
  functions: ReadonlyMap<string, FnDecl>,
  options: CheckGradOptions = {},
): CheckGradReport {
  const seed = options.seed ?? 0;
  const tolerance = options.tolerance ?? 1e-4;
  const rng = Rng.fromSeed(seed).child('check-grad');
  const inputs = drawArguments(fn, rng, options.dims);
  const probe = valueAndGrad(fn, functions, inputs, {
    float64: true,
    constants: options.constants,
  });
  const cotangent = drawInput(rng, probe.value.shape, 'f32', true);
  const analytic = valueAndGrad(fn, functions, inputs, {
    float64: true,
    constants: options.constants,
    cotangent,
  });
  // The objective Σ r·f(x) with a random r catches transposed or misplaced gradients that a plain
  // sum would not. Detached values stay at their base values, as autodiff treats them.
  const objective = frozenObjective(
    fn,
    functions,
    inputs,
    options.constants ?? new Map(),
    cotangent,
  );
  const args: ArgGradReport[] = [];
  for (const [name, grad] of analytic.grads) {
    const base = inputs.get(name)!;
    let worst = { error: -1, index: 0, autodiff: 0, numeric: 0 };
    for (let e = 0; e < base.data.length; e++) {
      const h = 1e-6 * Math.max(1, Math.abs(base.data[e]));
      const at = (delta: number): number => {
        const data = Float64Array.from(base.data);
        data[e] += delta;
        return objective(new Map(inputs).set(name, { ...base, data }));
      };
      const numeric = (at(h) - at(-h)) / (2 * h);
      const autodiff = grad.data[e];
      const error =
        Math.abs(numeric - autodiff) / Math.max(1, Math.abs(numeric), Math.abs(autodiff));
      const bad = !Number.isFinite(autodiff) || !(error <= worst.error);
      if (bad || worst.error < 0)
        worst = { error: Number.isFinite(error) ? error : Infinity, index: e, autodiff, numeric };
    }
    args.push({
      name,
      shape: base.shape,
      worstError: Math.max(0, worst.error),
      worstIndex: worst.index,
      autodiff: worst.autodiff,
      numeric: worst.numeric,
      ok: worst.error <= tolerance,
    });
  }
  return {
    fn: fn.name.name,
    seed,
    dims: Object.fromEntries(analytic.dims),
    tolerance,
    usedCustomBackward: analytic.usedCustomBackward,
    args,
    ok: args.every((a) => a.ok),
  };
}

/**
 * Σ cotangent·f(values), where every `detach(…)` inside f is replaced by its value at `base`:
 * the function autodiff differentiates, so finite differences of it are comparable.
 */
function frozenObjective(
  fn: FnDecl,
  functions: ReadonlyMap<string, FnDecl>,
  base: ReadonlyMap<string, TensorData>,
  constants: ReadonlyMap<string, number>,
  cotangent: TensorData,
): (values: ReadonlyMap<string, TensorData>) => number {
  const types = new Map<string, ArgType>(
    [...base].map(([name, t]) => [name, { shape: t.shape, dtype: t.dtype }]),
  );
  const plain = lowerFn(fn, types, functions, constants);
  const ordered = plain.params.map((p) => base.get(p.name)!);
  const frozenValues =
    plain.detached.length > 0
      ? interpret(plain.builder.build([...plain.detached]), ordered, { float64: true })
      : [];
  const frozen = lowerFn(fn, types, functions, constants, new Map(), { freezeDetached: true });
  const graph = frozen.graph;
  return (values) => {
    const feeds = graph.inputs.map((id) => {
      const node = graph.nodes[id];
      if (node.op !== 'input') throw new Error('internal: graph input is not an input node');
      const k = frozen.detached.indexOf(id);
      return k >= 0 ? frozenValues[k] : values.get(node.name)!;
    });
    const out = interpret(graph, feeds, { float64: true })[0];
    let total = 0;
    for (let i = 0; i < out.data.length; i++) total += out.data[i] * cotangent.data[i];
    return total;
  };
}

/**
 * Random arguments of `fn`'s declared types (see checkGrad for the distributions), in f64 storage
 * for f32 tensors.
 */
export function drawArguments(
  fn: FnDecl,
  rng: Rng,
  dims?: ReadonlyMap<string, number>,
): Map<string, TensorData> {
  const inputs = new Map<string, TensorData>();
  for (const [name, type] of declaredArgTypes(fn, dims).types) {
    inputs.set(name, drawInput(rng, type.shape, type.dtype));
  }
  return inputs;
}

function drawInput(rng: Rng, shape: Shape, dtype: DType | 'bool', plain = false): TensorData {
  const n = shape.reduce((a, d) => a * d, 1);
  const data = allocate(dtype, n, dtype === 'f32');
  const boxes = !plain && dtype === 'f32' && shape.length > 0 && shape[shape.length - 1] === 4;
  for (let i = 0; i < n; i++) {
    switch (dtype) {
      case 'f32':
        data[i] = rng.uniform() * 4 - 2;
        break;
      case 'i32':
        data[i] = Math.floor(rng.uniform() * 4) - 1;
        break;
      case 'u32':
        data[i] = Math.floor(rng.uniform() * 4);
        break;
      case 'bool':
        data[i] = rng.uniform() < 0.5 ? 1 : 0;
        break;
      default:
        return dtype satisfies never;
    }
  }
  if (boxes) {
    for (let i = 0; i < n; i += 4) {
      const x1 = rng.uniform() * 20;
      const y1 = rng.uniform() * 20;
      data[i] = x1;
      data[i + 1] = y1;
      data[i + 2] = x1 + 1 + rng.uniform() * 10;
      data[i + 3] = y1 + 1 + rng.uniform() * 10;
    }
  }
  return { shape: [...shape], dtype: dtype as DType, data };
}
