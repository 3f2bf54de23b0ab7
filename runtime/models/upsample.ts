// Nearest-neighbour resizing of NCHW feature maps to a given size, exactly as PyTorch's
// `F.interpolate(x, size=(H, W), mode='nearest')` picks source pixels (the FPN's top-down path):
// source index = min(floor(i · float32(in / out)), in − 1), with float32 rounding. An integer
// upscale is a broadcast (repeat); other sizes gather rows and columns. A Tensor composition used by
// runtime/models/fpn.ts — no new primitive.
import { Tensor } from '../tensor/tensor.js';

/** PyTorch's nearest source index for each of `out` output positions. */
export function nearestSourceIndex(inSize: number, outSize: number): Int32Array {
  const index = new Int32Array(outSize);
  if (inSize === outSize) {
    for (let i = 0; i < outSize; i++) index[i] = i;
    return index;
  }
  const scale = Math.fround(inSize / outSize);
  for (let i = 0; i < outSize; i++) {
    index[i] = Math.min(Math.floor(Math.fround(i * scale)), inSize - 1);
  }
  return index;
}

function gatherAxis(x: Tensor, axis: 2 | 3, index: Int32Array): Tensor {
  const shape = [...x.shape];
  const idxShape = [1, 1, 1, 1];
  idxShape[axis] = index.length;
  shape[axis] = index.length;
  const idx = Tensor.from({ shape: idxShape, dtype: 'i32', data: index }, x.trace).broadcastTo(
    shape,
  );
  return x.gather(axis, idx);
}

function isRepeat(index: Int32Array, factor: number): boolean {
  return index.every((v, i) => v === Math.floor(i / factor));
}

/** `x` `[N, C, h, w]` resized to `[N, C, height, width]` by nearest neighbour. */
export function resizeNearest(x: Tensor, height: number, width: number): Tensor {
  const [n, c, h, w] = x.shape;
  if (h === height && w === width) return x;
  const rowIndex = nearestSourceIndex(h, height);
  const colIndex = nearestSourceIndex(w, width);
  const fy = height / h;
  const fx = width / w;
  // Integer factors (the FPN's ×2 in the usual case) repeat each pixel: a broadcast, no gather.
  if (
    Number.isInteger(fy) &&
    Number.isInteger(fx) &&
    isRepeat(rowIndex, fy) &&
    isRepeat(colIndex, fx)
  ) {
    return x
      .reshape([n, c, h, 1, w, 1])
      .broadcastTo([n, c, h, fy, w, fx])
      .reshape([n, c, height, width]);
  }
  const rows = h === height ? x : gatherAxis(x, 2, rowIndex);
  return w === width ? rows : gatherAxis(rows, 3, colIndex);
}
