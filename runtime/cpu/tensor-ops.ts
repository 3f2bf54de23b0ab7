// CPU reference of the structural primitives: reduce, argmax, matmul, gather, scatter_add, concat,
// iota and the movement views. Every CPU tensor is contiguous row-major, so each op walks the
// multi-indices of one tensor in order and finds the other element by strides — the index maps of
// the op definitions in compiler/ir/types.ts, written out directly.
import type { NodeOf } from '../../compiler/ir/index.js';
import { movementAsStridedView, sizeOf, stridesOf } from '../../compiler/ir/index.js';
import type { MovementNode } from '../../compiler/ir/index.js';
import { forEachIndex, offsetOf } from './index-walk.js';
import type { Storage, TensorData } from './tensor-data.js';

/** Row-major strides of `shape` with the given axes' strides set to 0 (they collapse to index 0). */
function collapsedStrides(shape: readonly number[], axes: readonly number[]): number[] {
  return stridesOf(shape).map((s, d) => (axes.includes(d) ? 0 : s));
}

export function reduce(node: NodeOf<'reduce'>, x: TensorData, out: Storage): void {
  const init = node.fn === 'sum' ? 0 : node.fn === 'max' ? -Infinity : Infinity;
  const acc = new Float64Array(out.length).fill(init);
  const outStrides = collapsedStrides(node.shape, node.axes);
  const fn = node.fn;
  forEachIndex(x.shape, (idx, i) => {
    const o = offsetOf(idx, outStrides);
    const v = x.data[i];
    switch (fn) {
      case 'sum':
        acc[o] += v;
        break;
      case 'max':
        acc[o] = Number.isNaN(v) || v > acc[o] ? v : acc[o];
        break;
      case 'min':
        acc[o] = Number.isNaN(v) || v < acc[o] ? v : acc[o];
        break;
      default:
        return fn satisfies never;
    }
  });
  // Integer sums wrap on store (Int32Array/Uint32Array conversion), as on the GPU.
  out.set(acc);
}

/** First maximum along the axis (NaN counts as the maximum, like PyTorch). */
export function argmax(node: NodeOf<'argmax'>, x: TensorData, out: Int32Array): void {
  const best = new Float64Array(out.length).fill(-Infinity);
  const seen = new Uint8Array(out.length);
  const outStrides = collapsedStrides(node.shape, [node.axis]);
  forEachIndex(x.shape, (idx, i) => {
    const o = offsetOf(idx, outStrides);
    const v = x.data[i];
    if (!seen[o] || v > best[o] || (Number.isNaN(v) && !Number.isNaN(best[o]))) {
      best[o] = v;
      out[o] = idx[node.axis];
      seen[o] = 1;
    }
  });
}

export function matmul(x: TensorData, y: TensorData, out: Float32Array | Float64Array): void {
  const r = x.shape.length;
  const [m, k] = [x.shape[r - 2], x.shape[r - 1]];
  const n = y.shape[r - 1];
  const batch = sizeOf(x.shape.slice(0, r - 2));
  for (let b = 0; b < batch; b++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++)
          acc += x.data[(b * m + i) * k + p] * y.data[(b * k + p) * n + j];
        out[(b * m + i) * n + j] = acc;
      }
}

export function gather(
  node: NodeOf<'gather'>,
  x: TensorData,
  index: TensorData,
  out: Storage,
): void {
  const size = x.shape[node.axis];
  const xStrides = stridesOf(x.shape);
  const axisStride = xStrides[node.axis];
  forEachIndex(index.shape, (idx, i) => {
    const at = index.data[i];
    if (at < 0 || at >= size) return; // out-of-range reads 0 (out is zero-filled)
    out[i] = x.data[offsetOf(idx, xStrides) + (at - idx[node.axis]) * axisStride];
  });
}

export function scatterAdd(
  node: NodeOf<'scatter_add'>,
  base: TensorData,
  index: TensorData,
  src: TensorData,
  out: Storage,
): void {
  const acc = Float64Array.from(base.data);
  const size = base.shape[node.axis];
  const baseStrides = stridesOf(base.shape);
  const axisStride = baseStrides[node.axis];
  forEachIndex(src.shape, (idx, i) => {
    const at = index.data[i];
    if (at < 0 || at >= size) return; // out-of-range indices are dropped
    acc[offsetOf(idx, baseStrides) + (at - idx[node.axis]) * axisStride] += src.data[i];
  });
  out.set(acc);
}

export function concat(node: NodeOf<'concat'>, parts: readonly TensorData[], out: Storage): void {
  const outStrides = stridesOf(node.shape);
  let offset = 0;
  for (const part of parts) {
    const shift = offset * outStrides[node.axis];
    forEachIndex(part.shape, (idx, i) => {
      out[offsetOf(idx, outStrides) + shift] = part.data[i];
    });
    offset += part.shape[node.axis];
  }
}

export function iota(node: NodeOf<'iota'>, out: Storage): void {
  forEachIndex(node.shape, (idx, i) => {
    out[i] = idx[node.axis];
  });
}

/** Movement ops read their (contiguous) operand through a strided view; pad adds a bounds test. */
export function movement(node: MovementNode, x: TensorData, out: Storage): void {
  if (node.op === 'pad') {
    const inStrides = stridesOf(x.shape);
    forEachIndex(node.shape, (idx, i) => {
      let src = 0;
      for (let d = 0; d < idx.length; d++) {
        const s = idx[d] - node.low[d];
        if (s < 0 || s >= x.shape[d]) {
          out[i] = node.value;
          return;
        }
        src += s * inStrides[d];
      }
      out[i] = x.data[src];
    });
    return;
  }
  const view = movementAsStridedView(node, x.shape);
  if (view === null) throw new RangeError(`internal: ${node.op} has no strided view`);
  if (sizeOf(node.shape) === 0) return;
  forEachIndex(node.shape, (idx, i) => {
    out[i] = x.data[view.offset + offsetOf(idx, view.strides)];
  });
}
