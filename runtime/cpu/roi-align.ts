// CPU reference of roi_align and its feature gradient roi_align_grad (torchvision semantics:
// `aligned` shifts by half a pixel, `samplingRatio` ≤ 0 samples ceil(roi size / bins) points per
// bin, points outside [-1, size] contribute 0). Both walk the same sample points, so the gradient
// is exactly the transpose of the forward.
import type { NodeOf } from '../../compiler/ir/index.js';
import type { TensorData } from './tensor-data.js';

type RoiNode = NodeOf<'roi_align'> | NodeOf<'roi_align_grad'>;

/** Calls `visit(bin, featOffset, weight)` for every bilinear tap of every sample of ROI `k`;
 * `bin` is ph·PW+pw, `featOffset` is the (h·W + w) offset inside one channel plane of batch `b`. */
function forEachTap(
  node: RoiNode,
  rois: TensorData,
  k: number,
  h: number,
  w: number,
  visit: (b: number, bin: number, offset: number, weight: number) => void,
): void {
  const r = rois.data;
  const b = Math.trunc(r[k * 5]);
  const shift = node.aligned ? 0.5 : 0;
  const x1 = r[k * 5 + 1] * node.spatialScale - shift;
  const y1 = r[k * 5 + 2] * node.spatialScale - shift;
  const x2 = r[k * 5 + 3] * node.spatialScale - shift;
  const y2 = r[k * 5 + 4] * node.spatialScale - shift;
  let roiW = x2 - x1;
  let roiH = y2 - y1;
  if (!node.aligned) {
    roiW = Math.max(roiW, 1);
    roiH = Math.max(roiH, 1);
  }
  const [pooledH, pooledW] = node.outputSize;
  const binH = roiH / pooledH;
  const binW = roiW / pooledW;
  const gridH = node.samplingRatio > 0 ? node.samplingRatio : Math.ceil(roiH / pooledH);
  const gridW = node.samplingRatio > 0 ? node.samplingRatio : Math.ceil(roiW / pooledW);
  const count = Math.max(gridH * gridW, 1);
  for (let ph = 0; ph < pooledH; ph++)
    for (let pw = 0; pw < pooledW; pw++) {
      const bin = ph * pooledW + pw;
      for (let iy = 0; iy < gridH; iy++) {
        const y = y1 + ph * binH + ((iy + 0.5) * binH) / gridH;
        for (let ix = 0; ix < gridW; ix++) {
          const x = x1 + pw * binW + ((ix + 0.5) * binW) / gridW;
          if (y < -1 || y > h || x < -1 || x > w) continue;
          let yy = Math.max(y, 0);
          let xx = Math.max(x, 0);
          let yLow = Math.floor(yy);
          let xLow = Math.floor(xx);
          let yHigh = yLow + 1;
          let xHigh = xLow + 1;
          if (yLow >= h - 1) {
            yLow = yHigh = h - 1;
            yy = yLow;
          }
          if (xLow >= w - 1) {
            xLow = xHigh = w - 1;
            xx = xLow;
          }
          const ly = yy - yLow;
          const lx = xx - xLow;
          const hy = 1 - ly;
          const hx = 1 - lx;
          visit(b, bin, yLow * w + xLow, (hy * hx) / count);
          visit(b, bin, yLow * w + xHigh, (hy * lx) / count);
          visit(b, bin, yHigh * w + xLow, (ly * hx) / count);
          visit(b, bin, yHigh * w + xHigh, (ly * lx) / count);
        }
      }
    }
}

export function roiAlign(
  node: NodeOf<'roi_align'>,
  feat: TensorData,
  rois: TensorData,
  out: Float32Array | Float64Array,
): void {
  const [n, c, h, w] = feat.shape;
  const [k, , pooledH, pooledW] = node.shape;
  const bins = pooledH * pooledW;
  const acc = new Float64Array(out.length);
  for (let roi = 0; roi < k; roi++) {
    forEachTap(node, rois, roi, h, w, (b, bin, offset, weight) => {
      if (b < 0 || b >= n) return;
      for (let ch = 0; ch < c; ch++) {
        acc[(roi * c + ch) * bins + bin] += weight * feat.data[(b * c + ch) * h * w + offset];
      }
    });
  }
  out.set(acc);
}

export function roiAlignGrad(
  node: NodeOf<'roi_align_grad'>,
  rois: TensorData,
  dy: TensorData,
  out: Float32Array | Float64Array,
): void {
  const [n, c, h, w] = node.shape;
  const [k, , pooledH, pooledW] = dy.shape;
  const bins = pooledH * pooledW;
  const acc = new Float64Array(out.length);
  for (let roi = 0; roi < k; roi++) {
    forEachTap(node, rois, roi, h, w, (b, bin, offset, weight) => {
      if (b < 0 || b >= n) return;
      for (let ch = 0; ch < c; ch++) {
        acc[(b * c + ch) * h * w + offset] += weight * dy.data[(roi * c + ch) * bins + bin];
      }
    });
  }
  out.set(acc);
}
