// Small graph queries shared by passes over the IR (autodiff, the CPU reference, fusion): who uses
// a node, and which nodes an output set depends on.
import type { Graph, NodeId } from './types.js';

/** For each node id, the ids of the nodes that use it as an operand (in graph order). */
export function usesOf(graph: Graph): NodeId[][] {
  const uses: NodeId[][] = graph.nodes.map(() => []);
  for (const n of graph.nodes) for (const i of n.inputs) uses[i].push(n.id);
  return uses;
}

/** The ids the given roots depend on (roots included), as a boolean mask over graph.nodes. */
export function reachableFrom(graph: Graph, roots: readonly NodeId[]): boolean[] {
  const live = graph.nodes.map(() => false);
  for (const r of roots) live[r] = true;
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    if (!live[i]) continue;
    for (const j of graph.nodes[i].inputs) live[j] = true;
  }
  return live;
}
