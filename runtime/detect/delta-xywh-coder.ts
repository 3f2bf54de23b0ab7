// The DeltaXYWH box coder (mmdet `DeltaXYWHBBoxCoder`, R-CNN parameterisation): turns (prior box,
// target box) pairs into regression targets (dx, dy, dw, dh) and predicted deltas back into boxes.
// Used by RetinaNet (means 0, stds 1), the RPN (stds 1) and the RoI head (stds 0.1, 0.1, 0.2, 0.2).
// Runtime side of the flow; CPU reference for the GPU encode/decode.
//
//   dx = (gx − px) / pw,  dy = (gy − py) / ph,  dw = log(gw / pw),  dh = log(gh / ph)
//   normalised: (d − mean) / std
// where (px, py) is the prior's centre and pw = x2 − x1 (no "+1"). Decoding clamps dw and dh to
// ±|log(16/1000)| before exp (mmdet's `wh_ratio_clip`), and clips to the image when given its size.

import { boxCount, type BoxArray } from './boxes.js';
import { DetectInputError, rowCount } from './errors.js';
import type { ImageSize } from './anchors.js';

export interface DeltaXYWHConfig {
  readonly means: readonly [number, number, number, number];
  readonly stds: readonly [number, number, number, number];
}

export const UNIT_DELTAS: DeltaXYWHConfig = { means: [0, 0, 0, 0], stds: [1, 1, 1, 1] };
export const ROI_DELTAS: DeltaXYWHConfig = { means: [0, 0, 0, 0], stds: [0.1, 0.1, 0.2, 0.2] };

export interface DeltaDecodeOptions {
  /** Clip decoded boxes to [0, width] × [0, height] when given (mmdet `clip_border`). */
  readonly maxShape?: ImageSize;
  /** The smallest width/height change ratio allowed; dw, dh are clamped to ±|log(ratio)|. */
  readonly whRatioClip?: number;
}

const f32 = Math.fround;

function pairCheck(n: number, m: number, what: string): void {
  if (n !== m) throw new DetectInputError(`DeltaXYWH ${what}: ${n} priors but ${m} rows`);
}

/** Regression targets for each (prior, target) pair: rows of (dx, dy, dw, dh), normalised. */
export function encodeDeltaXYWH(
  priors: BoxArray,
  targets: BoxArray,
  config: DeltaXYWHConfig = UNIT_DELTAS,
): Float32Array {
  const n = boxCount(priors, 'priors');
  pairCheck(n, boxCount(targets, 'targets'), 'encode');
  const out = new Float32Array(4 * n);
  const { means, stds } = config;
  for (let i = 0; i < n; i++) {
    const o = 4 * i;
    const px = f32(f32(priors[o] + priors[o + 2]) * 0.5);
    const py = f32(f32(priors[o + 1] + priors[o + 3]) * 0.5);
    const pw = f32(priors[o + 2] - priors[o]);
    const ph = f32(priors[o + 3] - priors[o + 1]);
    const gx = f32(f32(targets[o] + targets[o + 2]) * 0.5);
    const gy = f32(f32(targets[o + 1] + targets[o + 3]) * 0.5);
    const gw = f32(targets[o + 2] - targets[o]);
    const gh = f32(targets[o + 3] - targets[o + 1]);
    const d = [
      f32(f32(gx - px) / pw),
      f32(f32(gy - py) / ph),
      f32(Math.log(f32(gw / pw))),
      f32(Math.log(f32(gh / ph))),
    ];
    for (let k = 0; k < 4; k++) out[o + k] = f32(f32(d[k] - f32(means[k])) / f32(stds[k]));
  }
  return out;
}

/**
 * Boxes from priors and predicted deltas. `deltas` has 4·C numbers per prior (C = 1 for
 * class-agnostic regression, C classes for the class-specific RoI head); the result has the same
 * layout, each group of 4 decoded against the same prior.
 */
export function decodeDeltaXYWH(
  priors: BoxArray,
  deltas: Float32Array,
  config: DeltaXYWHConfig = UNIT_DELTAS,
  options: DeltaDecodeOptions = {},
): Float32Array {
  const n = boxCount(priors, 'priors');
  const rows = rowCount(deltas, 4, 'DeltaXYWH decode', 'deltas');
  if (n === 0 && rows === 0) return new Float32Array(0);
  if (n === 0 || rows % n !== 0) {
    throw new DetectInputError(
      `DeltaXYWH decode: ${rows} delta rows do not divide among ${n} priors`,
    );
  }
  const perPrior = rows / n;
  const maxRatio = Math.abs(Math.log(options.whRatioClip ?? 16 / 1000));
  const { means, stds } = config;
  const out = new Float32Array(deltas.length);
  for (let r = 0; r < rows; r++) {
    const p = 4 * Math.floor(r / perPrior);
    const o = 4 * r;
    const d = [0, 0, 0, 0];
    for (let k = 0; k < 4; k++) d[k] = f32(f32(deltas[o + k] * f32(stds[k])) + f32(means[k]));
    const px = f32(f32(priors[p] + priors[p + 2]) * 0.5);
    const py = f32(f32(priors[p + 1] + priors[p + 3]) * 0.5);
    const pw = f32(priors[p + 2] - priors[p]);
    const ph = f32(priors[p + 3] - priors[p + 1]);
    const dw = Math.min(Math.max(d[2], -maxRatio), maxRatio);
    const dh = Math.min(Math.max(d[3], -maxRatio), maxRatio);
    const gx = f32(px + f32(pw * d[0]));
    const gy = f32(py + f32(ph * d[1]));
    const gw = f32(pw * f32(Math.exp(f32(dw))));
    const gh = f32(ph * f32(Math.exp(f32(dh))));
    let x1 = f32(gx - f32(gw * 0.5));
    let y1 = f32(gy - f32(gh * 0.5));
    let x2 = f32(gx + f32(gw * 0.5));
    let y2 = f32(gy + f32(gh * 0.5));
    if (options.maxShape !== undefined) {
      const { width, height } = options.maxShape;
      x1 = Math.min(Math.max(x1, 0), width);
      x2 = Math.min(Math.max(x2, 0), width);
      y1 = Math.min(Math.max(y1, 0), height);
      y2 = Math.min(Math.max(y2, 0), height);
    }
    out[o] = x1;
    out[o + 1] = y1;
    out[o + 2] = x2;
    out[o + 3] = y2;
  }
  return out;
}
