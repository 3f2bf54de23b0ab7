// Values inside index notation (`let s[i, j] = sum[d](q[i, d] * k[j, d])`), while compiler/lower
// turns a function body into IR. Each value lives on a set of named index axes, in the
// comprehension's canonical order (head indices first, then reduction indices by nesting); its IR
// node's shape is exactly the sizes of those axes. Combining two values aligns both to the union
// of their axes with reshape + broadcast — the same thing einsum does, spelled in primitives.

import type { GraphBuilder, NodeId } from '../ir/index.js';

export interface IndexedValue {
  readonly node: NodeId;
  /** Axis names, in canonical order; the node's shape is `axes.map(size)`. */
  readonly axes: readonly string[];
}

export class IndexSpace {
  readonly #order: string[] = [];
  readonly #sizes = new Map<string, number>();

  /** Introduces an index variable (head or reduction) with its inferred size. */
  declare(name: string, size: number): void {
    if (!this.#sizes.has(name)) this.#order.push(name);
    this.#sizes.set(name, size);
  }

  /** Removes a reduction index when its reduction is done. */
  forget(name: string): void {
    this.#sizes.delete(name);
    const at = this.#order.indexOf(name);
    if (at >= 0) this.#order.splice(at, 1);
  }

  has(name: string): boolean {
    return this.#sizes.has(name);
  }

  size(name: string): number {
    const size = this.#sizes.get(name);
    if (size === undefined) throw new Error(`internal: index ${name} has no size`);
    return size;
  }

  /** The union of axes in canonical order. */
  union(...axisLists: (readonly string[])[]): string[] {
    const wanted = new Set(axisLists.flat());
    return this.#order.filter((a) => wanted.has(a));
  }

  /** `value` reshaped and broadcast onto `axes` (a superset of its own, canonical order). */
  align(b: GraphBuilder, value: IndexedValue, axes: readonly string[]): NodeId {
    if (value.axes.length === axes.length) return value.node;
    const withOnes = axes.map((a) => (value.axes.includes(a) ? this.size(a) : 1));
    const full = axes.map((a) => this.size(a));
    return b.broadcast(b.reshape(value.node, withOnes), full);
  }

  /**
   * A tensor accessed as `x[a0, a1, …]` with distinct index variables, as a value on those axes in
   * canonical order (a permutation of x's axes).
   */
  access(b: GraphBuilder, node: NodeId, indexNames: readonly string[]): IndexedValue {
    const axes = this.union(indexNames);
    const perm = axes.map((a) => indexNames.indexOf(a));
    return { node: b.permute(node, perm), axes };
  }
}
