// Per-region descriptors for selective search's hierarchical grouping (data side of the flow:
// colour-space image + initial segmentation → region sizes, boxes, neighbours, colour and texture
// histograms → grouping → proposals).
//
// Colour: 25 bins per channel over the channel's range. Texture: Gaussian derivatives (σ = 1) of
// each channel in 4 orientations (0°, 45°, 90°, 135°, steered from the x and y derivatives), each
// split into its positive and negative part, so 8 maps per channel, 10 bins each over 0..the map's
// maximum in this image (Uijlings et al. 2013, §3.2). Both histograms are L1-normalised per region.
//
// Pixel → bin indices depend only on the image, so `pixelBins` is computed once per colour space and
// reused for every segmentation scale; `regionFeatures` then only accumulates.

import type { ColourSpace } from './colour-space.js';
import { channelRanges } from './colour-space.js';
import { convolveSeparable, gaussianKernel, toPlanes } from './felzenszwalb.js';
import type { Segmentation } from './felzenszwalb.js';

export const COLOUR_BINS = 25;
export const TEXTURE_BINS = 10;
export const TEXTURE_ORIENTATIONS = 8;
const CHANNELS = 3;
export const COLOUR_HIST_SIZE = COLOUR_BINS * CHANNELS;
export const TEXTURE_HIST_SIZE = TEXTURE_BINS * TEXTURE_ORIENTATIONS * CHANNELS;

/** For every pixel, the colour-histogram slot of each channel and the texture slot of each map. */
export interface PixelBins {
  /** 3 entries per pixel, each an index into a region's colour histogram (0..74). */
  readonly colour: Uint8Array;
  /** 24 entries per pixel, each an index into a region's texture histogram (0..239). */
  readonly texture: Uint8Array;
}

export function pixelBins(
  data: Uint8Array,
  width: number,
  height: number,
  space: ColourSpace,
): PixelBins {
  const n = width * height;
  const ranges = channelRanges(space);
  const colour = new Uint8Array(n * CHANNELS);
  for (let c = 0; c < CHANNELS; c++) {
    const scale = COLOUR_BINS / ranges[c];
    const base = c * COLOUR_BINS;
    for (let i = 0; i < n; i++) {
      const bin = Math.min(COLOUR_BINS - 1, Math.floor(data[i * CHANNELS + c] * scale));
      colour[i * CHANNELS + c] = base + bin;
    }
  }

  const texture = new Uint8Array(n * CHANNELS * TEXTURE_ORIENTATIONS);
  const g = gaussianKernel(1);
  const dg = gaussianDerivativeKernel(1);
  const planes = toPlanes(data, width, height, CHANNELS);
  const diag = Math.SQRT1_2;
  const perPixel = CHANNELS * TEXTURE_ORIENTATIONS;
  for (let c = 0; c < CHANNELS; c++) {
    const gx = convolveSeparable(planes[c], width, height, dg, g);
    const gy = convolveSeparable(planes[c], width, height, g, dg);
    // Oriented derivatives 0°, 45°, 90°, 135° are steered from gx, gy; map 2o holds the positive
    // part of orientation o and map 2o + 1 the negative part.
    let max0 = 0;
    let min0 = 0;
    let max1 = 0;
    let min1 = 0;
    let max2 = 0;
    let min2 = 0;
    let max3 = 0;
    let min3 = 0;
    for (let i = 0; i < n; i++) {
      const d0 = gx[i];
      const d1 = (gx[i] + gy[i]) * diag;
      const d2 = gy[i];
      const d3 = (gy[i] - gx[i]) * diag;
      if (d0 > max0) max0 = d0;
      else if (d0 < min0) min0 = d0;
      if (d1 > max1) max1 = d1;
      else if (d1 < min1) min1 = d1;
      if (d2 > max2) max2 = d2;
      else if (d2 < min2) min2 = d2;
      if (d3 > max3) max3 = d3;
      else if (d3 < min3) min3 = d3;
    }
    const scales = Float64Array.from([max0, -min0, max1, -min1, max2, -min2, max3, -min3], (m) =>
      m > 0 ? TEXTURE_BINS / m : 0,
    );
    const slot = c * TEXTURE_ORIENTATIONS;
    const oriented = new Float64Array(4);
    for (let i = 0; i < n; i++) {
      oriented[0] = gx[i];
      oriented[1] = (gx[i] + gy[i]) * diag;
      oriented[2] = gy[i];
      oriented[3] = (gy[i] - gx[i]) * diag;
      const out = i * perPixel + slot;
      for (let o = 0; o < 4; o++) {
        const v = oriented[o];
        const pos = v > 0 ? Math.min(TEXTURE_BINS - 1, Math.floor(v * scales[2 * o])) : 0;
        const neg = v < 0 ? Math.min(TEXTURE_BINS - 1, Math.floor(-v * scales[2 * o + 1])) : 0;
        texture[out + 2 * o] = (slot + 2 * o) * TEXTURE_BINS + pos;
        texture[out + 2 * o + 1] = (slot + 2 * o + 1) * TEXTURE_BINS + neg;
      }
    }
  }
  return { colour, texture };
}

/** The derivative of a normalised Gaussian, radius ceil(4σ). */
function gaussianDerivativeKernel(sigma: number): Float32Array {
  const g = gaussianKernel(sigma);
  const radius = (g.length - 1) >> 1;
  const kernel = new Float32Array(g.length);
  // convolveSeparable correlates (tap t weighs pixel x + t), so taps t·g(t)/σ² give the derivative
  // of the Gaussian-smoothed image with the usual sign (a rising ramp gives a positive value).
  for (let t = -radius; t <= radius; t++)
    kernel[t + radius] = (t * g[t + radius]) / (sigma * sigma);
  return kernel;
}

/** Everything hierarchical grouping needs about the initial regions of one segmentation. */
export interface RegionFeatures {
  readonly count: number;
  readonly imageSize: number;
  /** Pixels per region. */
  readonly sizes: Float64Array;
  /** x1, y1, x2, y2 per region, x2/y2 exclusive. */
  readonly boxes: Int32Array;
  /** count × COLOUR_HIST_SIZE, L1-normalised rows. */
  readonly colour: Float32Array;
  /** count × TEXTURE_HIST_SIZE, L1-normalised rows. */
  readonly texture: Float32Array;
  /** Pairs (a, b), a < b, of 8-connected neighbouring regions, each once. */
  readonly neighbours: Int32Array;
}

export function regionFeatures(segmentation: Segmentation, bins: PixelBins): RegionFeatures {
  const { width, height, labels, count } = segmentation;
  const n = width * height;
  const sizes = new Float64Array(count);
  const boxes = new Int32Array(count * 4);
  for (let r = 0; r < count; r++) {
    boxes[r * 4] = width;
    boxes[r * 4 + 1] = height;
    boxes[r * 4 + 2] = 0;
    boxes[r * 4 + 3] = 0;
  }
  const colourCounts = new Uint32Array(count * COLOUR_HIST_SIZE);
  const textureCounts = new Uint32Array(count * TEXTURE_HIST_SIZE);
  const texturePerPixel = CHANNELS * TEXTURE_ORIENTATIONS;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const r = labels[p];
      sizes[r]++;
      const b = r * 4;
      if (x < boxes[b]) boxes[b] = x;
      if (y < boxes[b + 1]) boxes[b + 1] = y;
      if (x + 1 > boxes[b + 2]) boxes[b + 2] = x + 1;
      if (y + 1 > boxes[b + 3]) boxes[b + 3] = y + 1;
      const cBase = r * COLOUR_HIST_SIZE;
      for (let c = 0; c < CHANNELS; c++) colourCounts[cBase + bins.colour[p * CHANNELS + c]]++;
      const tBase = r * TEXTURE_HIST_SIZE;
      const tp = p * texturePerPixel;
      for (let m = 0; m < texturePerPixel; m++) textureCounts[tBase + bins.texture[tp + m]]++;
    }
  }
  const colour = new Float32Array(count * COLOUR_HIST_SIZE);
  const texture = new Float32Array(count * TEXTURE_HIST_SIZE);
  for (let r = 0; r < count; r++) {
    const cNorm = 1 / (sizes[r] * CHANNELS);
    for (let i = 0; i < COLOUR_HIST_SIZE; i++) {
      colour[r * COLOUR_HIST_SIZE + i] = colourCounts[r * COLOUR_HIST_SIZE + i] * cNorm;
    }
    const tNorm = 1 / (sizes[r] * texturePerPixel);
    for (let i = 0; i < TEXTURE_HIST_SIZE; i++) {
      texture[r * TEXTURE_HIST_SIZE + i] = textureCounts[r * TEXTURE_HIST_SIZE + i] * tNorm;
    }
  }
  return {
    count,
    imageSize: n,
    sizes,
    boxes,
    colour,
    texture,
    neighbours: neighbourPairs(segmentation),
  };
}

/** Distinct 8-connected region pairs (a < b), in first-seen raster order. */
function neighbourPairs(segmentation: Segmentation): Int32Array {
  const { width, height, labels, count } = segmentation;
  const seen = new Set<number>();
  const pairs: number[] = [];
  const note = (a: number, b: number): void => {
    if (a === b) return;
    const lo = a < b ? a : b;
    const hi = a < b ? b : a;
    const key = lo * count + hi;
    if (seen.has(key)) return;
    seen.add(key);
    pairs.push(lo, hi);
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const l = labels[p];
      if (x + 1 < width) note(l, labels[p + 1]);
      if (y + 1 < height) {
        note(l, labels[p + width]);
        if (x + 1 < width) note(l, labels[p + width + 1]);
        if (x > 0) note(l, labels[p + width - 1]);
      }
    }
  }
  return Int32Array.from(pairs);
}
