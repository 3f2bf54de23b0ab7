// Kernel fusion: partitions an IR graph into kernel groups. Elementwise and movement nodes with a
// single consumer that can inline them are folded into that consumer's kernel (no intermediate
// tensor); everything else is "materialised" into its own buffer. Contractions (matmul, conv) and
// reductions get their own kernels, as do argmax, pooling and scatter_add; gather and concat inline
// like movement ops (a concat of many operands gets copy kernels); roi_align(_grad), random_bits
// and the routines run as multi-dispatch op programs; "host" groups (the CPU reference) remain for
// an op without a WGSL lowering — none today.
// Flow: IR → **compiler/fuse** → compiler/wgsl kernels → runtime/webgpu executor.

import type { Graph, Node, NodeId } from '../ir/index.js';
import { ELEMENTWISE_OPS, MOVEMENT_OPS, reachableFrom, usesOf } from '../ir/index.js';

export type GroupKind =
  | 'input'
  | 'elementwise'
  | 'reduce'
  | 'matmul'
  | 'conv2d'
  | 'conv_transpose2d'
  | 'conv2d_filter_grad'
  | 'argmax'
  | 'pool2d'
  | 'max_pool2d_grad'
  | 'scatter_add'
  // Multi-dispatch op programs (compiler/wgsl/op-program.ts; built by runtime/webgpu/op-program.ts).
  | 'roi_align'
  | 'roi_align_grad'
  | 'random_bits'
  | 'concat'
  | 'routine'
  | 'host';

/**
 * Concats with more operands than this get their own group (one copy kernel per operand,
 * compiler/wgsl/concat.ts): an inlined concat binds every operand, and planFusion can only split
 * inlined operands, not direct ones (lavapipe binds 16).
 */
const MAX_INLINE_CONCAT = 6;

export interface KernelGroup {
  readonly kind: GroupKind;
  /** The node whose value the group produces (materialised). */
  readonly node: NodeId;
  /** Nodes computed inside the group's kernel without a buffer of their own. */
  readonly inlined: readonly NodeId[];
}

export interface FusionPlan {
  /** In execution order. */
  readonly groups: readonly KernelGroup[];
  readonly materialized: ReadonlySet<NodeId>;
}

function groupKind(node: Node): GroupKind {
  if (node.op === 'input' || node.op === 'literal') return 'input';
  if (ELEMENTWISE_OPS.has(node.op) || MOVEMENT_OPS.has(node.op)) return 'elementwise';
  if (node.op === 'fill' || node.op === 'iota') return 'elementwise';
  // Index arithmetic (compiler/wgsl/expression.ts): gather is a load at a data-dependent index,
  // concat a select over its operands — inlined like a movement op. A concat of very many operands
  // would bind more buffers than a kernel may, so it copies each operand into its slice instead.
  if (node.op === 'gather') return 'elementwise';
  if (node.op === 'concat')
    return node.inputs.length <= MAX_INLINE_CONCAT ? 'elementwise' : 'concat';
  switch (node.op) {
    case 'reduce':
    case 'matmul':
    case 'conv2d':
    case 'conv_transpose2d':
    case 'conv2d_filter_grad':
    case 'argmax':
    case 'pool2d':
    case 'max_pool2d_grad':
    case 'scatter_add':
    case 'roi_align':
    case 'roi_align_grad':
    case 'random_bits':
    case 'routine':
      return node.op;
    default:
      return 'host';
  }
}

/** May `consumer` compute `producer` inline (index arithmetic) instead of loading it? */
function inlines(consumer: Node): boolean {
  return fusesOperands(groupKind(consumer));
}

/** Group kinds whose kernel computes inlined operand expressions (compiler/wgsl/expression.ts). */
function fusesOperands(kind: GroupKind): boolean {
  return kind === 'elementwise' || kind === 'reduce' || kind === 'argmax';
}

/**
 * Plans the groups, then materialises inlined operands of any group that would read more storage
 * buffers than `maxLoads` (the device's storage-buffer limit minus the output).
 */
export function planFusion(graph: Graph, maxLoads = 7): FusionPlan {
  const extra = new Set<NodeId>();
  for (;;) {
    const plan = planOnce(graph, extra);
    const over = plan.groups.find((g) => leavesOf(graph, g, plan.materialized).size > maxLoads);
    if (!over) return plan;
    const direct = graph.nodes[over.node].inputs.filter((i) => !plan.materialized.has(i));
    const pick = direct
      .map((id) => ({
        id,
        leaves: leavesOf(graph, { kind: 'elementwise', node: id, inlined: [] }, plan.materialized)
          .size,
      }))
      .sort((a, b) => b.leaves - a.leaves)[0];
    if (!pick) throw new Error(`fusion: node %${over.node} reads too many buffers even unfused`);
    extra.add(pick.id);
  }
}

/** The materialised nodes a group's kernel loads. */
export function leavesOf(
  graph: Graph,
  group: KernelGroup,
  materialized: ReadonlySet<NodeId>,
): Set<NodeId> {
  const leaves = new Set<NodeId>();
  if (!fusesOperands(group.kind)) return leaves;
  const seen = new Set<NodeId>();
  const visit = (id: NodeId) => {
    for (const input of graph.nodes[id].inputs) {
      const op = graph.nodes[input].op;
      if (materialized.has(input) && op !== 'fill' && op !== 'iota') leaves.add(input);
      else if (!seen.has(input)) {
        seen.add(input);
        visit(input);
      }
    }
  };
  visit(group.node);
  return leaves;
}

/**
 * Which nodes the outputs need, and each node's users among them. Autodiff leaves dead nodes
 * behind (a VJP rule builds both operand gradients even when one is not wanted); they must neither
 * run nor count as uses.
 */
export function liveUses(graph: Graph): { live: boolean[]; uses: NodeId[][] } {
  const live = reachableFrom(graph, graph.outputs);
  const uses = usesOf(graph).map((users) => users.filter((u) => live[u]));
  return { live, uses };
}

/**
 * How much recomputation fusion accepts to save a kernel: an elementwise node read by several
 * fusing consumers is computed inside each of them (instead of being materialised) while
 * (consumers − 1) × the distinct nodes it inlines stays at most this. A kernel launch and a round
 * trip through memory cost far more than a few dozen ALU operations, on lavapipe and GPUs alike;
 * autodiff makes many such nodes (the VJP of max/min reads both operands four times).
 */
const RECOMPUTE_BUDGET = 48;

function planOnce(graph: Graph, extra: ReadonlySet<NodeId>): FusionPlan {
  const { live, uses } = liveUses(graph);
  const outputs = new Set(graph.outputs);
  const materialized = new Set<NodeId>();
  /** Broadcasts of a materialised source, inlined everywhere: they count as leaves, as buffers do. */
  const leafViews = new Set<NodeId>();
  /** Distinct nodes a kernel computes to produce `id` inlined (itself included), up to the budget. */
  const inlinedSize = (id: NodeId): number => {
    const seen = new Set<NodeId>();
    const stack = [id];
    while (stack.length > 0 && seen.size <= RECOMPUTE_BUDGET) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      for (const i of graph.nodes[n].inputs)
        if (!materialized.has(i) && !leafViews.has(i)) stack.push(i);
    }
    return seen.size;
  };
  for (const node of graph.nodes) {
    if (!live[node.id]) continue;
    const kind = groupKind(node);
    const users = uses[node.id];
    const cheapLeaf = node.op === 'fill' || node.op === 'iota';
    if (outputs.has(node.id) || kind !== 'elementwise' || extra.has(node.id)) {
      materialized.add(node.id);
      continue;
    }
    if (users.length === 0) continue;
    if (cheapLeaf) {
      if (users.some((u) => !inlines(graph.nodes[u]))) materialized.add(node.id);
      continue;
    }
    if (users.every((u) => inlines(graph.nodes[u]))) {
      if (users.length === 1) continue;
      if ((users.length - 1) * inlinedSize(node.id) <= RECOMPUTE_BUDGET) continue;
      // A broadcast is index arithmetic over a smaller tensor: materialise that tensor (e.g. a
      // per-row [N, 1] vector) and recompute the broadcast in each user, instead of writing and
      // reading the broadcast [N, M] matrix (box_infonce's per-row logsumexp fed eight users).
      const source = node.inputs[0];
      if (
        node.op === 'broadcast' &&
        users.length - 1 <= RECOMPUTE_BUDGET &&
        graph.nodes[source].shape.reduce((a, b) => a * b, 1) < node.shape.reduce((a, b) => a * b, 1)
      ) {
        materialized.add(source);
        leafViews.add(node.id);
        continue;
      }
    }
    materialized.add(node.id);
  }
  const groups: KernelGroup[] = [];
  for (const node of graph.nodes) {
    if (!materialized.has(node.id)) continue;
    // The inlined part is a DAG (shared subexpressions): each node once.
    const inlined = new Set<NodeId>();
    const visit = (id: NodeId) => {
      for (const input of graph.nodes[id].inputs) {
        if (materialized.has(input) || inlined.has(input)) continue;
        inlined.add(input);
        visit(input);
      }
    };
    if (fusesOperands(groupKind(node))) visit(node.id);
    groups.push({ kind: groupKind(node), node: node.id, inlined: [...inlined] });
  }
  return { groups, materialized };
}
