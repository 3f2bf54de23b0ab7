// Bilinear resizing of images for views (data side of the flow: sample → view → batch), plus the
// keep-ratio size rule of multi-scale training. The sampling follows OpenCV's INTER_LINEAR (which
// mmcv's imresize uses): output pixel x samples the source at (x + 0.5)·(srcW/dstW) − 0.5, clamped at
// the borders, no antialiasing when shrinking. It is computed in double precision; the uint8 version
// rounds half up and clamps (OpenCV's own uint8 path uses 11-bit fixed-point weights and can differ
// by 1 grey level).

import type { RgbImage } from '../image.js';
import type { Size } from './geometry.js';

interface AxisTaps {
  readonly index0: Int32Array;
  readonly index1: Int32Array;
  readonly weight1: Float64Array;
}

function axisTaps(source: number, target: number): AxisTaps {
  const index0 = new Int32Array(target);
  const index1 = new Int32Array(target);
  const weight1 = new Float64Array(target);
  const scale = source / target;
  for (let i = 0; i < target; i++) {
    const f = (i + 0.5) * scale - 0.5;
    let s = Math.floor(f);
    let w = f - s;
    if (s < 0) {
      s = 0;
      w = 0;
    }
    if (s >= source - 1) {
      s = source - 1;
      w = 0;
    }
    index0[i] = s;
    index1[i] = Math.min(s + 1, source - 1);
    weight1[i] = w;
  }
  return { index0, index1, weight1 };
}

/**
 * Resizes an interleaved image with `channels` values per pixel (any numeric array) to
 * dstWidth × dstHeight, returning float32 values.
 */
export function resizeBilinear(
  src: ArrayLike<number>,
  width: number,
  height: number,
  channels: number,
  dstWidth: number,
  dstHeight: number,
): Float32Array {
  if (width < 1 || height < 1 || dstWidth < 1 || dstHeight < 1) {
    throw new RangeError(`cannot resize ${width}×${height} to ${dstWidth}×${dstHeight}`);
  }
  const xs = axisTaps(width, dstWidth);
  const ys = axisTaps(height, dstHeight);
  const out = new Float32Array(dstWidth * dstHeight * channels);
  const rowStride = width * channels;
  for (let y = 0; y < dstHeight; y++) {
    const r0 = ys.index0[y] * rowStride;
    const r1 = ys.index1[y] * rowStride;
    const wy = ys.weight1[y];
    for (let x = 0; x < dstWidth; x++) {
      const c0 = xs.index0[x] * channels;
      const c1 = xs.index1[x] * channels;
      const wx = xs.weight1[x];
      const o = (y * dstWidth + x) * channels;
      for (let c = 0; c < channels; c++) {
        const top = src[r0 + c0 + c] * (1 - wx) + src[r0 + c1 + c] * wx;
        const bottom = src[r1 + c0 + c] * (1 - wx) + src[r1 + c1 + c] * wx;
        out[o + c] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return out;
}

/** Bilinear resize of an 8-bit RGB image (rounded half up, clamped to 0..255). */
export function resizeRgb(image: RgbImage, dstWidth: number, dstHeight: number): RgbImage {
  if (dstWidth === image.width && dstHeight === image.height) {
    return { width: image.width, height: image.height, data: image.data.slice() };
  }
  const f = resizeBilinear(image.data, image.width, image.height, 3, dstWidth, dstHeight);
  const data = new Uint8Array(f.length);
  for (let i = 0; i < f.length; i++) data[i] = Math.min(255, Math.max(0, Math.floor(f[i] + 0.5)));
  return { width: dstWidth, height: dstHeight, data };
}

/**
 * The keep-ratio size for a scale (long, short), as mmcv's rescale_size: factor =
 * min(long / max(w, h), short / min(w, h)), new size = (⌊w·factor + 0.5⌋, ⌊h·factor + 0.5⌋).
 */
export function keepRatioSize(size: Size, scale: readonly [number, number]): Size {
  const long = Math.max(scale[0], scale[1]);
  const short = Math.min(scale[0], scale[1]);
  const factor = Math.min(
    long / Math.max(size.width, size.height),
    short / Math.min(size.width, size.height),
  );
  return {
    width: Math.max(1, Math.floor(size.width * factor + 0.5)),
    height: Math.max(1, Math.floor(size.height * factor + 0.5)),
  };
}
