// Anchor and point generators: the priors that dense detection heads predict against. RetinaNet and
// RPN use anchor boxes (mmdet `AnchorGenerator`), FCOS uses points (mmdet `MlvlPointGenerator`).
// Runtime side of the flow; the CPU reference the GPU versions are checked against.
//
// Layout, as mmdet: for one level, location-major then anchor — row (y · W + x) · A + a — where
// the A base anchors are ratio-major (`scale_major=True`: for each ratio, every scale). The anchor
// of cell (x, y) is centred on (x·stride, y·stride) plus `centerOffset · stride` (0 for RetinaNet
// and RPN in mmdet 2.x); points sit at ((x + 0.5)·stride, (y + 0.5)·stride). No "+1" anywhere.

import { checkRange, DetectInputError } from './errors.js';
import type { BoxArray } from './boxes.js';

/** A feature map's size, (height, width) in cells. */
export interface FeatureMapSize {
  readonly height: number;
  readonly width: number;
}

/** An image's (or padded image's) size in pixels. */
export interface ImageSize {
  readonly height: number;
  readonly width: number;
}

export interface AnchorGeneratorConfig {
  /** Pixel stride of each level, e.g. 8, 16, 32, 64, 128 for P3–P7. */
  readonly strides: readonly number[];
  /** Height / width ratios, e.g. 0.5, 1, 2. */
  readonly ratios: readonly number[];
  /** Explicit scales (RPN: [8]); mutually exclusive with the octave parameters. */
  readonly scales?: readonly number[];
  /** RetinaNet: scales = octaveBaseScale · 2^(i / scalesPerOctave), i < scalesPerOctave. */
  readonly octaveBaseScale?: number;
  readonly scalesPerOctave?: number;
  /** Base anchor size per level; defaults to the strides. */
  readonly baseSizes?: readonly number[];
  /** Anchor centre inside a cell, as a fraction of the stride (mmdet 2.x default 0). */
  readonly centerOffset?: number;
}

/** RetinaNet (AlignDet §4): 9 anchors, octave base 4, 3 scales per octave, P3–P7. */
export const RETINANET_ANCHORS: AnchorGeneratorConfig = {
  strides: [8, 16, 32, 64, 128],
  ratios: [0.5, 1.0, 2.0],
  octaveBaseScale: 4,
  scalesPerOctave: 3,
};

/** RPN of Faster/Mask R-CNN (AlignDet §3.1): 3 anchors, scale 8, P2–P6. */
export const RPN_ANCHORS: AnchorGeneratorConfig = {
  strides: [4, 8, 16, 32, 64],
  ratios: [0.5, 1.0, 2.0],
  scales: [8],
};

const f32 = Math.fround;
const BLOCK = 'anchor generator';

/** The anchor scales, resolving the octave parameters (computed in float64, stored as float32, as mmdet). */
export function anchorScales(config: AnchorGeneratorConfig): Float32Array {
  const octave = config.octaveBaseScale !== undefined || config.scalesPerOctave !== undefined;
  if (config.scales !== undefined) {
    if (octave) {
      throw new DetectInputError(
        `${BLOCK}: give either scales or octaveBaseScale + scalesPerOctave, not both`,
      );
    }
    for (const s of config.scales) checkRange(s, Number.MIN_VALUE, Infinity, BLOCK, 'scale');
    return Float32Array.from(config.scales);
  }
  if (config.octaveBaseScale === undefined || config.scalesPerOctave === undefined) {
    throw new DetectInputError(
      `${BLOCK}: needs scales, or both octaveBaseScale and scalesPerOctave`,
    );
  }
  const perOctave = config.scalesPerOctave;
  if (!Number.isInteger(perOctave) || perOctave < 1) {
    throw new DetectInputError(
      `${BLOCK}: scalesPerOctave = ${perOctave} must be a positive integer`,
    );
  }
  checkRange(config.octaveBaseScale, Number.MIN_VALUE, Infinity, BLOCK, 'octaveBaseScale');
  const out = new Float32Array(perOctave);
  for (let i = 0; i < perOctave; i++) out[i] = 2 ** (i / perOctave) * config.octaveBaseScale;
  return out;
}

/** How many anchors each location of every level has (ratios × scales). */
export function anchorsPerLocation(config: AnchorGeneratorConfig): number {
  return config.ratios.length * anchorScales(config).length;
}

function checkLevels(config: AnchorGeneratorConfig, count: number): void {
  if (count !== config.strides.length) {
    throw new DetectInputError(
      `${BLOCK}: ${count} feature maps given for ${config.strides.length} levels (strides ${config.strides.join(', ')})`,
    );
  }
  if (config.baseSizes !== undefined && config.baseSizes.length !== config.strides.length) {
    throw new DetectInputError(
      `${BLOCK}: ${config.baseSizes.length} base sizes for ${config.strides.length} strides`,
    );
  }
  for (const s of config.strides) checkRange(s, Number.MIN_VALUE, Infinity, BLOCK, 'stride');
  for (const r of config.ratios) checkRange(r, Number.MIN_VALUE, Infinity, BLOCK, 'ratio');
}

/** The A base anchors of each level, centred on the cell origin (+ centre offset), rows of 4. */
export function baseAnchors(config: AnchorGeneratorConfig): BoxArray[] {
  checkLevels(config, config.strides.length);
  const scales = anchorScales(config);
  const offset = config.centerOffset ?? 0;
  checkRange(offset, 0, 1, BLOCK, 'centerOffset');
  return config.strides.map((stride, level) => {
    const size = config.baseSizes?.[level] ?? stride;
    const cx = f32(offset * size);
    const cy = cx;
    const out = new Float32Array(config.ratios.length * scales.length * 4);
    let row = 0;
    for (const ratio of config.ratios) {
      const hRatio = f32(Math.sqrt(f32(ratio)));
      const wRatio = f32(1 / hRatio);
      for (const scale of scales) {
        const w = f32(f32(size * wRatio) * scale);
        const h = f32(f32(size * hRatio) * scale);
        out[row * 4] = f32(cx - f32(0.5 * w));
        out[row * 4 + 1] = f32(cy - f32(0.5 * h));
        out[row * 4 + 2] = f32(cx + f32(0.5 * w));
        out[row * 4 + 3] = f32(cy + f32(0.5 * h));
        row++;
      }
    }
    return out;
  });
}

function checkFeatureMap(size: FeatureMapSize, level: number): void {
  for (const v of [size.height, size.width]) {
    if (!Number.isInteger(v) || v < 0) {
      throw new DetectInputError(
        `${BLOCK}: feature map ${level} has size ${size.height}×${size.width}; sizes must be non-negative integers`,
      );
    }
  }
}

/** All anchors of each level for the given feature map sizes: H·W·A rows of (x1, y1, x2, y2). */
export function gridAnchors(
  config: AnchorGeneratorConfig,
  featureMaps: readonly FeatureMapSize[],
): BoxArray[] {
  checkLevels(config, featureMaps.length);
  const bases = baseAnchors(config);
  return featureMaps.map((fm, level) => {
    checkFeatureMap(fm, level);
    const base = bases[level];
    const perLoc = base.length / 4;
    const stride = config.strides[level];
    const out = new Float32Array(fm.height * fm.width * perLoc * 4);
    let o = 0;
    for (let y = 0; y < fm.height; y++) {
      const sy = f32(y * stride);
      for (let x = 0; x < fm.width; x++) {
        const sx = f32(x * stride);
        for (let a = 0; a < perLoc; a++) {
          out[o++] = f32(base[a * 4] + sx);
          out[o++] = f32(base[a * 4 + 1] + sy);
          out[o++] = f32(base[a * 4 + 2] + sx);
          out[o++] = f32(base[a * 4 + 3] + sy);
        }
      }
    }
    return out;
  });
}

/**
 * Which cells lie on the image rather than on batch padding, per level (1 = valid), repeated for
 * `perLocation` priors per cell. mmdet: the first ceil(padH / stride) rows and ceil(padW / stride)
 * columns are valid, where `padShape` is this image's own size after its pad-to-32.
 */
export function validFlags(
  strides: readonly number[],
  featureMaps: readonly FeatureMapSize[],
  padShape: ImageSize,
  perLocation: number,
): Uint8Array[] {
  if (strides.length !== featureMaps.length) {
    throw new DetectInputError(
      `valid flags: ${featureMaps.length} feature maps for ${strides.length} strides`,
    );
  }
  return featureMaps.map((fm, level) => {
    checkFeatureMap(fm, level);
    const validH = Math.min(Math.ceil(padShape.height / strides[level]), fm.height);
    const validW = Math.min(Math.ceil(padShape.width / strides[level]), fm.width);
    const out = new Uint8Array(fm.height * fm.width * perLocation);
    for (let y = 0; y < validH; y++) {
      out.fill(1, y * fm.width * perLocation, (y * fm.width + validW) * perLocation);
    }
    return out;
  });
}

/** FCOS points of each level: H·W rows of (x, y) at ((x + offset)·stride, (y + offset)·stride). */
export function gridPoints(
  strides: readonly number[],
  featureMaps: readonly FeatureMapSize[],
  offset = 0.5,
): Float32Array[] {
  if (strides.length !== featureMaps.length) {
    throw new DetectInputError(
      `point generator: ${featureMaps.length} feature maps for ${strides.length} strides`,
    );
  }
  checkRange(offset, 0, 1, 'point generator', 'offset');
  return featureMaps.map((fm, level) => {
    checkFeatureMap(fm, level);
    const stride = strides[level];
    checkRange(stride, Number.MIN_VALUE, Infinity, 'point generator', 'stride');
    const out = new Float32Array(fm.height * fm.width * 2);
    let o = 0;
    for (let y = 0; y < fm.height; y++) {
      const py = f32(f32(y + offset) * stride);
      for (let x = 0; x < fm.width; x++) {
        out[o++] = f32(f32(x + offset) * stride);
        out[o++] = py;
      }
    }
    return out;
  });
}

/** Feature map sizes of each level for a (padded) batch input, by ceil division as the conv stack gives for stride-2 convs with padding. */
export function featureMapSizes(input: ImageSize, strides: readonly number[]): FeatureMapSize[] {
  return strides.map((s) => ({
    height: Math.ceil(input.height / s),
    width: Math.ceil(input.width / s),
  }));
}
