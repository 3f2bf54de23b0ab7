// Lowering of `.align` functions to the primitive IR: checked AST (`FnDecl`) + concrete argument
// types → an IR graph whose inputs are the function's tensor parameters and whose one output is
// its result. Flow: checked AST → **compiler/lower** → IR → kernels.
//
// Two modes of expression meet here. Outside index notation, values are whole tensors and
// elementwise operators broadcast numpy-style. Inside `let s[i, j] = …` and `sum[d](…)`, values
// live on named index axes (index-space.ts) and `x[i, d]` reads x along them; reductions remove
// their index. Calls of other user functions are inlined, so the whole function becomes one graph
// that autodiff and fusion see at once. Only shapes known from the actual arguments are used:
// dimension names (`N`, `D`) bind on first use and must agree everywhere after.

import type * as A from '../../grammar/ast.js';
import type { DType, Graph, GraphBuilder, NodeId, Shape } from '../ir/index.js';
import type { CustomVjp } from '../../runtime/autodiff/custom-vjp.js';
import { LowerError } from './errors.js';
import { FnLowering, type Binding } from './fn-lowering.js';
import { typeText } from './value-ops.js';

export interface ArgType {
  readonly shape: Shape;
  readonly dtype: DType;
}

export interface LoweredFn {
  /** The graph with the function's result as its one output. */
  readonly graph: Graph;
  /** The builder that made it: autodiff appends the backward to it. */
  readonly builder: GraphBuilder;
  readonly output: NodeId;
  /** Graph-input node of each entry of `params`, in the same order. */
  readonly inputNodes: readonly NodeId[];
  /** Nodes made by `detach(…)`: gradients do not flow through them. */
  readonly stopGradient: ReadonlySet<NodeId>;
  /** `detach(…)` results in lowering order: identity nodes, or inputs with `freezeDetached`. */
  readonly detached: readonly NodeId[];
  /** Calls of functions with a `backward` block: pass to buildBackward so autodiff uses it. */
  readonly customVjp: ReadonlyMap<NodeId, CustomVjp>;
  /** The tensor parameters in graph-input order (those given in `args`), with their types. */
  readonly params: readonly { readonly name: string; readonly type: ArgType }[];
  /** Dimension names and the sizes they were bound to. */
  readonly dims: ReadonlyMap<string, number>;
}

export type { Binding } from './fn-lowering.js';

/**
 * Lowers `fn` for arguments of the given types. Parameters absent from `args` must have a default
 * and become constants; `constants` overrides defaults (e.g. τ from the command line).
 */
export function lowerFn(
  fn: A.FnDecl,
  args: ReadonlyMap<string, ArgType>,
  functions: ReadonlyMap<string, A.FnDecl>,
  constants: ReadonlyMap<string, number> = new Map(),
  /** Receives the body's final scope (for a backward block). */
  scope: Map<string, Binding> = new Map(),
  options: { readonly freezeDetached?: boolean } = {},
): LoweredFn & { readonly lowering: FnLowering } {
  const lowering = new FnLowering(functions);
  lowering.freezeDetached = options.freezeDetached ?? false;
  const params: { name: string; type: ArgType }[] = [];
  const inputNodes: NodeId[] = [];
  for (const p of fn.params) {
    const given = args.get(p.name.name);
    if (given) {
      lowering.bindDims(p.type, given.shape, p.name.span, `argument ${p.name.name}`);
      checkDtype(p.type.dtype, given.dtype, p.name.span, p.name.name);
      const node = lowering.b.input(p.name.name, given.shape, given.dtype);
      scope.set(p.name.name, { kind: 'value', value: { node, axes: null } });
      params.push({ name: p.name.name, type: given });
      inputNodes.push(node);
      continue;
    }
    const constant = constants.get(p.name.name);
    if (constant !== undefined) {
      scope.set(p.name.name, { kind: 'value', value: lowering.constantValue(constant, p.type) });
      continue;
    }
    if (p.default) {
      const value = lowering.expr(p.default, new Map(), undefined);
      scope.set(p.name.name, { kind: 'value', value });
      continue;
    }
    throw new LowerError(
      'E_MISSING_ARG',
      `function ${fn.name.name} needs argument ${p.name.name} (${typeText(p.type)})`,
      p.name.span,
    );
  }
  const result = lowering.body(fn, scope);
  return {
    graph: lowering.b.build([result]),
    builder: lowering.b,
    output: result,
    inputNodes,
    stopGradient: lowering.stopGradient,
    detached: lowering.detached,
    customVjp: lowering.customVjp,
    params,
    dims: lowering.dims,
    lowering,
  };
}

function checkDtype(declared: A.Dtype, actual: DType, span: A.Ident['span'], name: string): void {
  const compatible = declared === actual || (declared === 'i32' && actual === 'u32');
  if (!compatible) {
    throw new LowerError('E_DTYPE', `${name} is declared ${declared} but is ${actual}`, span);
  }
}
