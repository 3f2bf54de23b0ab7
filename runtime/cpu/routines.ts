// CPU reference of the routine nodes (argsort, top_k, nms): the non-fusing algorithms of the IR.
// Deterministic tie rules are part of each routine's definition (see compiler/ir/types.ts).
import type { Routine } from '../../compiler/ir/index.js';
import type { TensorData } from './tensor-data.js';

function argsortLine(values: number[], descending: boolean): number[] {
  const idx = values.map((_, i) => i);
  // Array.prototype.sort is stable; NaN sorts last in either direction.
  idx.sort((a, b) => {
    const va = values[a];
    const vb = values[b];
    if (Number.isNaN(va) || Number.isNaN(vb))
      return Number(Number.isNaN(va)) - Number(Number.isNaN(vb));
    return descending ? vb - va : va - vb;
  });
  return idx;
}

/** Runs `fn` over every 1-D line of `shape` along `axis`, giving the flat offsets of the line. */
function forEachLine(
  shape: readonly number[],
  axis: number,
  fn: (offsets: number[]) => void,
): void {
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const len = shape[axis];
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      fn(Array.from({ length: len }, (_, j) => (o * len + j) * inner + i));
    }
}

function iou(b: ArrayLike<number>, i: number, j: number): number {
  const areaI = (b[i * 4 + 2] - b[i * 4]) * (b[i * 4 + 3] - b[i * 4 + 1]);
  const areaJ = (b[j * 4 + 2] - b[j * 4]) * (b[j * 4 + 3] - b[j * 4 + 1]);
  const w = Math.max(0, Math.min(b[i * 4 + 2], b[j * 4 + 2]) - Math.max(b[i * 4], b[j * 4]));
  const h = Math.max(
    0,
    Math.min(b[i * 4 + 3], b[j * 4 + 3]) - Math.max(b[i * 4 + 1], b[j * 4 + 1]),
  );
  const inter = w * h;
  return inter / (areaI + areaJ - inter);
}

export function runRoutine(
  routine: Routine,
  operands: readonly TensorData[],
  out: Int32Array,
): void {
  switch (routine.kind) {
    case 'argsort': {
      const x = operands[0];
      forEachLine(x.shape, routine.axis, (offsets) => {
        const order = argsortLine(
          offsets.map((o) => x.data[o]),
          routine.descending,
        );
        offsets.forEach((o, j) => (out[o] = order[j]));
      });
      return;
    }
    case 'top_k': {
      const x = operands[0];
      const len = x.shape[x.shape.length - 1];
      const lines = x.data.length / Math.max(len, 1);
      for (let l = 0; l < lines; l++) {
        const order = argsortLine(Array.from(x.data.subarray(l * len, (l + 1) * len)), true);
        for (let j = 0; j < routine.k; j++) out[l * routine.k + j] = order[j];
      }
      return;
    }
    case 'nms': {
      const [boxes, scores] = operands;
      const order = argsortLine(Array.from(scores.data), true);
      const kept: number[] = [];
      const suppressed = new Uint8Array(order.length);
      for (let a = 0; a < order.length && kept.length < routine.maxOutput; a++) {
        const i = order[a];
        if (suppressed[i]) continue;
        kept.push(i);
        for (let c = a + 1; c < order.length; c++) {
          const j = order[c];
          if (!suppressed[j] && iou(boxes.data, i, j) > routine.iouThreshold) suppressed[j] = 1;
        }
      }
      out.fill(-1);
      kept.forEach((k, i) => (out[i] = k));
      return;
    }
    default:
      return routine satisfies never;
  }
}
