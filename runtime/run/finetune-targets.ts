// Targets of the supervised RetinaNet step (mmdet's RetinaHead.get_targets, no sampling): for each
// image of a one-view batch, every anchor of the canvas is assigned by MaxIoU to the image's
// labelled boxes; positives get a one-hot class row and DeltaXYWH regression targets (means 0,
// stds 1) and, for the decoded-box form (mmdet `reg_decoded_bbox`), their box as box target;
// positives and negatives take part in the focal loss (weight 1), ignored anchors (IoU between the
// thresholds, or outside the image's content) take part in nothing. Both terms are divided by
// mmdet's avg_factor, the sum over images of max(#positives, 1). Rows are image-major, then level,
// location, anchor — the order the head's outputs are flattened in.
// Host side of the fine-tuning step: batch → **targets** → traced step.

import type { Batch } from '../data/loader/batch.js';
import { featureMapSizes, validFlags, type AnchorGeneratorConfig } from '../detect/anchors.js';
import { encodeDeltaXYWH, UNIT_DELTAS } from '../detect/delta-xywh-coder.js';
import { maxIouAssign, type MaxIoUAssignerConfig } from '../detect/max-iou-assigner.js';
import { canvasAnchors } from '../train/box-targets.js';

export interface FinetuneTargets {
  readonly anchorsPerImage: number;
  /** [B·N, C] one-hot class targets (all zero for background and ignored anchors). */
  readonly classTargets: Float32Array;
  /** [B·N] 1 for positive and negative anchors, 0 for ignored ones. */
  readonly classWeights: Float32Array;
  /** [B·N, 4] DeltaXYWH targets of positives, 0 elsewhere. */
  readonly regTargets: Float32Array;
  /** [B·N] 1 on positives. */
  readonly regWeights: Float32Array;
  /**
   * [B·N, 4] the matched box of positives (mmdet's targets with `reg_decoded_bbox`); elsewhere the
   * anchor itself, a finite stand-in that weight 0 keeps out of the loss and its gradient.
   */
  readonly boxTargets: Float32Array;
  /** [N, 4] the canvas's anchors (the same for every image). */
  readonly anchors: Float32Array;
  readonly numPositives: number;
  /** mmdet `get_targets`' num_total_pos: Σ over images of max(#positives, 1). */
  readonly avgFactor: number;
}

/**
 * Targets of view 0 of `batch`. `classOf` maps a dataset category id to its 0-based class (the
 * logit channel); a box whose category has none is a user error caught before training.
 */
export function finetuneTargets(
  batch: Batch,
  anchorsConfig: AnchorGeneratorConfig,
  assigner: MaxIoUAssignerConfig,
  numClasses: number,
  classOf: ReadonlyMap<number, number>,
): FinetuneTargets {
  const v = batch.views[0];
  const featureMaps = featureMapSizes({ height: v.height, width: v.width }, anchorsConfig.strides);
  const anchors = canvasAnchors(anchorsConfig, featureMaps);
  const n = anchors.length / 4;
  const perLocation = n / featureMaps.reduce((s, f) => s + f.height * f.width, 0);
  const b = batch.size;
  const k = batch.maxBoxes;
  const classTargets = new Float32Array(b * n * numClasses);
  const classWeights = new Float32Array(b * n);
  const regTargets = new Float32Array(b * n * 4);
  const regWeights = new Float32Array(b * n);
  const boxTargets = new Float32Array(b * n * 4);
  let numPositives = 0;
  let avgFactor = 0;
  for (let i = 0; i < b; i++) {
    const rows: number[] = [];
    for (let r = 0; r < k; r++) if (batch.present[i * k + r] && v.boxMask[i * k + r]) rows.push(r);
    const gtBoxes = new Float32Array(rows.length * 4);
    const gtClasses = new Int32Array(rows.length);
    rows.forEach((r, g) => {
      gtBoxes.set(v.boxes.subarray((i * k + r) * 4, (i * k + r) * 4 + 4), g * 4);
      const c = classOf.get(batch.labels[i * k + r]);
      if (c === undefined)
        throw new RangeError(`internal: category ${batch.labels[i * k + r]} has no class index`);
      gtClasses[g] = c;
    });
    const flags = validFlags(
      anchorsConfig.strides,
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
    const assign = maxIouAssign(assigner, { priors: anchors, gtBoxes, validPriors: valid });
    boxTargets.set(anchors, i * n * 4);
    const pos: number[] = [];
    for (let a = 0; a < n; a++) {
      const g = assign.gtIndices[a];
      if (g < 0) continue;
      classWeights[i * n + a] = 1;
      if (g > 0) pos.push(a);
    }
    const priors = new Float32Array(pos.length * 4);
    const targets = new Float32Array(pos.length * 4);
    pos.forEach((a, p) => {
      const g = assign.gtIndices[a] - 1;
      classTargets[(i * n + a) * numClasses + gtClasses[g]] = 1;
      regWeights[i * n + a] = 1;
      boxTargets.set(gtBoxes.subarray(g * 4, g * 4 + 4), (i * n + a) * 4);
      priors.set(anchors.subarray(a * 4, a * 4 + 4), p * 4);
      targets.set(gtBoxes.subarray(g * 4, g * 4 + 4), p * 4);
    });
    const deltas = encodeDeltaXYWH(priors, targets, UNIT_DELTAS);
    pos.forEach((a, p) => regTargets.set(deltas.subarray(p * 4, p * 4 + 4), (i * n + a) * 4));
    numPositives += pos.length;
    avgFactor += Math.max(pos.length, 1);
  }
  return {
    anchorsPerImage: n,
    classTargets,
    classWeights,
    regTargets,
    regWeights,
    boxTargets,
    anchors,
    numPositives,
    avgFactor,
  };
}
