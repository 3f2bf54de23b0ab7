// Matching for the box-domain step (aligndet-spec §4, RetinaNet row; §2.4 instance ids): for ONE
// view of a two-view batch, assigns that view's anchors to that view's own pseudo boxes (MaxIoU),
// samples them (RandomSampler, per image), and gives every sampled anchor the instance id of its
// box (ids run across the whole batch, the same in both views) or the background label −1. For
// view 1 it also encodes the regression targets. Host side of the step, before the traced graph:
// batch → **targets** → traced step (forward, backward, update).
//
// Anchors and labels are flattened image-major and, within an image, level-major then location
// then anchor — the order the detector's outputs are flattened in — so a sample's embedding and
// its label always refer to the same anchor (the reference's RetinaNet mixed the two orders,
// spec §10.6). Background is a separate value (−1), never an id, so any box count is safe (§10.5).
// `sampledRows` then gathers each image's sampled anchors into a fixed number of rows, the only
// rows the losses see.

import type { Batch } from '../data/loader/batch.js';
import {
  featureMapSizes,
  gridAnchors,
  validFlags,
  type AnchorGeneratorConfig,
  type FeatureMapSize,
} from '../detect/anchors.js';
import { encodeDeltaXYWH, UNIT_DELTAS } from '../detect/delta-xywh-coder.js';
import { maxIouAssign, type MaxIoUAssignerConfig } from '../detect/max-iou-assigner.js';
import { randomSample, type RandomSamplerConfig } from '../detect/random-sampler.js';
import { SeededRng } from '../detect/rng.js';
import type { Rng } from '../rng.js';

export interface MatchingConfig {
  readonly anchors: AnchorGeneratorConfig;
  readonly assigner: MaxIoUAssignerConfig;
  readonly sampler: RandomSamplerConfig;
}

export interface ViewTargets {
  /** Anchors per image (all levels). */
  readonly anchorsPerImage: number;
  /** [B·N] instance id of the assigned box, −1 for background or unsampled. */
  readonly labels: Int32Array;
  /** [B·N] 1 where the anchor was sampled (positive or negative): it enters the loss. */
  readonly sampled: Uint8Array;
  /** [B·N, 4] DeltaXYWH targets (means 0, stds 1) of sampled positives, 0 elsewhere. */
  readonly regTargets: Float32Array;
  /** [B·N] 1 on sampled positives. */
  readonly regWeights: Float32Array;
  readonly numPositives: number;
}

/** The anchors of one image on a canvas, all levels concatenated (level-major). */
export function canvasAnchors(
  config: AnchorGeneratorConfig,
  featureMaps: readonly FeatureMapSize[],
): Float32Array {
  const levels = gridAnchors(config, featureMaps);
  const out = new Float32Array(levels.reduce((n, l) => n + l.length, 0));
  let at = 0;
  for (const l of levels) {
    out.set(l, at);
    at += l.length;
  }
  return out;
}

/** Targets of view `view` (0 = view 1) of `batch` on feature maps `featureMaps` of its canvas. */
export function viewTargets(
  batch: Batch,
  view: number,
  config: MatchingConfig,
  rng: Rng,
  featureMaps: readonly FeatureMapSize[] = featureMapSizes(
    { height: batch.views[view].height, width: batch.views[view].width },
    config.anchors.strides,
  ),
): ViewTargets {
  const v = batch.views[view];
  const anchors = canvasAnchors(config.anchors, featureMaps);
  const n = anchors.length / 4;
  const perLocation = n / featureMaps.reduce((s, f) => s + f.height * f.width, 0);
  const b = batch.size;
  const k = batch.maxBoxes;
  const labels = new Int32Array(b * n).fill(-1);
  const sampled = new Uint8Array(b * n);
  const regTargets = new Float32Array(b * n * 4);
  const regWeights = new Float32Array(b * n);
  let numPositives = 0;
  for (let i = 0; i < b; i++) {
    const rows: number[] = [];
    for (let r = 0; r < k; r++) if (batch.present[i * k + r] && v.boxMask[i * k + r]) rows.push(r);
    const gtBoxes = new Float32Array(rows.length * 4);
    const gtIds = new Int32Array(rows.length);
    rows.forEach((r, g) => {
      gtBoxes.set(v.boxes.subarray((i * k + r) * 4, (i * k + r) * 4 + 4), g * 4);
      gtIds[g] = batch.instanceIds[i * k + r];
    });
    const flags = validFlags(
      config.anchors.strides,
      featureMaps,
      { height: v.imageSizes[i * 2], width: v.imageSizes[i * 2 + 1] },
      perLocation,
    );
    const valid = new Uint8Array(n);
    let at = 0;
    for (const f of flags) {
      valid.set(f, at);
      at += f.length;
    }
    const assign = maxIouAssign(config.assigner, { priors: anchors, gtBoxes, validPriors: valid });
    // A fresh xoshiro generator per (step, view, image), seeded from the step's Philox stream.
    const sampler = new SeededRng(rng.child('sample', view, i).u32());
    const s = randomSample(config.sampler, assign, sampler);
    for (const a of s.negIndices) sampled[i * n + a] = 1;
    const pos = Array.from(s.posIndices);
    const priors = new Float32Array(pos.length * 4);
    const targets = new Float32Array(pos.length * 4);
    pos.forEach((a, p) => {
      const g = s.posGtIndices[p];
      labels[i * n + a] = gtIds[g];
      sampled[i * n + a] = 1;
      regWeights[i * n + a] = 1;
      priors.set(anchors.subarray(a * 4, a * 4 + 4), p * 4);
      targets.set(gtBoxes.subarray(g * 4, g * 4 + 4), p * 4);
    });
    const deltas = encodeDeltaXYWH(priors, targets, UNIT_DELTAS);
    pos.forEach((a, p) => regTargets.set(deltas.subarray(p * 4, p * 4 + 4), (i * n + a) * 4));
    numPositives += pos.length;
  }
  return { anchorsPerImage: n, labels, sampled, regTargets, regWeights, numPositives };
}

/** The sampled anchors of a view, gathered into a fixed number of rows per image. */
export interface SampledRows {
  /** Rows per image (the sampler's `num`, at most the anchors per image): a static shape. */
  readonly perImage: number;
  /** [B·S] flat anchor index b·N + a of each row (0 on padding rows). */
  readonly index: Int32Array;
  /** [B·S] instance id or −1. */
  readonly labels: Int32Array;
  /** [B·S] 1 on rows holding a sampled anchor, 0 on padding. */
  readonly valid: Uint8Array;
  /** [B·S, 4] and [B·S]: the regression targets and weights of the rows. */
  readonly regTargets: Float32Array;
  readonly regWeights: Float32Array;
}

/**
 * Gathers the sampled anchors of each image (ascending anchor order) into `perImage` rows, padded.
 * Only sampled anchors take part in the loss (spec §5.3), so the contrastive loss works on
 * B·S rows instead of every anchor of the batch.
 */
export function sampledRows(t: ViewTargets, batchSize: number, perImage: number): SampledRows {
  const n = t.anchorsPerImage;
  const s = Math.min(perImage, n);
  const index = new Int32Array(batchSize * s);
  const labels = new Int32Array(batchSize * s).fill(-1);
  const valid = new Uint8Array(batchSize * s);
  const regTargets = new Float32Array(batchSize * s * 4);
  const regWeights = new Float32Array(batchSize * s);
  for (let b = 0; b < batchSize; b++) {
    let row = b * s;
    for (let a = 0; a < n; a++) {
      const flat = b * n + a;
      if (t.sampled[flat] === 0) continue;
      if (row >= (b + 1) * s) throw new RangeError(`image ${b} has more than ${s} sampled anchors`);
      index[row] = flat;
      labels[row] = t.labels[flat];
      valid[row] = 1;
      regTargets.set(t.regTargets.subarray(flat * 4, flat * 4 + 4), row * 4);
      regWeights[row] = t.regWeights[flat];
      row++;
    }
  }
  return { perImage: s, index, labels, valid, regTargets, regWeights };
}
