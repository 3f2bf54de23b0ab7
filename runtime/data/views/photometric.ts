// Photometric (colour) ops of views on 8-bit RGB images (data side of the flow: sample → view →
// batch). They change pixels only, never boxes. The semantics are Pillow's (ImageOps / ImageEnhance),
// which AlignDet's RandAug ops call, reproduced to the grey level: per-channel histograms for
// autocontrast and equalize, the ITU-R 601 fixed-point luma of convert('L'), float32 blending with
// truncation, and the 3×3 SMOOTH filter (rounded) with copied borders for sharpness. Checked against Pillow
// output in test/data/photometric.test.ts (fixtures from scripts/data_goldens.py).

import type { RgbImage } from '../image.js';

function mapLut(image: RgbImage, luts: readonly Uint8Array[]): RgbImage {
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < data.length; i += 3) {
    data[i] = luts[0][image.data[i]];
    data[i + 1] = luts[1][image.data[i + 1]];
    data[i + 2] = luts[2][image.data[i + 2]];
  }
  return { width: image.width, height: image.height, data };
}

function histograms(image: RgbImage): Uint32Array[] {
  const h = [new Uint32Array(256), new Uint32Array(256), new Uint32Array(256)];
  for (let i = 0; i < image.data.length; i += 3) {
    h[0][image.data[i]]++;
    h[1][image.data[i + 1]]++;
    h[2][image.data[i + 2]]++;
  }
  return h;
}

const identityLut = (): Uint8Array => Uint8Array.from({ length: 256 }, (_, i) => i);

/** Stretches each channel so its darkest value becomes 0 and its lightest 255 (ImageOps.autocontrast). */
export function autocontrast(image: RgbImage): RgbImage {
  const luts = histograms(image).map((h) => {
    let lo = 0;
    while (lo < 255 && h[lo] === 0) lo++;
    let hi = 255;
    while (hi > 0 && h[hi] === 0) hi--;
    if (hi <= lo) return identityLut();
    const scale = 255 / (hi - lo);
    const offset = -lo * scale;
    return Uint8Array.from({ length: 256 }, (_, i) =>
      Math.min(255, Math.max(0, Math.trunc(i * scale + offset))),
    );
  });
  return mapLut(image, luts);
}

/** Flattens each channel's histogram (ImageOps.equalize). */
export function equalize(image: RgbImage): RgbImage {
  const luts = histograms(image).map((h) => {
    const used = Array.from(h).filter((n) => n > 0);
    if (used.length <= 1) return identityLut();
    const total = used.reduce((a, b) => a + b, 0);
    const step = Math.floor((total - used[used.length - 1]) / 255);
    if (step === 0) return identityLut();
    const lut = new Uint8Array(256);
    let n = Math.floor(step / 2);
    for (let i = 0; i < 256; i++) {
      lut[i] = Math.min(255, Math.floor(n / step));
      n += h[i];
    }
    return lut;
  });
  return mapLut(image, luts);
}

/** Inverts every value ≥ threshold (ImageOps.solarize). */
export function solarize(image: RgbImage, threshold: number): RgbImage {
  const lut = Uint8Array.from({ length: 256 }, (_, i) => (i < threshold ? i : 255 - i));
  return mapLut(image, [lut, lut, lut]);
}

/** Keeps the top `bits` bits of each value (ImageOps.posterize). */
export function posterize(image: RgbImage, bits: number): RgbImage {
  const mask = (0xff << (8 - bits)) & 0xff;
  const lut = Uint8Array.from({ length: 256 }, (_, i) => i & mask);
  return mapLut(image, [lut, lut, lut]);
}

/** Luma as Pillow's convert('L'): (19595 R + 38470 G + 7471 B + 2^15) >> 16. */
export function lumaOf(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
}

/** The image as grey (luma copied to R, G and B), as convert('L').convert('RGB'). */
export function grayscale(image: RgbImage): RgbImage {
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < data.length; i += 3) {
    const l = lumaOf(image.data[i], image.data[i + 1], image.data[i + 2]);
    data[i] = l;
    data[i + 1] = l;
    data[i + 2] = l;
  }
  return { width: image.width, height: image.height, data };
}

const f32 = Math.fround;

/**
 * Image.blend(degenerate, image, alpha): degenerate + alpha·(image − degenerate) in float32,
 * truncated toward zero and clamped (Pillow computes with a C float and casts).
 */
export function blend(degenerate: RgbImage, image: RgbImage, alpha: number): RgbImage {
  const a = f32(alpha);
  const one = (d: number, v: number): number => {
    const x = f32(d + f32(a * (v - d)));
    return x <= 0 ? 0 : x >= 255 ? 255 : Math.trunc(x);
  };
  const data = new Uint8Array(image.data.length);
  if (data.length < 65536) {
    for (let i = 0; i < data.length; i++) data[i] = one(degenerate.data[i], image.data[i]);
  } else {
    // The result depends only on the (degenerate, image) byte pair: a 64 Ki table is exact and
    // cheaper than float32 emulation per value on large images.
    const table = new Uint8Array(65536);
    for (let d = 0; d < 256; d++) for (let v = 0; v < 256; v++) table[(d << 8) | v] = one(d, v);
    for (let i = 0; i < data.length; i++)
      data[i] = table[(degenerate.data[i] << 8) | image.data[i]];
  }
  return { width: image.width, height: image.height, data };
}

/** Pillow's ImageFilter.SMOOTH (3×3 kernel 1 1 1 / 1 5 1 / 1 1 1 over 13); border pixels are copied. */
export function smooth(image: RgbImage): RgbImage {
  const { width, height } = image;
  const src = image.data;
  const data = src.slice();
  const k = f32(1 / 13);
  const k5 = f32(5 / 13);
  const stride = width * 3;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      for (let c = 0; c < 3; c++) {
        const centre = y * stride + x * 3 + c;
        const below = centre + stride;
        const above = centre - stride;
        // Pillow starts the sum at 0.5 (so the final cast rounds), then adds row y+1, row y and
        // row y−1, each computed as ((left·k0 + centre·k1) + right·k2), all in float32.
        let sum = f32(0.5);
        sum = f32(
          sum + f32(f32(f32(src[below - 3] * k) + f32(src[below] * k)) + f32(src[below + 3] * k)),
        );
        sum = f32(
          sum +
            f32(f32(f32(src[centre - 3] * k) + f32(src[centre] * k5)) + f32(src[centre + 3] * k)),
        );
        sum = f32(
          sum + f32(f32(f32(src[above - 3] * k) + f32(src[above] * k)) + f32(src[above + 3] * k)),
        );
        data[centre] = sum <= 0 ? 0 : sum >= 255 ? 255 : Math.trunc(sum);
      }
    }
  }
  return { width, height, data };
}

export type EnhanceKind = 'color' | 'contrast' | 'brightness' | 'sharpness';

/** ImageEnhance.<Kind>(image).enhance(factor): blend from a degenerate image by `factor`. */
export function enhance(image: RgbImage, kind: EnhanceKind, factor: number): RgbImage {
  return blend(degenerateFor(image, kind), image, factor);
}

function degenerateFor(image: RgbImage, kind: EnhanceKind): RgbImage {
  switch (kind) {
    case 'color':
      return grayscale(image);
    case 'contrast': {
      let sum = 0;
      for (let i = 0; i < image.data.length; i += 3) {
        sum += lumaOf(image.data[i], image.data[i + 1], image.data[i + 2]);
      }
      const mean = Math.trunc(sum / (image.width * image.height) + 0.5);
      return {
        width: image.width,
        height: image.height,
        data: new Uint8Array(image.data.length).fill(mean),
      };
    }
    case 'brightness':
      return { width: image.width, height: image.height, data: new Uint8Array(image.data.length) };
    case 'sharpness':
      return smooth(image);
    default:
      return kind satisfies never;
  }
}

/** The nine RandAug ops of AlignDet's view pipeline (aligndet-spec §2.3). */
export const RAND_AUG_OPS = [
  'identity',
  'autocontrast',
  'equalize',
  'solarize',
  'color',
  'contrast',
  'brightness',
  'sharpness',
  'posterize',
] as const;
export type RandAugOp = (typeof RAND_AUG_OPS)[number];

/**
 * One RandAug op at integer magnitude m ∈ 1..9, with AlignDet's magnitude rules: solarize threshold
 * min(⌊25.6·m⌋, 255); enhance factor 0.1 + 1.8·m/10; posterize to 4 − ⌊0.4·m⌋ bits.
 */
export function randAug(image: RgbImage, op: RandAugOp, magnitude: number): RgbImage {
  switch (op) {
    case 'identity':
      return { width: image.width, height: image.height, data: image.data.slice() };
    case 'autocontrast':
      return autocontrast(image);
    case 'equalize':
      return equalize(image);
    case 'solarize':
      return solarize(image, Math.min(Math.trunc(magnitude * 25.6), 255));
    case 'color':
    case 'contrast':
    case 'brightness':
    case 'sharpness':
      return enhance(image, op, 0.1 + (1.8 * magnitude) / 10);
    case 'posterize':
      return posterize(image, 4 - Math.trunc(0.4 * magnitude));
    default:
      return op satisfies never;
  }
}
