// The value operations of compiler/lower (checked AST → IR): dtype promotion and conversion,
// elementwise ops that align their operands (named index axes inside index notation, numpy
// broadcasting outside), select, and `detach`. FnLowering (fn-lowering.ts) builds on this class;
// the built-ins (builtins.ts) call it through the LowerContext interface.

import { GraphBuilder, type DType, type NodeId, type Shape } from '../ir/index.js';
import type { LowerContext, Value } from './builtins.js';
import { LowerError } from './errors.js';
import type { IndexSpace } from './index-space.js';
import type { CustomVjp } from '../../runtime/autodiff/custom-vjp.js';
import type * as A from '../../grammar/ast.js';

export class ValueOps implements LowerContext {
  /** Results of calls of functions with a `backward` block, and that block as a VJP graph. */
  readonly customVjp = new Map<NodeId, CustomVjp>();
  readonly b = new GraphBuilder();
  readonly stopGradient = new Set<NodeId>();
  /** Every `detach(…)` result, in the order lowering met them. */
  readonly detached: NodeId[] = [];
  /**
   * Lower `detach(x)` as a graph input instead of an identity: finite differences then treat the
   * detached value as the constant it is for autodiff (its base value is fed in).
   */
  freezeDetached = false;
  /** The index space of the innermost comprehension or reduction being lowered. */
  space: IndexSpace | undefined;
  constantOf(v: Value): number | undefined {
    return this.literalValue(v);
  }

  literalValue(v: Value): number | undefined {
    if (!v.literal) return undefined;
    const node = this.b.node(v.node);
    return node.op === 'fill' ? node.value : undefined;
  }

  numeric(node: NodeId): NodeId {
    return this.b.type(node).dtype === 'bool' ? this.b.cast(node, 'i32') : node;
  }

  // ---- LowerContext: what built-ins use ----------------------------------------------------------

  detach(v: Value): Value {
    const t = this.b.type(v.node);
    if (this.freezeDetached) {
      const node = this.b.input(`__detached_${this.detached.length}`, t.shape, t.dtype);
      this.detached.push(node);
      return { node, axes: v.axes };
    }
    // A fresh identity node (a same-shape reshape) that autodiff is told not to cross.
    const node = this.b.add({ op: 'reshape', shape: t.shape, dtype: t.dtype, inputs: [v.node] });
    this.stopGradient.add(node);
    this.detached.push(node);
    return { node, axes: v.axes };
  }

  asDtype(v: Value, dtype: DType): Value {
    if (this.b.type(v.node).dtype === dtype) return v;
    return { node: this.b.cast(v.node, dtype), axes: v.axes, literal: v.literal };
  }

  map1(fn: Parameters<GraphBuilder['unary']>[0], v: Value): Value {
    const x =
      fn === 'not' || fn === 'neg' || fn === 'abs' || fn === 'sign' ? v : this.asDtype(v, 'f32');
    return { node: this.b.unary(fn, x.node), axes: v.axes };
  }

  /** Elementwise binary op with alignment (index axes or numpy broadcasting) and dtype promotion. */
  map2(
    fn: Parameters<GraphBuilder['binary']>[0],
    a: Value,
    b: Value,
    span: A.Ident['span'],
  ): Value {
    const [x, y] = this.promote(a, b);
    const [nx, ny, axes] = this.align(x, y, span);
    return { node: this.b.binary(fn, nx, ny), axes };
  }

  compare(
    fn: Parameters<GraphBuilder['compare']>[0],
    a: Value,
    b: Value,
    span: A.Ident['span'],
  ): Value {
    const [x, y] = this.promote(a, b);
    const [nx, ny, axes] = this.align(x, y, span);
    return { node: this.b.compare(fn, nx, ny), axes };
  }

  select(cond: Value, a: Value, b: Value, span: A.Ident['span']): Value {
    const [x, y] = this.promote(a, b);
    const c = this.asDtype(cond, 'bool');
    const [nc, nx, axes1] = this.align(c, x, span);
    const [nc2, ny, axes] = this.align({ node: nc, axes: axes1 }, y, span);
    const nx2 = this.align({ node: nx, axes: axes1 }, { node: ny, axes }, span)[0];
    return { node: this.b.select(nc2, nx2, ny), axes };
  }

  /** Same-shape elementwise op on whole nodes (internal helper, no broadcasting). */
  map2n(fn: Parameters<GraphBuilder['binary']>[0], x: NodeId, y: NodeId): NodeId {
    const xs = this.b.shape(x);
    const ys = this.b.shape(y);
    if (ys.length === 0 && xs.length > 0)
      y = this.b.broadcast(
        this.b.reshape(
          y,
          xs.map(() => 1),
        ),
        xs,
      );
    else if (xs.length === 0 && ys.length > 0)
      x = this.b.broadcast(
        this.b.reshape(
          x,
          ys.map(() => 1),
        ),
        ys,
      );
    return this.b.binary(fn, x, y);
  }

  promote(a: Value, b: Value): [Value, Value] {
    const ta = this.b.type(a.node).dtype;
    const tb = this.b.type(b.node).dtype;
    if (ta === tb) return [a, b];
    // A literal takes the other side's type (2 * x stays f32; i + 1 stays i32).
    if (a.literal && !b.literal && (tb !== 'i32' || Number.isInteger(this.literalValue(a)))) {
      return [
        this.asDtype(a, tb === 'bool' ? 'i32' : tb),
        this.asDtype(b, tb === 'bool' ? 'i32' : tb),
      ];
    }
    if (b.literal && !a.literal && (ta !== 'i32' || Number.isInteger(this.literalValue(b)))) {
      return [
        this.asDtype(a, ta === 'bool' ? 'i32' : ta),
        this.asDtype(b, ta === 'bool' ? 'i32' : ta),
      ];
    }
    const rank = (t: DType): number => ({ bool: 0, u32: 1, i32: 2, f32: 3 })[t];
    const to: DType =
      rank(ta) >= rank(tb) ? (ta === 'bool' ? 'i32' : ta) : tb === 'bool' ? 'i32' : tb;
    return [this.asDtype(a, to), this.asDtype(b, to)];
  }

  /** Both operands on one shape: index axes aligned, or whole tensors broadcast numpy-style. */
  align(a: Value, b: Value, span: A.Ident['span']): [NodeId, NodeId, readonly string[] | null] {
    if (a.axes !== null || b.axes !== null) {
      const ax = a.axes ?? [];
      const bx = b.axes ?? [];
      // Inside index notation whole values are scalars (checked when they were read), and every
      // value's axes are in the space's canonical order, so the union is too.
      if (!this.space) throw new Error('internal: index axes outside index notation');
      const all = this.space.union(ax, bx);
      const sizes = new Map<string, number>();
      ax.forEach((n, i) => sizes.set(n, this.b.shape(a.node)[i]));
      bx.forEach((n, i) => sizes.set(n, this.b.shape(b.node)[i]));
      const toAll = (v: NodeId, axes: readonly string[]): NodeId => {
        if (axes.length === all.length) return v;
        const withOnes = all.map((n) => (axes.includes(n) ? sizes.get(n)! : 1));
        return this.b.broadcast(
          this.b.reshape(v, withOnes),
          all.map((n) => sizes.get(n)!),
        );
      };
      return [toAll(a.node, ax), toAll(b.node, bx), all];
    }
    const sa = this.b.shape(a.node);
    const sb = this.b.shape(b.node);
    const rank = Math.max(sa.length, sb.length);
    const pa = [...Array(rank - sa.length).fill(1), ...sa];
    const pb = [...Array(rank - sb.length).fill(1), ...sb];
    const out = pa.map((d, i) => {
      if (d === pb[i] || pb[i] === 1) return d;
      if (d === 1) return pb[i];
      throw new LowerError(
        'E_SHAPE_MISMATCH',
        `shapes ${shapeText(sa)} and ${shapeText(sb)} cannot be combined (axis ${i}: ${d} vs ${pb[i]})`,
        span,
      );
    });
    const widen = (n: NodeId, padded: number[]): NodeId =>
      this.b.broadcast(this.b.reshape(n, padded), out);
    return [widen(a.node, pa), widen(b.node, pb), null];
  }
}

export function typeText(t: A.TensorTypeExpr): string {
  if (t.dims.length === 0) return t.dtype;
  const dims = t.dims.map((d) => (d.kind === 'DimName' ? d.name : String(d.size)));
  return `${t.dtype}[${dims.join(', ')}]`;
}

export function shapeText(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}
