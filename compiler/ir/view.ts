// Index maps of the movement ops (reshape, permute, slice, pad, broadcast): for an output element's
// multi-index, the operand element it reads (or null where `pad` supplies its constant). These are
// the "views" of the IR: the CPU reference evaluates them directly, and compiler/fuse composes them
// into load index expressions instead of materialising intermediate tensors.
import type { Node, Shape } from './types.js';
import { stridesOf } from './types.js';

/** Row-major flat offset of `index` in `shape`. */
export function ravel(index: readonly number[], shape: Shape): number {
  let flat = 0;
  for (let i = 0; i < shape.length; i++) flat = flat * shape[i] + index[i];
  return flat;
}

/** Multi-index of row-major flat offset `flat` in `shape`. */
export function unravel(flat: number, shape: Shape): number[] {
  const index = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = shape[i];
    index[i] = d === 0 ? 0 : flat % d;
    flat = d === 0 ? 0 : Math.floor(flat / d);
  }
  return index;
}

export type MovementNode = Extract<
  Node,
  { op: 'reshape' | 'permute' | 'slice' | 'pad' | 'broadcast' }
>;

/** The operand multi-index that output element `out` of movement node `node` reads; null = pad value. */
export function movementSourceIndex(
  node: MovementNode,
  inputShape: Shape,
  out: readonly number[],
): number[] | null {
  switch (node.op) {
    case 'reshape':
      return unravel(ravel(out, node.shape), inputShape);
    case 'permute': {
      const src = new Array<number>(out.length);
      node.perm.forEach((p, i) => (src[p] = out[i]));
      return src;
    }
    case 'slice':
      return out.map((o, i) => node.start[i] + o * node.step[i]);
    case 'pad': {
      const src = out.map((o, i) => o - node.low[i]);
      return src.every((s, i) => s >= 0 && s < inputShape[i]) ? src : null;
    }
    case 'broadcast':
      return out.map((o, i) => (inputShape[i] === 1 ? 0 : o));
    default:
      return node satisfies never;
  }
}

/** Strides (in operand elements) that realise a permute/slice/broadcast as a strided view of a
 * contiguous operand: element `out` is at `offset + Σ out[i]·strides[i]`. Null for pad (needs a
 * bounds test) and for reshape (a view only of contiguous data — it is, for a contiguous operand,
 * with the output's own contiguous strides). */
export function movementAsStridedView(
  node: MovementNode,
  inputShape: Shape,
): { offset: number; strides: number[] } | null {
  const inStrides = stridesOf(inputShape);
  switch (node.op) {
    case 'reshape':
      return { offset: 0, strides: stridesOf(node.shape) };
    case 'permute':
      return { offset: 0, strides: node.perm.map((p) => inStrides[p]) };
    case 'slice':
      return {
        offset: node.start.reduce((acc, s, i) => acc + s * inStrides[i], 0),
        strides: node.step.map((st, i) => st * inStrides[i]),
      };
    case 'broadcast':
      return { offset: 0, strides: inputShape.map((d, i) => (d === 1 ? 0 : inStrides[i])) };
    case 'pad':
      return null;
    default:
      return node satisfies never;
  }
}
