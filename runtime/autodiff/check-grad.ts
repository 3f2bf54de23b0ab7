// Gradient checking for any traced tensor function: reverse-mode gradients (the VJP table) against
// central finite differences, both evaluated in f64 on the CPU reference. For loss authors and for
// tests of code built on the Tensor API (detector heads, matching costs, optimizers).
import type { Graph } from '../../compiler/ir/index.js';
import { interpret } from '../cpu/interpret.js';
import type { TensorData } from '../cpu/tensor-data.js';
import { withFloatPrecision } from '../cpu/tensor-data.js';
import type { TracedFn } from './grad.js';
import { traceValueAndGrad } from './grad.js';

export interface GradCheckOptions {
  /** Finite-difference step (default 1e-6, suited to f64). */
  readonly eps?: number;
  /** Which arguments to check (default: every f32 argument). */
  readonly wrt?: readonly number[];
}

export interface GradCheckResult {
  /** Largest |analytic − numeric| / (1 + |numeric|) over all checked elements. */
  readonly maxError: number;
  /** Where it occurred. */
  readonly worst: { arg: number; index: number; analytic: number; numeric: number } | null;
  /** The numeric gradients, one per checked argument. */
  readonly numeric: Float64Array[];
  readonly analytic: Float64Array[];
}

function sumOfOutput(graph: Graph, inputs: TensorData[]): number {
  const [value] = interpret(graph, inputs, { float64: true, trusted: true });
  let s = 0;
  for (let i = 0; i < value.data.length; i++) s += value.data[i];
  return s;
}

/** Checks d(sum of fn(args))/d(args[k]) element by element (keep tensors small: 2 runs each). */
export function checkGradients(
  fn: TracedFn,
  args: readonly TensorData[],
  options: GradCheckOptions = {},
): GradCheckResult {
  const eps = options.eps ?? 1e-6;
  const wrt = options.wrt ?? args.flatMap((a, i) => (a.dtype === 'f32' ? [i] : []));
  const traced = traceValueAndGrad(fn, args, wrt);
  const base = [...args, ...traced.constants].map((t) => withFloatPrecision(t, true));
  const results = interpret(traced.graph, base, { float64: true });
  const analytic = results.slice(1).map((g) => Float64Array.from(g.data));
  let maxError = 0;
  let worst: GradCheckResult['worst'] = null;
  const numeric = wrt.map((argIndex, k) => {
    const n = base[argIndex].data.length;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const probe = (delta: number) => {
        const data = Float64Array.from(base[argIndex].data);
        data[i] += delta;
        const inputs = base.slice();
        inputs[argIndex] = { ...base[argIndex], data };
        return sumOfOutput(traced.graph, inputs);
      };
      out[i] = (probe(eps) - probe(-eps)) / (2 * eps);
      const err = Math.abs(analytic[k][i] - out[i]) / (1 + Math.abs(out[i]));
      if (worst === null || err > maxError) {
        maxError = err;
        worst = { arg: argIndex, index: i, analytic: analytic[k][i], numeric: out[i] };
      }
    }
    return out;
  });
  return { maxError, worst, numeric, analytic };
}
