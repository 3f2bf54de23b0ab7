// Dense-head post-processing (mmdet `BaseDenseHead._get_bboxes_single` + `_bbox_post_process`):
// per level, keep scores above a threshold and the top `nmsPre` (prior, class) pairs, decode their
// boxes, then batched NMS over all levels and keep `maxPerImg`. Turns RetinaNet / FCOS outputs of
// one image into final detections. Runtime side of the flow; a host routine (data-dependent sizes).
//
// FCOS multiplies the class scores by sigmoid(centerness) *after* the threshold and top-k, before
// NMS, as mmdet 2.x does. Scores are probabilities already (sigmoid applied by the caller).

import type { ImageSize } from './anchors.js';
import { decodeDeltaXYWH, type DeltaXYWHConfig } from './delta-xywh-coder.js';
import { decodeDistance } from './distance-coder.js';
import { DetectInputError, rowCount } from './errors.js';
import { argsortDescending, batchedNms } from './nms.js';

export type PriorCoder =
  { readonly kind: 'delta-xywh'; readonly config: DeltaXYWHConfig } | { readonly kind: 'distance' };

export interface DensePostprocessConfig {
  /** Candidates kept per level before NMS; ≤ 0 keeps all (mmdet 2.x would drop the last one). */
  readonly nmsPre: number;
  /** Scores must be strictly greater than this. */
  readonly scoreThr: number;
  readonly iouThreshold: number;
  /** Final detections kept per image; ≤ 0 keeps all. */
  readonly maxPerImg: number;
  readonly classAgnostic?: boolean;
}

/** mmdet's RetinaNet / FCOS test config. */
export const DENSE_TEST_CONFIG: DensePostprocessConfig = {
  nmsPre: 1000,
  scoreThr: 0.05,
  iouThreshold: 0.5,
  maxPerImg: 100,
};

/** One level of one image's head outputs, priors in the level's order. */
export interface LevelOutputs {
  /** P × C class probabilities, row-major (prior, class). */
  readonly scores: Float32Array;
  /** P × 4 regression outputs (deltas or ltrb distances). */
  readonly regression: Float32Array;
  /** P priors: rows of 4 (anchors) for delta-xywh, rows of 2 (points) for distance. */
  readonly priors: Float32Array;
  /** P centerness probabilities (FCOS), multiplied into the scores after top-k. */
  readonly scoreFactors?: Float32Array;
}

export interface Detections {
  /** K × 4 boxes, by descending score. */
  readonly boxes: Float32Array;
  readonly scores: Float32Array;
  readonly labels: Int32Array;
}

export interface TopkResult {
  /** Kept scores, descending. */
  readonly scores: Float32Array;
  readonly labels: Int32Array;
  /** The prior index of each kept score. */
  readonly priorIndices: Int32Array;
}

const BLOCK = 'post-processing';

/** mmdet `filter_scores_and_topk`: (prior, class) pairs with score > thr, the best `topk` of them. */
export function filterScoresAndTopk(
  scores: Float32Array,
  numClasses: number,
  scoreThr: number,
  topk: number,
): TopkResult {
  const numPriors = rowCount(scores, numClasses, BLOCK, 'scores');
  const valid: number[] = [];
  for (let i = 0; i < numPriors * numClasses; i++) if (scores[i] > scoreThr) valid.push(i);
  const order = argsortDescending(scores, Int32Array.from(valid));
  const keep = topk > 0 ? Math.min(topk, order.length) : order.length;
  const out = {
    scores: new Float32Array(keep),
    labels: new Int32Array(keep),
    priorIndices: new Int32Array(keep),
  };
  for (let k = 0; k < keep; k++) {
    const flat = order[k];
    out.scores[k] = scores[flat];
    out.priorIndices[k] = Math.floor(flat / numClasses);
    out.labels[k] = flat % numClasses;
  }
  return out;
}

function gatherRows(values: Float32Array, width: number, rows: Int32Array): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, k) => out.set(values.subarray(r * width, (r + 1) * width), k * width));
  return out;
}

function decode(
  coder: PriorCoder,
  priors: Float32Array,
  regression: Float32Array,
  imageSize: ImageSize,
): Float32Array {
  switch (coder.kind) {
    case 'delta-xywh':
      return decodeDeltaXYWH(priors, regression, coder.config, { maxShape: imageSize });
    case 'distance':
      return decodeDistance(priors, regression, imageSize);
    default:
      return coder satisfies never;
  }
}

/**
 * Final detections of one image from its per-level head outputs. `imageSize` is the image's size
 * before padding (boxes are clipped to it); `scaleFactor` (x, y), when given, maps boxes back to the
 * original image by division (mmdet `rescale=True`).
 */
export function densePostprocess(
  levels: readonly LevelOutputs[],
  numClasses: number,
  coder: PriorCoder,
  config: DensePostprocessConfig,
  imageSize: ImageSize,
  scaleFactor?: readonly [number, number],
): Detections {
  const priorWidth = coder.kind === 'distance' ? 2 : 4;
  const boxes: Float32Array[] = [];
  const scores: number[] = [];
  const labels: number[] = [];
  levels.forEach((level, l) => {
    const numPriors = rowCount(level.priors, priorWidth, BLOCK, `priors of level ${l}`);
    if (
      level.scores.length !== numPriors * numClasses ||
      level.regression.length !== numPriors * 4
    ) {
      throw new DetectInputError(
        `${BLOCK}: level ${l} has ${numPriors} priors but ${level.scores.length} scores and ${level.regression.length} regression values (expected ${numPriors * numClasses} and ${numPriors * 4})`,
      );
    }
    if (level.scoreFactors !== undefined && level.scoreFactors.length !== numPriors) {
      throw new DetectInputError(
        `${BLOCK}: level ${l} has ${numPriors} priors but ${level.scoreFactors.length} score factors`,
      );
    }
    const top = filterScoresAndTopk(level.scores, numClasses, config.scoreThr, config.nmsPre);
    const priors = gatherRows(level.priors, priorWidth, top.priorIndices);
    const regression = gatherRows(level.regression, 4, top.priorIndices);
    boxes.push(decode(coder, priors, regression, imageSize));
    top.scores.forEach((s, k) => {
      const factor = level.scoreFactors?.[top.priorIndices[k]];
      scores.push(factor === undefined ? s : Math.fround(s * factor));
    });
    labels.push(...top.labels);
  });
  const allBoxes = new Float32Array(boxes.reduce((n, b) => n + b.length, 0));
  let offset = 0;
  for (const b of boxes) {
    allBoxes.set(b, offset);
    offset += b.length;
  }
  if (scaleFactor !== undefined) {
    for (let i = 0; i < allBoxes.length; i++) {
      allBoxes[i] = Math.fround(allBoxes[i] / scaleFactor[i % 2]);
    }
  }
  const allScores = Float32Array.from(scores);
  const allLabels = Int32Array.from(labels);
  let keep = batchedNms(allBoxes, allScores, allLabels, config.iouThreshold, config.classAgnostic);
  if (config.maxPerImg > 0) keep = keep.slice(0, config.maxPerImg);
  return {
    boxes: gatherRows(allBoxes, 4, keep),
    scores: Float32Array.from(keep, (i) => allScores[i]),
    labels: Int32Array.from(keep, (i) => allLabels[i]),
  };
}
