// CPU reference of the convolution-family primitives: conv2d, conv_transpose2d, conv2d_filter_grad,
// pool2d (max/avg) and max_pool2d_grad. Plain loops in NCHW, accumulating in f64, written to read
// like the formulas in compiler/ir/types.ts rather than to be fast.
import type { NodeOf } from '../../compiler/ir/index.js';
import type { TensorData } from './tensor-data.js';

type Out = Float32Array | Float64Array;

export function conv2d(node: NodeOf<'conv2d'>, x: TensorData, w: TensorData, out: Out): void {
  const [n, c, h, wd] = x.shape;
  const [o, cg, kh, kw] = w.shape;
  const [, , ho, wo] = node.shape;
  const og = o / node.groups;
  const [sh, sw] = node.stride;
  const [ph, pw] = node.padding;
  const [dh, dw] = node.dilation;
  let k = 0;
  for (let b = 0; b < n; b++)
    for (let oc = 0; oc < o; oc++) {
      const g = Math.floor(oc / og);
      for (let y = 0; y < ho; y++)
        for (let xo = 0; xo < wo; xo++) {
          let acc = 0;
          for (let ci = 0; ci < cg; ci++) {
            const cin = g * cg + ci;
            for (let i = 0; i < kh; i++) {
              const hy = y * sh - ph + i * dh;
              if (hy < 0 || hy >= h) continue;
              for (let j = 0; j < kw; j++) {
                const wx = xo * sw - pw + j * dw;
                if (wx < 0 || wx >= wd) continue;
                acc +=
                  x.data[((b * c + cin) * h + hy) * wd + wx] *
                  w.data[((oc * cg + ci) * kh + i) * kw + j];
              }
            }
          }
          out[k++] = acc;
        }
    }
}

export function convTranspose2d(
  node: NodeOf<'conv_transpose2d'>,
  x: TensorData,
  w: TensorData,
  out: Out,
): void {
  const [n, c, h, wd] = x.shape;
  const [, og, kh, kw] = w.shape;
  const [, o, ho, wo] = node.shape;
  const cg = c / node.groups;
  const [sh, sw] = node.stride;
  const [ph, pw] = node.padding;
  const [dh, dw] = node.dilation;
  const acc = new Float64Array(out.length);
  for (let b = 0; b < n; b++)
    for (let ci = 0; ci < c; ci++) {
      const g = Math.floor(ci / cg);
      for (let hi = 0; hi < h; hi++)
        for (let wi = 0; wi < wd; wi++) {
          const xv = x.data[((b * c + ci) * h + hi) * wd + wi];
          for (let oc = 0; oc < og; oc++) {
            const co = g * og + oc;
            for (let i = 0; i < kh; i++) {
              const y = hi * sh - ph + i * dh;
              if (y < 0 || y >= ho) continue;
              for (let j = 0; j < kw; j++) {
                const xo = wi * sw - pw + j * dw;
                if (xo < 0 || xo >= wo) continue;
                acc[((b * o + co) * ho + y) * wo + xo] +=
                  xv * w.data[((ci * og + oc) * kh + i) * kw + j];
              }
            }
          }
        }
    }
  out.set(acc);
}

export function conv2dFilterGrad(
  node: NodeOf<'conv2d_filter_grad'>,
  x: TensorData,
  dy: TensorData,
  out: Out,
): void {
  const [n, c, h, wd] = x.shape;
  const [, o, ho, wo] = dy.shape;
  const [kh, kw] = node.kernelSize;
  const cg = c / node.groups;
  const og = o / node.groups;
  const [sh, sw] = node.stride;
  const [ph, pw] = node.padding;
  const [dh, dw] = node.dilation;
  let k = 0;
  for (let oc = 0; oc < o; oc++) {
    const g = Math.floor(oc / og);
    for (let ci = 0; ci < cg; ci++) {
      const cin = g * cg + ci;
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++) {
          let acc = 0;
          for (let b = 0; b < n; b++)
            for (let y = 0; y < ho; y++) {
              const hy = y * sh - ph + i * dh;
              if (hy < 0 || hy >= h) continue;
              for (let xo = 0; xo < wo; xo++) {
                const wx = xo * sw - pw + j * dw;
                if (wx < 0 || wx >= wd) continue;
                acc +=
                  x.data[((b * c + cin) * h + hy) * wd + wx] *
                  dy.data[((b * o + oc) * ho + y) * wo + xo];
              }
            }
          out[k++] = acc;
        }
    }
  }
}

/** Visits the in-bounds positions of one pooling window in row-major order. */
function forWindow(
  node: NodeOf<'pool2d'> | NodeOf<'max_pool2d_grad'>,
  h: number,
  wd: number,
  y: number,
  xo: number,
  visit: (hy: number, wx: number) => void,
): void {
  for (let i = 0; i < node.kernel[0]; i++) {
    const hy = y * node.stride[0] - node.padding[0] + i;
    if (hy < 0 || hy >= h) continue;
    for (let j = 0; j < node.kernel[1]; j++) {
      const wx = xo * node.stride[1] - node.padding[1] + j;
      if (wx >= 0 && wx < wd) visit(hy, wx);
    }
  }
}

export function pool2d(node: NodeOf<'pool2d'>, x: TensorData, out: Out): void {
  const [n, c, h, wd] = x.shape;
  const [, , ho, wo] = node.shape;
  const area = node.kernel[0] * node.kernel[1];
  let k = 0;
  for (let plane = 0; plane < n * c; plane++)
    for (let y = 0; y < ho; y++)
      for (let xo = 0; xo < wo; xo++) {
        let acc = node.fn === 'max' ? -Infinity : 0;
        forWindow(node, h, wd, y, xo, (hy, wx) => {
          const v = x.data[(plane * h + hy) * wd + wx];
          if (node.fn === 'avg') acc += v;
          else if (v > acc || Number.isNaN(v)) acc = v;
        });
        out[k++] = node.fn === 'max' ? acc : acc / area;
      }
}

export function maxPool2dGrad(
  node: NodeOf<'max_pool2d_grad'>,
  x: TensorData,
  dy: TensorData,
  out: Out,
): void {
  const [n, c, h, wd] = x.shape;
  const [, , ho, wo] = dy.shape;
  const acc = new Float64Array(out.length);
  let k = 0;
  for (let plane = 0; plane < n * c; plane++)
    for (let y = 0; y < ho; y++)
      for (let xo = 0; xo < wo; xo++) {
        let best = -Infinity;
        let at = -1;
        forWindow(node, h, wd, y, xo, (hy, wx) => {
          const i = (plane * h + hy) * wd + wx;
          if (at < 0 || x.data[i] > best) {
            best = x.data[i];
            at = i;
          }
        });
        acc[at] += dy.data[k++];
      }
  out.set(acc);
}
