// Reverse-mode autodiff as a graph-to-graph transform: walks the recorded forward nodes (the tape —
// a GraphBuilder's nodes in execution order) from the output back to the requested leaves, applies
// the VJP table to each node that lies between them, and sums cotangents of values used more than
// once. The backward nodes are appended to the same builder, so forward + backward form one IR
// graph that compiles and fuses as a whole. Flow: IR → **backward** → IR → kernels.
import type { GraphBuilder, NodeId } from '../../compiler/ir/index.js';
import { IrShapeError } from '../../compiler/ir/index.js';
import { inlineGraph, type CustomVjp } from './custom-vjp.js';
import { applyVjp } from './vjp-rules.js';

export interface BackwardOptions {
  /** Cotangent of `output` (same shape, f32); default: ones (so a scalar output gives its gradient). */
  readonly seed?: NodeId;
  /** Nodes whose value is treated as a constant: no gradient flows through them (noGrad regions). */
  readonly stopGradient?: ReadonlySet<NodeId>;
  /** Nodes with a hand-written VJP (custom-vjp.ts): used instead of differentiating what made them. */
  readonly customVjp?: ReadonlyMap<NodeId, CustomVjp>;
}

/**
 * Appends to `b` the gradient of `output` with respect to each node in `wrt` and returns their ids
 * (a zero-filled node where `output` does not depend on one). All of `wrt` and `output` must be f32.
 */
export function buildBackward(
  b: GraphBuilder,
  output: NodeId,
  wrt: readonly NodeId[],
  options: BackwardOptions = {},
): NodeId[] {
  const stop = options.stopGradient ?? new Set<NodeId>();
  const outType = b.type(output);
  if (outType.dtype !== 'f32')
    throw new IrShapeError(`cannot differentiate a ${outType.dtype} output (%${output})`);
  for (const w of wrt) {
    if (b.type(w).dtype !== 'f32')
      throw new IrShapeError(`cannot differentiate with respect to ${b.type(w).dtype} node %${w}`);
  }
  const forwardEnd = b.nodes.length;
  // Which nodes depend on some `wrt` node (through differentiable, non-stopped paths)?
  const dependsOnWrt = new Array<boolean>(forwardEnd).fill(false);
  for (const w of wrt) dependsOnWrt[w] = true;
  for (let i = 0; i < forwardEnd; i++) {
    if (dependsOnWrt[i] || stop.has(i)) continue;
    const node = b.nodes[i];
    dependsOnWrt[i] =
      node.dtype === 'f32' && node.inputs.some((j) => dependsOnWrt[j] && !stop.has(j));
  }
  const cotangent = new Map<NodeId, NodeId>();
  const accumulate = (id: NodeId, ct: NodeId): void => {
    const prev = cotangent.get(id);
    cotangent.set(id, prev === undefined ? ct : b.binary('add', prev, ct));
  };
  if (dependsOnWrt[output]) accumulate(output, options.seed ?? b.fill(1, outType.shape));
  for (let i = output; i >= 0; i--) {
    const ct = cotangent.get(i);
    if (ct === undefined) continue;
    const node = b.nodes[i];
    const custom = options.customVjp?.get(i);
    if (custom) {
      const grads = inlineGraph(b, custom.graph, [...custom.args, ct]);
      custom.args.forEach((j, k) => {
        if (dependsOnWrt[j] && !stop.has(j) && b.type(j).dtype === 'f32') accumulate(j, grads[k]);
      });
      continue;
    }
    if (node.inputs.every((j) => !dependsOnWrt[j] || stop.has(j))) continue;
    const grads = applyVjp(b, node, ct);
    node.inputs.forEach((j, k) => {
      const g = grads[k];
      if (g !== null && dependsOnWrt[j] && !stop.has(j)) accumulate(j, g);
    });
  }
  return wrt.map((w) => cotangent.get(w) ?? b.fill(0, b.shape(w)));
}
