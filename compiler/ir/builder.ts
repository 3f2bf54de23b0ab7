// GraphBuilder: the one way IR graphs are made (by compiler/lower, the runtime Tensor front end and
// the autodiff VJP rules). Each `add` checks the node against its shape rule at once, so a broken
// node is reported where it is created, then appends it; `build` freezes the graph with its outputs.
import { IrShapeError } from './errors.js';
import { inferType } from './shape-rules.js';
import type {
  BinaryFn,
  CompareFn,
  DType,
  Graph,
  Node,
  NodeId,
  NodeSpec,
  ReduceFn,
  Shape,
  TensorType,
  UnaryFn,
} from './types.js';

export class GraphBuilder {
  readonly #nodes: Node[] = [];
  readonly #inputs: NodeId[] = [];
  readonly #inputNames = new Set<string>();

  get nodes(): readonly Node[] {
    return this.#nodes;
  }

  node(id: NodeId): Node {
    const n = this.#nodes[id];
    if (n === undefined) throw new IrShapeError(`no node %${id} in this graph`);
    return n;
  }

  type(id: NodeId): TensorType {
    const n = this.node(id);
    return { shape: n.shape, dtype: n.dtype };
  }

  shape(id: NodeId): Shape {
    return this.node(id).shape;
  }

  /** Appends a node after checking it against its shape rule; returns its id. */
  add(spec: NodeSpec): NodeId {
    const operandTypes = spec.inputs.map((i) => this.type(i));
    const t = inferType(spec, operandTypes);
    const id = this.#nodes.length;
    if (spec.op === 'input') {
      if (this.#inputNames.has(spec.name))
        throw new IrShapeError(`input name "${spec.name}" is used twice`);
      this.#inputNames.add(spec.name);
      this.#inputs.push(id);
    }
    // The spread keeps every attribute; shape/dtype come from the rule so they are always right.
    const node = Object.freeze({
      ...spec,
      id,
      shape: Object.freeze([...t.shape]),
      dtype: t.dtype,
    }) as Node;
    this.#nodes.push(node);
    return id;
  }

  build(outputs: readonly NodeId[]): Graph {
    for (const o of outputs) this.node(o);
    return Object.freeze({
      nodes: Object.freeze([...this.#nodes]),
      inputs: Object.freeze([...this.#inputs]),
      outputs: Object.freeze([...outputs]),
    });
  }

  // ---- short forms for the most common nodes ------------------------------------------------------
  input(name: string, shape: Shape, dtype: DType = 'f32'): NodeId {
    return this.add({ op: 'input', name, shape, dtype, inputs: [] });
  }
  fill(value: number, shape: Shape, dtype: DType = 'f32'): NodeId {
    return this.add({ op: 'fill', value, shape, dtype, inputs: [] });
  }
  /** A constant shaped like node `like` (same dtype unless given). */
  fillLike(value: number, like: NodeId, dtype?: DType): NodeId {
    const t = this.type(like);
    return this.fill(value, t.shape, dtype ?? t.dtype);
  }
  unary(fn: UnaryFn, x: NodeId): NodeId {
    return this.add({ op: 'unary', fn, inputs: [x] });
  }
  binary(fn: BinaryFn, a: NodeId, b: NodeId): NodeId {
    return this.add({ op: 'binary', fn, inputs: [a, b] });
  }
  compare(fn: CompareFn, a: NodeId, b: NodeId): NodeId {
    return this.add({ op: 'compare', fn, inputs: [a, b] });
  }
  select(cond: NodeId, ifTrue: NodeId, ifFalse: NodeId): NodeId {
    return this.add({ op: 'select', inputs: [cond, ifTrue, ifFalse] });
  }
  cast(x: NodeId, dtype: DType): NodeId {
    if (this.type(x).dtype === dtype) return x;
    return this.add({ op: 'cast', dtype, shape: this.shape(x), inputs: [x] });
  }
  reduce(fn: ReduceFn, x: NodeId, axes: readonly number[]): NodeId {
    return this.add({ op: 'reduce', fn, axes: [...axes].sort((a, b) => a - b), inputs: [x] });
  }
  reshape(x: NodeId, shape: Shape): NodeId {
    const t = this.type(x);
    if (t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i])) return x;
    return this.add({ op: 'reshape', shape, dtype: t.dtype, inputs: [x] });
  }
  /** Broadcast with same rank (size-1 dims repeat); no node when the shape already matches. */
  broadcast(x: NodeId, shape: Shape): NodeId {
    const t = this.type(x);
    if (t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i])) return x;
    return this.add({ op: 'broadcast', shape, dtype: t.dtype, inputs: [x] });
  }
  permute(x: NodeId, perm: readonly number[]): NodeId {
    if (perm.every((p, i) => p === i)) return x;
    return this.add({ op: 'permute', perm, inputs: [x] });
  }
  /**
   * Sums `x` down to `shape` — the VJP of a numpy-style broadcast from `shape`: leading extra axes
   * are summed away and axes where `shape` has 1 are summed with keepdims.
   */
  sumTo(x: NodeId, shape: Shape): NodeId {
    const xs = this.shape(x);
    const lead = xs.length - shape.length;
    const axes: number[] = [];
    for (let i = 0; i < xs.length; i++) {
      if (i < lead || (shape[i - lead] === 1 && xs[i] !== 1)) axes.push(i);
    }
    const reduced = axes.length > 0 ? this.reduce('sum', x, axes) : x;
    return this.reshape(reduced, shape);
  }
}
