// Epilogue fusion: folds the elementwise group that consumes a matmul or conv2d result (bias add,
// activation, scaling, residual add…) into the contraction's store, so the contraction's output
// never goes to memory. Runs after planFusion; compiler/wgsl/fused-epilogue.ts turns the absorbed
// group into the GEMM kernel's `epilogue()` function. Flow: IR → compiler/fuse (plan → **epilogue
// fusion**) → compiler/wgsl → runtime/webgpu executor.

import type { Graph, NodeId } from '../ir/index.js';
import { ELEMENTWISE_OPS } from '../ir/index.js';
import { leavesOf, liveUses, type FusionPlan, type KernelGroup } from './plan.js';

export interface EpilogueFusion {
  /** The contraction node. */
  readonly contraction: NodeId;
  /** The elementwise group it absorbs; the contraction's kernel writes this group's node. */
  readonly group: KernelGroup;
}

/** Does `id`'s value depend on `target` within the group (through inlined nodes)? */
function dependsOn(
  graph: Graph,
  id: NodeId,
  target: NodeId,
  inGroup: ReadonlySet<NodeId>,
): boolean {
  if (id === target) return true;
  if (!inGroup.has(id)) return false;
  return graph.nodes[id].inputs.some((i) => dependsOn(graph, i, target, inGroup));
}

/**
 * Finds contraction → elementwise-group pairs that fuse: the contraction (matmul or conv2d) has
 * exactly one use, inside an f32 elementwise group of the same shape, reached from the group's
 * root only through elementwise ops (so the epilogue reads the accumulator at its own index).
 */
export function findEpilogueFusions(graph: Graph, plan: FusionPlan): EpilogueFusion[] {
  const { uses } = liveUses(graph);
  const outputs = new Set(graph.outputs);
  const groupOf = new Map<NodeId, KernelGroup>();
  for (const g of plan.groups) {
    groupOf.set(g.node, g);
    for (const id of g.inlined) groupOf.set(id, g);
  }
  const fusions: EpilogueFusion[] = [];
  for (const g of plan.groups) {
    if (g.kind !== 'matmul' && g.kind !== 'conv2d') continue;
    const node = graph.nodes[g.node];
    if (outputs.has(node.id) || uses[node.id].length !== 1) continue;
    const consumer = groupOf.get(uses[node.id][0]);
    if (!consumer || consumer.kind !== 'elementwise') continue;
    // Fusion may inline the direct user into several kernels (recomputation): the contraction can
    // only vanish into an epilogue when exactly one kernel reads it.
    const readers = plan.groups.filter(
      (r) =>
        r.kind !== 'input' &&
        (leavesOf(graph, r, plan.materialized).has(node.id) ||
          graph.nodes[r.node].inputs.includes(node.id)),
    );
    if (readers.length !== 1 || readers[0] !== consumer) continue;
    const root = graph.nodes[consumer.node];
    if (root.dtype !== 'f32' || root.shape.length !== node.shape.length) continue;
    if (root.shape.some((d, i) => d !== node.shape[i])) continue;
    const inGroup = new Set([consumer.node, ...consumer.inlined]);
    const onPath = [...inGroup].filter((id) => dependsOn(graph, id, node.id, inGroup));
    if (!onPath.every((id) => ELEMENTWISE_OPS.has(graph.nodes[id].op))) continue;
    fusions.push({ contraction: node.id, group: consumer });
  }
  return fusions;
}
