// The IR verifier: checks a whole graph's invariants — ids equal positions, operands come earlier
// (topological order), `inputs` lists exactly the input nodes with unique names, every recorded
// type equals what the node's shape rule derives, outputs exist. Run after every pass that builds
// or rewrites a graph (lowering, autodiff, fusion) so a broken graph fails where it was made.
import { IrShapeError, IrVerifyError } from './errors.js';
import { formatNode } from './print.js';
import { inferType } from './shape-rules.js';
import type { Graph, NodeSpec } from './types.js';

export function verifyGraph(graph: Graph): void {
  const names = new Set<string>();
  const inputIds: number[] = [];
  graph.nodes.forEach((node, index) => {
    const where = () => `node ${formatNode(node)}`;
    if (node.id !== index) throw new IrVerifyError(`${where()} sits at position ${index}`);
    for (const operand of node.inputs) {
      if (!Number.isInteger(operand) || operand < 0 || operand >= index) {
        throw new IrVerifyError(`${where()} uses %${operand}, which is not an earlier node`);
      }
    }
    if (node.op === 'input') {
      if (names.has(node.name)) throw new IrVerifyError(`${where()}: input name used twice`);
      names.add(node.name);
      inputIds.push(node.id);
    }
    let t;
    try {
      // A Node is a NodeSpec plus id; the rule reads only the spec's fields.
      t = inferType(
        node as NodeSpec,
        node.inputs.map((i) => graph.nodes[i]),
      );
    } catch (e) {
      if (e instanceof IrShapeError)
        throw new IrVerifyError(`${where()}: ${e.message}`, { cause: e });
      throw e;
    }
    if (
      t.dtype !== node.dtype ||
      t.shape.length !== node.shape.length ||
      t.shape.some((d, i) => d !== node.shape[i])
    ) {
      throw new IrVerifyError(`${where()}: its rule gives ${t.dtype}[${t.shape.join(',')}]`);
    }
  });
  if (inputIds.length !== graph.inputs.length || inputIds.some((id, i) => graph.inputs[i] !== id)) {
    throw new IrVerifyError(
      `graph.inputs [${graph.inputs.join(',')}] is not the list of input nodes [${inputIds.join(',')}]`,
    );
  }
  for (const o of graph.outputs) {
    if (!Number.isInteger(o) || o < 0 || o >= graph.nodes.length) {
      throw new IrVerifyError(`output %${o} is not a node of the graph`);
    }
  }
}
