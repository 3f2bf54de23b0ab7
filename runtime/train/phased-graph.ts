// A traced training step cut into consecutive phases — forward (the loss terms), backward (the
// gradients), update (optimizer + EMA) — each its own IR graph run on the Backend in turn, so the
// runtime can report the share of step time each phase takes (the JSONL step record's timeShare).
// The cut is by dependency, not by recomputation: phase k holds the nodes the k-th group of
// targets needs that no earlier phase computed; values crossing a cut are outputs of the phase that
// makes them and inputs of the phases that use them. Constant leaves (fill, iota, literal) are
// copied into every phase that uses them instead of crossing, and so are broadcast expansions of
// smaller values (`expansions`), which are recomputed where they are used.
// Flow: Tensor API → IR (one traced step) → **phases** → Backend.

import type { Graph, Node, NodeId, NodeSpec } from '../../compiler/ir/index.js';
import {
  ELEMENTWISE_OPS,
  GraphBuilder,
  MOVEMENT_OPS,
  reachableFrom,
  simplifyGraph,
  sizeOf,
  verifyGraph,
} from '../../compiler/ir/index.js';
import type { TensorData } from '../cpu/tensor-data.js';
import type { Backend } from '../tensor/backend.js';

/** Where one input of a phase graph comes from. */
type PhaseSource =
  | { readonly kind: 'input'; readonly index: number }
  | { readonly kind: 'value'; readonly node: NodeId };

export interface Phase {
  readonly name: string;
  readonly graph: Graph;
  /** Per graph input, in order: a step input (by position) or a value of an earlier phase. */
  readonly sources: readonly PhaseSource[];
  /** Node ids (of the whole step graph) that this phase's outputs hold, in output order. */
  readonly produces: readonly NodeId[];
}

export interface PhasedGraph {
  readonly phases: readonly Phase[];
  /** The whole step's outputs (node ids of the whole graph), in order. */
  readonly outputs: readonly NodeId[];
  /** The whole graph's input node ids: an output may be an input passed through unchanged. */
  readonly inputs: readonly NodeId[];
}

const LEAF_OPS: ReadonlySet<Node['op']> = new Set<Node['op']>(['fill', 'iota', 'literal']);

/**
 * The nodes a later phase recomputes instead of receiving: elementwise and view nodes whose size
 * comes from broadcasting smaller values (every operand is a leaf, a step input, smaller than the
 * node, or itself such a node). Crossing them would write and read a large buffer made of a few
 * small ones — box_infonce's [N, M] label masks are broadcasts of [N] labels — while recomputing
 * is index arithmetic that fusion inlines. Nodes as large as an operand that is not (a conv's
 * activation, a similarity matrix) still cross.
 */
function expansions(whole: Graph): boolean[] {
  const expands = new Array<boolean>(whole.nodes.length).fill(false);
  for (const node of whole.nodes) {
    if (!ELEMENTWISE_OPS.has(node.op) && !MOVEMENT_OPS.has(node.op)) continue;
    const size = sizeOf(node.shape);
    expands[node.id] = node.inputs.every((i) => {
      const input = whole.nodes[i];
      return (
        LEAF_OPS.has(input.op) || input.op === 'input' || expands[i] || sizeOf(input.shape) < size
      );
    });
  }
  return expands;
}

/**
 * Cuts `graph` into phases: `groups[k]` lists the positions in `graph.outputs` that phase k must
 * finish (every position belongs to the first group naming it; positions named by no group belong
 * to the last phase). Phase k computes what its group needs beyond phases 0..k−1.
 */
export function splitPhases(
  graph: Graph,
  groups: readonly { readonly name: string; readonly outputs: readonly number[] }[],
): PhasedGraph {
  const whole = simplifyGraph(graph);
  verifyGraph(whole);
  const owner = new Array<number>(whole.nodes.length).fill(-1);
  const inputPosition = new Map<NodeId, number>(whole.inputs.map((id, k) => [id, k]));
  const claimed = new Set<number>();
  const ranges = groups.map((g, k) => {
    const own = g.outputs.filter((p) => !claimed.has(p));
    own.forEach((p) => claimed.add(p));
    if (k === groups.length - 1)
      whole.outputs.forEach((_, p) => {
        if (!claimed.has(p)) own.push(p);
      });
    return own.map((p) => whole.outputs[p]);
  });
  ranges.forEach((targets, k) => {
    const live = reachableFrom(whole, targets);
    live.forEach((isLive, id) => {
      if (isLive && owner[id] === -1) owner[id] = k;
    });
  });
  // A value crosses when a node of a later phase (or the step's result) uses it; an expansion is
  // recomputed there instead, from the values it is made of (which cross in its place).
  const expands = expansions(whole);
  const usedLater = new Set<NodeId>();
  const recomputed = new Set<NodeId>();
  const cross = (j: NodeId) => {
    if (LEAF_OPS.has(whole.nodes[j].op)) return;
    if (!expands[j]) {
      usedLater.add(j);
      return;
    }
    if (recomputed.has(j)) return;
    recomputed.add(j);
    whole.nodes[j].inputs.forEach(cross);
  };
  for (const node of whole.nodes) {
    for (const j of node.inputs) if (owner[j] !== owner[node.id]) cross(j);
  }
  for (const o of whole.outputs) usedLater.add(o);
  const phases = groups.map((g, k) =>
    buildPhase(whole, g.name, k, owner, usedLater, inputPosition, expands),
  );
  return { phases, outputs: whole.outputs, inputs: whole.inputs };
}

function buildPhase(
  whole: Graph,
  name: string,
  k: number,
  owner: readonly number[],
  usedLater: ReadonlySet<NodeId>,
  inputPosition: ReadonlyMap<NodeId, number>,
  expands: readonly boolean[],
): Phase {
  const b = new GraphBuilder();
  const remap = new Map<NodeId, NodeId>();
  const sources: PhaseSource[] = [];
  const operand = (j: NodeId): NodeId => {
    const known = remap.get(j);
    if (known !== undefined) return known;
    const node = whole.nodes[j];
    let id: NodeId;
    if (node.op === 'input') {
      id = b.input(`in${sources.length}`, node.shape, node.dtype);
      sources.push({ kind: 'input', index: inputPosition.get(j) as number });
    } else if (LEAF_OPS.has(node.op)) {
      id = b.add({ ...node, inputs: [] } as NodeSpec);
    } else if (expands[j]) {
      id = b.add({ ...node, inputs: node.inputs.map(operand) } as NodeSpec);
    } else {
      id = b.input(`v${j}`, node.shape, node.dtype);
      sources.push({ kind: 'value', node: j });
    }
    remap.set(j, id);
    return id;
  };
  const produces: NodeId[] = [];
  for (const node of whole.nodes) {
    if (owner[node.id] !== k || node.op === 'input') continue;
    const id = LEAF_OPS.has(node.op)
      ? operand(node.id)
      : b.add({ ...node, inputs: node.inputs.map(operand) } as NodeSpec);
    remap.set(node.id, id);
    if (usedLater.has(node.id)) produces.push(node.id);
  }
  const graph = b.build(produces.map((id) => remap.get(id) as NodeId));
  verifyGraph(graph);
  return { name, graph, sources, produces };
}

export interface PhasedRun {
  readonly outputs: TensorData[];
  /** Wall seconds per phase name. */
  readonly seconds: Readonly<Record<string, number>>;
}

/** Runs the phases in order on `backend`; `inputs` are the whole step graph's inputs. */
export async function runPhases(
  phased: PhasedGraph,
  inputs: readonly TensorData[],
  backend: Backend,
): Promise<PhasedRun> {
  const values = new Map<NodeId, TensorData>();
  const seconds: Record<string, number> = {};
  for (const phase of phased.phases) {
    const feed = phase.sources.map((s) => {
      if (s.kind === 'input') return inputs[s.index];
      const v = values.get(s.node);
      if (v === undefined) throw new Error(`internal: phase ${phase.name} needs %${s.node} first`);
      return v;
    });
    const started = performance.now();
    const out = await backend.run(phase.graph, feed);
    seconds[phase.name] = (seconds[phase.name] ?? 0) + (performance.now() - started) / 1000;
    phase.produces.forEach((id, i) => values.set(id, out[i]));
  }
  const outputs = phased.outputs.map((id) => {
    const v = values.get(id);
    if (v !== undefined) return v;
    const k = phased.inputs.indexOf(id);
    if (k >= 0) return inputs[k];
    throw new Error(`internal: step output %${id} was computed by no phase`);
  });
  return { outputs, seconds };
}
