// Hand-written gradients for autodiff: a node whose vector–Jacobian product is given as an IR graph
// instead of being derived from the nodes that computed it. `.align` functions with a
// `backward(dy) { grad x = … }` block lower to one (compiler/lower); `buildBackward` inlines the
// graph where it reaches the node. The graph is self-contained (inputs: the call's arguments and
// the cotangent), so it survives copying the forward into another builder (a training trace).
// Flow: IR → **backward** (with custom rules) → IR.

import type { Graph, GraphBuilder, NodeId, NodeSpec } from '../../compiler/ir/index.js';

export interface CustomVjp {
  /** Inputs: one per entry of `args`, then the cotangent of the node; outputs: one gradient per arg. */
  readonly graph: Graph;
  /** The forward nodes the gradients flow to, in the graph's input order. */
  readonly args: readonly NodeId[];
}

/** Appends `graph` to `b` with its inputs bound to `inputs` (in `graph.inputs` order); its outputs. */
export function inlineGraph(b: GraphBuilder, graph: Graph, inputs: readonly NodeId[]): NodeId[] {
  const remap = copyGraphInto(b, graph, inputs);
  return graph.outputs.map((o) => remap.get(o)!);
}

/** Appends `graph`'s nodes to `b`, inputs bound to `inputs`; the id each node got in `b`. */
export function copyGraphInto(
  b: GraphBuilder,
  graph: Graph,
  inputs: readonly NodeId[],
): Map<NodeId, NodeId> {
  const remap = new Map<NodeId, NodeId>();
  graph.inputs.forEach((id, k) => remap.set(id, inputs[k]));
  for (const node of graph.nodes) {
    if (node.op === 'input') continue;
    const spec = { ...node, inputs: node.inputs.map((j) => remap.get(j)!) } as NodeSpec;
    remap.set(node.id, b.add(spec));
  }
  return remap;
}

/** The same rule for a copy of the forward whose node ids were renumbered by `remap`. */
export function remapCustomVjp(rule: CustomVjp, remap: (id: NodeId) => NodeId): CustomVjp {
  return { graph: rule.graph, args: rule.args.map(remap) };
}
