// The BYOL-style colour ops of views (AlignDet's unused alternative pipeline `coco_byol.py`, kept as
// an option; aligndet-spec §2.3): hue shift, Gaussian blur and the colour-jitter factor draw, on
// 8-bit RGB images. Data side of the flow: sample → view → batch. Brightness, contrast and saturation
// reuse Pillow's ImageEnhance semantics (photometric.ts), as torchvision does for PIL images; the hue
// shift follows torchvision's adjust_hue on PIL images (Pillow HSV, hue channel shifted with uint8
// wrap-around). The blur is a true separable Gaussian with reflect-101 borders.

import type { RgbImage } from '../image.js';
import type { Rng } from '../../rng.js';
import { enhance } from './photometric.js';

const f32 = Math.fround;
const clip8 = (v: number): number => (v <= 0 ? 0 : v >= 255 ? 255 : v);

/** Pillow's RGB → HSV for one pixel (all three channels 0..255). */
export function rgbToHsv(r: number, g: number, b: number): [number, number, number] {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  if (max === min) return [0, 0, max];
  const cr = f32(max - min);
  const s = f32(cr / max);
  const rc = f32((max - r) / cr);
  const gc = f32((max - g) / cr);
  const bc = f32((max - b) / cr);
  let h: number;
  // `2.0 + rc - bc` has a double literal, so C evaluates it in double and stores a float.
  if (r === max) h = f32(bc - gc);
  else if (g === max) h = f32(2 + rc - bc);
  else h = f32(4 + gc - rc);
  h = f32((h / 6 + 1) % 1);
  return [clip8(Math.trunc(h * 255)), clip8(Math.trunc(s * 255)), max];
}

/** Pillow's HSV → RGB for one pixel. */
export function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  if (s === 0) return [v, v, v];
  const i = Math.floor((h * 6) / 255);
  const f = f32((h * 6) / 255 - i);
  const fs = f32(s / 255);
  // C's round(): halves away from zero; every value here is non-negative.
  const p = clip8(Math.round(v * (1 - fs)));
  const q = clip8(Math.round(v * (1 - f32(fs * f))));
  const t = clip8(Math.round(v * (1 - fs * (1 - f))));
  switch (i % 6) {
    case 0:
      return [v, t, p];
    case 1:
      return [q, v, p];
    case 2:
      return [p, v, t];
    case 3:
      return [p, q, v];
    case 4:
      return [t, p, v];
    default:
      return [v, p, q];
  }
}

/** Rotates hue by `factor` ∈ [−0.5, 0.5] of a turn (torchvision adjust_hue on a PIL image). */
export function adjustHue(image: RgbImage, factor: number): RgbImage {
  const shift = ((Math.trunc(factor * 255) % 256) + 256) % 256;
  const data = new Uint8Array(image.data.length);
  // Images repeat colours a lot; memoising per 24-bit colour keeps the exact conversion cheap.
  const memo = new Map<number, number>();
  for (let i = 0; i < data.length; i += 3) {
    const key = (image.data[i] << 16) | (image.data[i + 1] << 8) | image.data[i + 2];
    let out = memo.get(key);
    if (out === undefined) {
      const [h, s, v] = rgbToHsv(image.data[i], image.data[i + 1], image.data[i + 2]);
      const [r, g, b] = hsvToRgb((h + shift) & 0xff, s, v);
      out = (r << 16) | (g << 8) | b;
      memo.set(key, out);
    }
    data[i] = out >>> 16;
    data[i + 1] = (out >>> 8) & 0xff;
    data[i + 2] = out & 0xff;
  }
  return { width: image.width, height: image.height, data };
}

/** Normalised Gaussian taps, radius ⌈3σ⌉ (kernel size 2⌈3σ⌉ + 1). */
export function gaussianKernel(sigma: number): Float64Array {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const v = Math.exp(-(i * i) / (2 * sigma * sigma));
    k[i + radius] = v;
    sum += v;
  }
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/** Reflect-101 border index (…2 1 | 0 1 2 … n−1 | n−2 …). */
function reflect101(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = ((i % period) + period) % period;
  if (j >= n) j = period - j;
  return j;
}

/** For each output position 0..n−1 and tap offset −r..r, the reflect-101 source index. */
function tapIndex(n: number, r: number): Int32Array {
  const table = new Int32Array(n * (2 * r + 1));
  for (let i = 0; i < n; i++) {
    for (let t = -r; t <= r; t++) table[i * (2 * r + 1) + t + r] = reflect101(i + t, n);
  }
  return table;
}

/** Separable Gaussian blur of interleaved RGB values, in float (horizontal pass, then vertical). */
export function gaussianBlurFloat(
  src: ArrayLike<number>,
  width: number,
  height: number,
  sigma: number,
): Float32Array {
  const k = gaussianKernel(sigma);
  const taps = k.length;
  const r = (taps - 1) / 2;
  const xs = tapIndex(width, r);
  const ys = tapIndex(height, r);
  const tmp = new Float64Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    for (let x = 0; x < width; x++) {
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      for (let t = 0; t < taps; t++) {
        const at = row + xs[x * taps + t] * 3;
        const w = k[t];
        a0 += w * src[at];
        a1 += w * src[at + 1];
        a2 += w * src[at + 2];
      }
      const o = row + x * 3;
      tmp[o] = a0;
      tmp[o + 1] = a1;
      tmp[o + 2] = a2;
    }
  }
  const out = new Float32Array(width * height * 3);
  const stride = width * 3;
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < stride; i++) {
      let acc = 0;
      for (let t = 0; t < taps; t++) acc += k[t] * tmp[ys[y * taps + t] * stride + i];
      out[y * stride + i] = acc;
    }
  }
  return out;
}

export function gaussianBlur(image: RgbImage, sigma: number): RgbImage {
  const f = gaussianBlurFloat(image.data, image.width, image.height, sigma);
  const data = new Uint8Array(f.length);
  for (let i = 0; i < f.length; i++) data[i] = clip8(Math.floor(f[i] + 0.5));
  return { width: image.width, height: image.height, data };
}

export interface ColorJitterStrength {
  readonly brightness: number;
  readonly contrast: number;
  readonly saturation: number;
  readonly hue: number;
}

/**
 * torchvision ColorJitter: the four adjustments in a random order, each with a factor drawn
 * uniformly from [max(0, 1 − s), 1 + s] (hue: [−h, h]); a strength of 0 skips that adjustment.
 */
export function colorJitter(image: RgbImage, strength: ColorJitterStrength, rng: Rng): RgbImage {
  const order = rng.permutation(4);
  const factor = (s: number) => rng.uniformIn(Math.max(0, 1 - s), 1 + s);
  const b = strength.brightness > 0 ? factor(strength.brightness) : undefined;
  const c = strength.contrast > 0 ? factor(strength.contrast) : undefined;
  const s = strength.saturation > 0 ? factor(strength.saturation) : undefined;
  const h = strength.hue > 0 ? rng.uniformIn(-strength.hue, strength.hue) : undefined;
  let out = image;
  for (const which of order) {
    if (which === 0 && b !== undefined) out = enhance(out, 'brightness', b);
    else if (which === 1 && c !== undefined) out = enhance(out, 'contrast', c);
    else if (which === 2 && s !== undefined) out = enhance(out, 'color', s);
    else if (which === 3 && h !== undefined) out = adjustHue(out, h);
  }
  return out;
}
