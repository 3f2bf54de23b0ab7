// FCOS point targets of one view of a batch (mmdet `FCOSHead.get_targets`, AlignDet §4 FCOS row),
// shared by the FCOS fine-tuning step (labels = class indices) and the FCOS box-domain step
// (labels = instance ids): every point of every level of the canvas is assigned by the FCOS rule
// (runtime/detect/fcos-targets.ts: inside the box, largest distance within the level's regress
// range, smallest area wins) to the image's boxes. Rows are image-major, then level, then location —
// the order the head's outputs are flattened in (runtime/models/dense-outputs.ts).
//
// Background rows get a stand-in target box of 2×2 pixels around their point (distances 1, 1, 1, 1,
// centerness target 1) and weight 0: the IoU and centerness losses are computed on every row of a
// fixed-shape graph, and a zero distance would make the centerness target 0/0 = NaN, which a zero
// weight does not cancel. Host side, before the traced step: batch → **point targets** → losses.

import type { Batch } from '../data/loader/batch.js';
import { featureMapSizes, gridPoints, type FeatureMapSize } from '../detect/anchors.js';
import { centernessTargets, fcosTargets, type FcosTargetConfig } from '../detect/fcos-targets.js';

export interface FcosPointTargets {
  /** Points per image (all levels). */
  readonly pointsPerImage: number;
  /** [N, 2] the points of one image (the same for every image of the canvas). */
  readonly points: Float32Array;
  /** [B·N] the assigned box's label (class index or instance id), −1 on background. */
  readonly labels: Int32Array;
  /** [B·N] 1 on positive points. */
  readonly positive: Uint8Array;
  /** [B·N, 4] the assigned box (x1, y1, x2, y2); a 2×2 box around the point on background. */
  readonly boxTargets: Float32Array;
  /** [B·N, 4] (l, t, r, b) to the assigned box; 1, 1, 1, 1 on background. */
  readonly distanceTargets: Float32Array;
  /** [B·N] the centerness target on positives, 0 on background. */
  readonly centerness: Float32Array;
  readonly numPositives: number;
}

/** The feature map sizes of a canvas for the FCOS strides (ceil division, as a stride-2 stack). */
export function fcosFeatureMaps(
  height: number,
  width: number,
  strides: readonly number[],
): FeatureMapSize[] {
  return featureMapSizes({ height, width }, strides);
}

/** The points of one image of the canvas, all levels concatenated (level-major). */
export function canvasPoints(
  strides: readonly number[],
  featureMaps: readonly FeatureMapSize[],
): { all: Float32Array; perLevel: Float32Array[] } {
  const perLevel = gridPoints(strides, featureMaps);
  const all = new Float32Array(perLevel.reduce((n, l) => n + l.length, 0));
  let at = 0;
  for (const l of perLevel) {
    all.set(l, at);
    at += l.length;
  }
  return { all, perLevel };
}

/**
 * Targets of view `view` of `batch`. `labelOf(image, row)` gives the label of box row `row` of
 * image `image` (a class index for fine-tuning, the instance id for box-domain pre-training).
 */
export function fcosPointTargets(
  batch: Batch,
  view: number,
  config: FcosTargetConfig,
  labelOf: (image: number, row: number) => number,
): FcosPointTargets {
  const v = batch.views[view];
  const maps = fcosFeatureMaps(v.height, v.width, config.strides);
  const { all: points, perLevel } = canvasPoints(config.strides, maps);
  const n = points.length / 2;
  const b = batch.size;
  const k = batch.maxBoxes;
  const labels = new Int32Array(b * n).fill(-1);
  const positive = new Uint8Array(b * n);
  const boxTargets = new Float32Array(b * n * 4);
  const distanceTargets = new Float32Array(b * n * 4).fill(1);
  const centerness = new Float32Array(b * n);
  let numPositives = 0;
  for (let i = 0; i < b; i++) {
    const rows: number[] = [];
    for (let r = 0; r < k; r++) if (batch.present[i * k + r] && v.boxMask[i * k + r]) rows.push(r);
    const gtBoxes = new Float32Array(rows.length * 4);
    const gtLabels = new Int32Array(rows.length);
    rows.forEach((r, g) => {
      gtBoxes.set(v.boxes.subarray((i * k + r) * 4, (i * k + r) * 4 + 4), g * 4);
      gtLabels[g] = labelOf(i, r);
    });
    const t = fcosTargets(config, perLevel, gtBoxes, gtLabels, -1);
    const centers = centernessTargets(t.bboxTargets);
    for (let p = 0; p < n; p++) {
      const row = i * n + p;
      const g = t.gtIndices[p];
      if (g < 0) {
        const [x, y] = [points[2 * p], points[2 * p + 1]];
        boxTargets.set([x - 1, y - 1, x + 1, y + 1], row * 4);
        continue;
      }
      labels[row] = t.labels[p];
      positive[row] = 1;
      boxTargets.set(gtBoxes.subarray(g * 4, g * 4 + 4), row * 4);
      distanceTargets.set(t.bboxTargets.subarray(p * 4, p * 4 + 4), row * 4);
      centerness[row] = centers[p];
      numPositives++;
    }
  }
  return {
    pointsPerImage: n,
    points,
    labels,
    positive,
    boxTargets,
    distanceTargets,
    centerness,
    numPositives,
  };
}

/** Per-level [low, high] regress ranges from the boundaries of `ranges: [-1, 64, 128, …]`. */
export function regressRangesOf(
  boundaries: readonly number[],
  unbounded: number,
): (readonly [number, number])[] {
  return boundaries.map((low, i) => [low, boundaries[i + 1] ?? unbounded] as const);
}
