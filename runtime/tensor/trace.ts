// A Trace records tensor operations as IR nodes (it owns a GraphBuilder): the "tape" of executed
// primitives that autodiff walks backwards. Eager values are bound to `input` nodes; `realize`
// cuts the part of the trace a set of tensors needs into a standalone Graph (already-computed
// nodes become inputs) and runs it on a Backend. Flow: Tensor API → **trace (IR)** → backend.
import type { Graph, NodeId, NodeSpec } from '../../compiler/ir/index.js';
import { GraphBuilder, reachableFrom } from '../../compiler/ir/index.js';
import type { CustomVjp } from '../autodiff/custom-vjp.js';
import type { TensorData } from '../cpu/tensor-data.js';
import type { Backend } from './backend.js';
import { UnboundInputError } from './errors.js';

export class Trace {
  readonly builder = new GraphBuilder();
  /** Values known for nodes: bound inputs and results of earlier `realize` calls. */
  readonly #values = new Map<NodeId, TensorData>();
  /** Nodes created inside `noGrad` (autodiff treats them as constants). */
  readonly stopGradient = new Set<NodeId>();
  /** Nodes with a hand-written VJP (calls of `.align` functions with a `backward` block). */
  readonly customVjp = new Map<NodeId, CustomVjp>();
  #noGradDepth = 0;
  #inputCounter = 0;

  /** Records a node id, marking it stop-gradient inside a noGrad region. */
  record(id: NodeId): NodeId {
    if (this.#noGradDepth > 0) this.stopGradient.add(id);
    return id;
  }

  get inNoGrad(): boolean {
    return this.#noGradDepth > 0;
  }

  noGrad<T>(fn: () => T): T {
    this.#noGradDepth++;
    try {
      return fn();
    } finally {
      this.#noGradDepth--;
    }
  }

  /** A fresh input node; with `value`, bound to that data (an eager tensor). */
  input(
    value: TensorData | undefined,
    shape: readonly number[],
    dtype: TensorData['dtype'],
    name?: string,
  ): NodeId {
    const id = this.builder.input(name ?? `t${this.#inputCounter++}`, shape, dtype);
    if (value !== undefined) this.#values.set(id, value);
    return this.record(id);
  }

  value(id: NodeId): TensorData | undefined {
    return this.#values.get(id);
  }

  /**
   * The graph computing `targets` from this trace's known values: every needed node that already
   * has a value becomes an input (returned in `bindings` with its data), the rest is copied.
   */
  extract(
    targets: readonly NodeId[],
    placeholders: readonly NodeId[] = [],
  ): { graph: Graph; bindings: TensorData[] } {
    const nodes = this.builder.nodes;
    const sub = new GraphBuilder();
    const bindings: TensorData[] = [];
    const remap = new Map<NodeId, NodeId>();
    // Placeholders (the traced function's arguments) become the graph's leading inputs, in order.
    for (const p of placeholders) {
      const node = nodes[p];
      if (node.op !== 'input')
        throw new UnboundInputError(`placeholder %${p} is not an input node`);
      remap.set(p, sub.input(node.name, node.shape, node.dtype));
    }
    const live = reachableFrom({ nodes, inputs: [], outputs: targets }, targets);
    // Known values cut the graph: nodes only they need are not copied.
    const needed = new Array<boolean>(nodes.length).fill(false);
    for (const t of targets) needed[t] = true;
    for (let i = nodes.length - 1; i >= 0; i--) {
      if (!needed[i] || !live[i] || this.#values.has(i)) continue;
      for (const j of nodes[i].inputs) needed[j] = true;
    }
    for (let i = 0; i < nodes.length; i++) {
      if (!needed[i] || remap.has(i)) continue;
      const node = nodes[i];
      const known = this.#values.get(i);
      if (known !== undefined) {
        remap.set(i, sub.input(`v${i}`, node.shape, node.dtype));
        bindings.push(known);
        continue;
      }
      if (node.op === 'input') {
        throw new UnboundInputError(
          `tensor input "${node.name}" has no value; pass it as an argument or bind it`,
        );
      }
      const spec = { ...node, inputs: node.inputs.map((j) => remap.get(j) as NodeId) } as NodeSpec;
      remap.set(i, sub.add(spec));
    }
    return { graph: sub.build(targets.map((t) => remap.get(t) as NodeId)), bindings };
  }

  /** Computes (and remembers) the values of `targets` on `backend`. */
  async realize(targets: readonly NodeId[], backend: Backend): Promise<TensorData[]> {
    const missing = [...new Set(targets.filter((t) => !this.#values.has(t)))];
    if (missing.length > 0) {
      const { graph, bindings } = this.extract(missing);
      const results = await backend.run(graph, bindings);
      missing.forEach((t, k) => this.#values.set(t, results[k]));
    }
    return targets.map((t) => this.#values.get(t) as TensorData);
  }
}
