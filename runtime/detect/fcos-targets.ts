// FCOS target assignment (mmdet `FCOSHead.get_targets` / `centerness_target`): which box, if any,
// each point of each level regresses, its (l, t, r, b) target and its centerness target. The
// matching step of FCOS (AlignDet §4). Runtime side of the flow; CPU reference.
//
// A point is a candidate for a box when it lies strictly inside it (all four distances > 0) — or,
// with centre sampling, strictly inside the box's centre region of radius `radius · stride` clipped
// to the box — and its largest distance lies in the level's regress range [low, high] (both ends
// inclusive, as mmdet). Among candidates the box of smallest area wins (ties → lowest box index).
// Strides default to the true P3–P7 strides 8–128: the reference's self-supervised config left them
// at mmdet's (4, …, 64), which halves every point coordinate (AlignDet §10.7); pass them explicitly
// to reproduce that.

import type { BoxArray } from './boxes.js';
import { boxCount } from './boxes.js';
import { checkRange, DetectInputError, rowCount } from './errors.js';

export interface FcosTargetConfig {
  readonly strides: readonly number[];
  /** Per level [low, high] of the largest side distance. */
  readonly regressRanges: readonly (readonly [number, number])[];
  readonly centerSampling?: boolean;
  readonly centerSampleRadius?: number;
  /** Divide the regression targets by the level's stride (mmdet `norm_on_bbox`). */
  readonly normOnBbox?: boolean;
}

/** mmdet's stand-in for "no upper bound". */
export const FCOS_INF = 1e8;

export const FCOS_TARGETS: FcosTargetConfig = {
  strides: [8, 16, 32, 64, 128],
  regressRanges: [
    [-1, 64],
    [64, 128],
    [128, 256],
    [256, 512],
    [512, FCOS_INF],
  ],
  centerSampling: false,
  centerSampleRadius: 1.5,
  normOnBbox: false,
};

export interface FcosTargets {
  /** Per point: the 0-based box it regresses, or −1 for background. */
  readonly gtIndices: Int32Array;
  /** Per point: the box's label, or `backgroundLabel` (mmdet: num_classes). */
  readonly labels: Int32Array;
  /** Per point: (l, t, r, b) to its box (divided by the stride with normOnBbox); zeros for background. */
  readonly bboxTargets: Float32Array;
}

const f32 = Math.fround;
const BLOCK = 'FCOS targets';

/**
 * Targets of one image. `pointsPerLevel[l]` holds level l's points as rows of (x, y); the result
 * concatenates the levels in order (level-major within the image).
 */
export function fcosTargets(
  config: FcosTargetConfig,
  pointsPerLevel: readonly Float32Array[],
  gtBoxes: BoxArray,
  gtLabels: Int32Array,
  backgroundLabel: number,
): FcosTargets {
  const levels = pointsPerLevel.length;
  if (config.strides.length !== levels || config.regressRanges.length !== levels) {
    throw new DetectInputError(
      `${BLOCK}: ${levels} point levels, ${config.strides.length} strides, ${config.regressRanges.length} regress ranges`,
    );
  }
  const numGts = boxCount(gtBoxes, 'ground-truth boxes');
  if (gtLabels.length !== numGts) {
    throw new DetectInputError(`${BLOCK}: ${gtLabels.length} labels for ${numGts} boxes`);
  }
  const radius = config.centerSampleRadius ?? 1.5;
  checkRange(radius, 0, Infinity, BLOCK, 'centerSampleRadius');
  const counts = pointsPerLevel.map((p, l) => rowCount(p, 2, BLOCK, `points of level ${l}`));
  const total = counts.reduce((a, b) => a + b, 0);
  const gtIndices = new Int32Array(total).fill(-1);
  const labels = new Int32Array(total).fill(backgroundLabel);
  const bboxTargets = new Float32Array(total * 4);
  const areas = new Float32Array(numGts);
  for (let g = 0; g < numGts; g++) {
    const o = 4 * g;
    areas[g] = f32(f32(gtBoxes[o + 2] - gtBoxes[o]) * f32(gtBoxes[o + 3] - gtBoxes[o + 1]));
  }
  const ltrb = [0, 0, 0, 0];
  let row = 0;
  for (let level = 0; level < levels; level++) {
    const points = pointsPerLevel[level];
    const [low, high] = config.regressRanges[level];
    const stride = config.strides[level];
    const reach = f32(stride * radius);
    for (let i = 0; i < counts[level]; i++, row++) {
      const x = points[2 * i];
      const y = points[2 * i + 1];
      let bestArea = FCOS_INF;
      let best = -1;
      for (let g = 0; g < numGts; g++) {
        const o = 4 * g;
        const l = f32(x - gtBoxes[o]);
        const t = f32(y - gtBoxes[o + 1]);
        const r = f32(gtBoxes[o + 2] - x);
        const b = f32(gtBoxes[o + 3] - y);
        let inside: boolean;
        if (config.centerSampling === true) {
          const cx = f32(f32(gtBoxes[o] + gtBoxes[o + 2]) / 2);
          const cy = f32(f32(gtBoxes[o + 1] + gtBoxes[o + 3]) / 2);
          const x1 = Math.max(f32(cx - reach), gtBoxes[o]);
          const y1 = Math.max(f32(cy - reach), gtBoxes[o + 1]);
          const x2 = Math.min(f32(cx + reach), gtBoxes[o + 2]);
          const y2 = Math.min(f32(cy + reach), gtBoxes[o + 3]);
          inside = Math.min(f32(x - x1), f32(y - y1), f32(x2 - x), f32(y2 - y)) > 0;
        } else {
          inside = Math.min(l, t, r, b) > 0;
        }
        const reachDistance = Math.max(l, t, r, b);
        const inRange = reachDistance >= f32(low) && reachDistance <= f32(high);
        // mmdet sets the area of non-candidates to INF and takes the first minimum, so a real box
        // of area ≥ 1e8 never wins either; keep that.
        if (inside && inRange && areas[g] < bestArea) {
          bestArea = areas[g];
          best = g;
        }
      }
      if (best < 0) continue;
      const o = 4 * best;
      ltrb[0] = f32(x - gtBoxes[o]);
      ltrb[1] = f32(y - gtBoxes[o + 1]);
      ltrb[2] = f32(gtBoxes[o + 2] - x);
      ltrb[3] = f32(gtBoxes[o + 3] - y);
      gtIndices[row] = best;
      labels[row] = gtLabels[best];
      for (let k = 0; k < 4; k++) {
        bboxTargets[4 * row + k] = config.normOnBbox === true ? f32(ltrb[k] / stride) : ltrb[k];
      }
    }
  }
  return { gtIndices, labels, bboxTargets };
}

/**
 * Centerness targets sqrt(min(l, r)/max(l, r) · min(t, b)/max(t, b)) of (l, t, r, b) rows
 * (positives only; a zero distance on both sides gives NaN, as mmdet).
 */
export function centernessTargets(ltrb: Float32Array): Float32Array {
  const n = rowCount(ltrb, 4, 'centerness', 'targets');
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const [l, t, r, b] = [ltrb[4 * i], ltrb[4 * i + 1], ltrb[4 * i + 2], ltrb[4 * i + 3]];
    const lr = f32(Math.min(l, r) / Math.max(l, r));
    const tb = f32(Math.min(t, b) / Math.max(t, b));
    out[i] = f32(Math.sqrt(f32(lr * tb)));
  }
  return out;
}
