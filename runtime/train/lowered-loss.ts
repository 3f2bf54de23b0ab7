// Calls a `.align` loss function (e.g. `box_infonce`, `l1` of pipelines/std/losses.align) from a
// traced training step: the function is lowered to IR for the argument shapes of the call
// (compiler/lower), then its graph is copied into the step's trace with its parameters bound to the
// step's tensors, its `detach(…)` nodes marked stop-gradient and its hand-written `backward`
// blocks carried as custom VJPs, so autodiff differentiates the loss together with the detector
// as one graph. Flow: checked AST → IR (lowered fn) → **inlined
// into the traced step** → autodiff → kernels.

import type { FnDecl } from '../../grammar/ast.js';
import type { Graph, NodeId } from '../../compiler/ir/index.js';
import { collectFunctions, stdModulePath } from '../../compiler/lower/functions.js';
import { lowerFn, type ArgType } from '../../compiler/lower/lower-fn.js';
import { copyGraphInto, remapCustomVjp, type CustomVjp } from '../autodiff/custom-vjp.js';
import { Tensor } from '../tensor/tensor.js';
import { TrainSetupError } from './errors.js';

/** A `.align` function ready to be called on Tensors; lowered once per argument signature. */
export class LoweredLoss {
  readonly #cache = new Map<
    string,
    {
      graph: Graph;
      stopGradient: ReadonlySet<NodeId>;
      customVjp: ReadonlyMap<NodeId, CustomVjp>;
      params: readonly string[];
    }
  >();

  constructor(
    readonly fn: FnDecl,
    readonly functions: ReadonlyMap<string, FnDecl>,
    /** Values for parameters with defaults (e.g. τ of box_infonce). */
    readonly constants: ReadonlyMap<string, number> = new Map(),
  ) {}

  /** `name` from the std module `std.<module>` (pipelines/std/<module>.align). */
  static fromStd(
    module: string,
    name: string,
    constants?: ReadonlyMap<string, number>,
  ): LoweredLoss {
    const table = collectFunctions(stdModulePath(['std', module]));
    const fn = table.functions.get(name);
    if (fn === undefined)
      throw new TrainSetupError(`std.${module} has no function ${name}`, {
        hint: `its functions: ${[...table.functions.keys()].join(', ')}`,
      });
    return new LoweredLoss(fn, table.functions, constants);
  }

  get name(): string {
    return this.fn.name.name;
  }

  /** The function's value on `args` (by parameter name), recorded in the args' trace. */
  call(args: Readonly<Record<string, Tensor>>): Tensor {
    const entries = Object.entries(args);
    const first = entries[0]?.[1];
    if (first === undefined) throw new RangeError(`${this.name}: called with no arguments`);
    const types = new Map<string, ArgType>(
      entries.map(([k, t]) => [k, { shape: t.shape, dtype: t.dtype }]),
    );
    const key = JSON.stringify(entries.map(([k, t]) => [k, t.dtype, t.shape]));
    let lowered = this.#cache.get(key);
    if (lowered === undefined) {
      const l = lowerFn(this.fn, types, this.functions, this.constants);
      lowered = {
        graph: l.graph,
        stopGradient: l.stopGradient,
        customVjp: l.customVjp,
        params: l.params.map((p) => p.name),
      };
      this.#cache.set(key, lowered);
    }
    const bound = lowered.params.map((p) => args[p]);
    return inlineGraph(first, lowered.graph, bound, lowered.stopGradient, lowered.customVjp);
  }
}

/**
 * Copies `graph` into the trace of `like`, its inputs bound to `args` (in `graph.inputs` order);
 * nodes in `stopGradient` stay stop-gradient. Returns the graph's first output.
 */
export function inlineGraph(
  like: Tensor,
  graph: Graph,
  args: readonly Tensor[],
  stopGradient: ReadonlySet<NodeId>,
  customVjp: ReadonlyMap<NodeId, CustomVjp> = new Map(),
): Tensor {
  const trace = like.trace;
  graph.inputs.forEach((_, k) => {
    const arg = args[k];
    if (arg === undefined || arg.trace !== trace)
      throw new RangeError(`inlined graph: argument ${k} is missing or from another trace`);
  });
  const remap = copyGraphInto(
    trace.builder,
    graph,
    args.map((a) => a.id),
  );
  for (const node of graph.nodes) {
    if (node.op === 'input') continue;
    const id = trace.record(remap.get(node.id) as NodeId);
    if (stopGradient.has(node.id)) trace.stopGradient.add(id);
  }
  for (const [id, rule] of customVjp) {
    trace.customVjp.set(
      remap.get(id) as NodeId,
      remapCustomVjp(rule, (j) => remap.get(j) as NodeId),
    );
  }
  return new Tensor(trace, remap.get(graph.outputs[0]) as NodeId);
}
