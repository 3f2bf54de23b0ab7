// Colour-space conversions for selective search (data side of the flow: decoded RGB image →
// colour-space image → Felzenszwalb segmentation and region histograms → proposals).
//
// Selective search diversifies over colour spaces: the same image is segmented and grouped once in
// HSV and once in CIE Lab. Both are produced as interleaved 8-bit images in OpenCV's 8-bit
// conventions (H = degrees / 2 in 0..179, S and V in 0..255; L = L* · 255/100, a = a* + 128,
// b = b* + 128, sRGB with D65 white), so segmentation thresholds mean the same as in OpenCV.

import type { RgbImage } from '../image.js';

export type ColourSpace = 'hsv' | 'lab' | 'rgb';

/** The largest value of each channel in a converted image; histogram bins span 0..max. */
export function channelRanges(space: ColourSpace): readonly [number, number, number] {
  switch (space) {
    case 'hsv':
      return [180, 256, 256];
    case 'lab':
    case 'rgb':
      return [256, 256, 256];
    default:
      return space satisfies never;
  }
}

export function convertColourSpace(image: RgbImage, space: ColourSpace): Uint8Array {
  switch (space) {
    case 'hsv':
      return rgbToHsv(image.data);
    case 'lab':
      return rgbToLab(image.data);
    case 'rgb':
      return image.data;
    default:
      return space satisfies never;
  }
}

function rgbToHsv(rgb: Uint8Array): Uint8Array {
  const out = new Uint8Array(rgb.length);
  for (let i = 0; i < rgb.length; i += 3) {
    const r = rgb[i];
    const g = rgb[i + 1];
    const b = rgb[i + 2];
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    const delta = max - min;
    let hue = 0;
    if (delta > 0) {
      if (max === r) hue = (60 * (g - b)) / delta;
      else if (max === g) hue = 120 + (60 * (b - r)) / delta;
      else hue = 240 + (60 * (r - g)) / delta;
      if (hue < 0) hue += 360;
    }
    // Half-degrees, rounded; 360° wraps to 0 so the 0..179 range holds.
    const h = Math.round(hue / 2);
    out[i] = h >= 180 ? h - 180 : h;
    out[i + 1] = max === 0 ? 0 : Math.round((255 * delta) / max);
    out[i + 2] = max;
  }
  return out;
}

/** sRGB 8-bit → linear light, as a 256-entry table. */
const srgbToLinear = (() => {
  const table = new Float64Array(256);
  for (let v = 0; v < 256; v++) {
    const c = v / 255;
    table[v] = c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  }
  return table;
})();

// D65 reference white.
const WHITE_X = 0.950456;
const WHITE_Z = 1.088754;

function labF(t: number): number {
  return t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116;
}

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

function rgbToLab(rgb: Uint8Array): Uint8Array {
  const out = new Uint8Array(rgb.length);
  for (let i = 0; i < rgb.length; i += 3) {
    const r = srgbToLinear[rgb[i]];
    const g = srgbToLinear[rgb[i + 1]];
    const b = srgbToLinear[rgb[i + 2]];
    const x = (0.412453 * r + 0.35758 * g + 0.180423 * b) / WHITE_X;
    const y = 0.212671 * r + 0.71516 * g + 0.072169 * b;
    const z = (0.019334 * r + 0.119193 * g + 0.950227 * b) / WHITE_Z;
    const fx = labF(x);
    const fy = labF(y);
    const fz = labF(z);
    const lightness = y > 0.008856 ? 116 * fy - 16 : 903.3 * y;
    out[i] = clampByte((lightness * 255) / 100);
    out[i + 1] = clampByte(500 * (fx - fy) + 128);
    out[i + 2] = clampByte(200 * (fy - fz) + 128);
  }
  return out;
}
