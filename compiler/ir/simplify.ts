// A cleanup pass over IR graphs: dead-node elimination plus common-subexpression elimination (two
// nodes with the same op, attributes and operands become one). Autodiff emits many identical
// constants (`fill`) and repeated views; removing them before fusion means fewer buffers and
// kernels. Inputs are always kept (they are the graph's calling convention). Flow: IR → IR.
import { GraphBuilder } from './builder.js';
import { reachableFrom } from './graph-utils.js';
import type { Graph, Node, NodeId, NodeSpec } from './types.js';

/** A key equal for two nodes exactly when they compute the same value from the same operands. */
function structuralKey(node: Node, operands: readonly NodeId[]): string {
  const { id: _id, inputs: _inputs, ...attrs } = node;
  return JSON.stringify([attrs, operands]);
}

export function simplifyGraph(graph: Graph): Graph {
  const live = reachableFrom(graph, graph.outputs);
  const b = new GraphBuilder();
  const remap = new Map<NodeId, NodeId>();
  const seen = new Map<string, NodeId>();
  for (const node of graph.nodes) {
    if (node.op === 'input') {
      remap.set(node.id, b.input(node.name, node.shape, node.dtype));
      continue;
    }
    if (!live[node.id]) continue;
    const operands = node.inputs.map((i) => remap.get(i) as NodeId);
    const key = structuralKey(node, operands);
    const existing = seen.get(key);
    if (existing !== undefined) {
      remap.set(node.id, existing);
      continue;
    }
    const id = b.add({ ...node, inputs: operands } as NodeSpec);
    seen.set(key, id);
    remap.set(node.id, id);
  }
  return b.build(graph.outputs.map((o) => remap.get(o) as NodeId));
}
