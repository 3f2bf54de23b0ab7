// The MaxIoU assigner (mmdet `MaxIoUAssigner`): decides for every prior box (anchor, proposal)
// whether it is background, ignored, or a positive for one ground-truth / pseudo box. The matching
// step of RetinaNet, RPN and the RoI head (AlignDet §4). Runtime side of the flow; CPU reference.
//
// Steps, in mmdet's order (the order matters):
//   1. every prior starts ignored (−1);
//   2. priors whose best IoU is in [0, neg) — or in [neg₀, neg₁) for a pair — become background (0);
//   3. priors whose best IoU is ≥ pos become positive for their best box (index + 1; ties → lowest
//      box index);
//   4. low-quality matches: every box whose best IoU is ≥ minPosIou claims its best prior (all
//      priors tied at that IoU when `gtMaxAssignAll`), overriding step 3; later boxes win.
// One deliberate difference from mmdet: step 4 skips a box whose best IoU is 0. In mmdet, with
// minPosIou = 0 (RetinaNet) such a box (degenerate, or off every prior) would claim every prior with
// IoU 0 — nearly the whole image — as a positive. Such a match carries no information.

import { boxCount, overlapMatrix, type BoxArray } from './boxes.js';
import { checkRange, DetectInputError } from './errors.js';

export interface MaxIoUAssignerConfig {
  readonly posIouThr: number;
  /** One threshold (background below it) or a [low, high) range. */
  readonly negIouThr: number | readonly [number, number];
  readonly minPosIou?: number;
  readonly gtMaxAssignAll?: boolean;
  readonly matchLowQuality?: boolean;
  /** Priors overlapping an ignore box by more than this IoF are ignored; ≤ 0 turns it off. */
  readonly ignoreIofThr?: number;
  /** IoF relative to the prior (true) or to the ignore box (false). */
  readonly ignoreWrtCandidates?: boolean;
}

/** RetinaNet (AlignDet §4): pos 0.5, neg 0.4, min_pos_iou 0, low-quality matches to all tied. */
export const RETINANET_ASSIGNER: MaxIoUAssignerConfig = {
  posIouThr: 0.5,
  negIouThr: 0.4,
  minPosIou: 0,
};

/** RPN (AlignDet §4): pos 0.7, neg 0.3, min_pos_iou 0.3. */
export const RPN_ASSIGNER: MaxIoUAssignerConfig = {
  posIouThr: 0.7,
  negIouThr: 0.3,
  minPosIou: 0.3,
};

/** RoI head (AlignDet §4): 0.5 / 0.5 / 0.5, low-quality to the single best prior. */
export const ROI_ASSIGNER: MaxIoUAssignerConfig = {
  posIouThr: 0.5,
  negIouThr: 0.5,
  minPosIou: 0.5,
  gtMaxAssignAll: false,
};

export interface AssignResult {
  readonly numGts: number;
  /** Per prior: −1 ignored, 0 background, k + 1 positive for box k (mmdet's encoding). */
  readonly gtIndices: Int32Array;
  /** Per prior: its best IoU over all boxes (0 when there are no boxes). */
  readonly maxOverlaps: Float32Array;
  /** Per prior: the label of its box when positive, else −1; absent when no labels were given. */
  readonly labels: Int32Array | undefined;
}

export interface AssignInputs {
  readonly priors: BoxArray;
  readonly gtBoxes: BoxArray;
  readonly gtLabels?: Int32Array;
  readonly gtBoxesIgnore?: BoxArray;
  /**
   * Per prior, 1 when it may be assigned (see anchors.ts `validFlags`). Invalid priors end ignored
   * (−1) with max overlap 0 and take no part in matching — the same as mmdet assigning only the
   * inside anchors and scattering the result back.
   */
  readonly validPriors?: Uint8Array;
}

const BLOCK = 'MaxIoU assigner';

function checkConfig(config: MaxIoUAssignerConfig): void {
  checkRange(config.posIouThr, 0, 1, BLOCK, 'posIouThr');
  if (typeof config.negIouThr === 'number') {
    checkRange(config.negIouThr, 0, 1, BLOCK, 'negIouThr');
  } else {
    checkRange(config.negIouThr[0], -1, 1, BLOCK, 'negIouThr[0]');
    checkRange(config.negIouThr[1], config.negIouThr[0], 1, BLOCK, 'negIouThr[1]');
  }
  checkRange(config.minPosIou ?? 0, 0, 1, BLOCK, 'minPosIou');
}

/** Assigns each prior to a box, background, or ignore. */
export function maxIouAssign(config: MaxIoUAssignerConfig, inputs: AssignInputs): AssignResult {
  checkConfig(config);
  const numPriors = boxCount(inputs.priors, 'priors');
  const numGts = boxCount(inputs.gtBoxes, 'ground-truth boxes');
  if (inputs.gtLabels !== undefined && inputs.gtLabels.length !== numGts) {
    throw new DetectInputError(
      `${BLOCK}: ${inputs.gtLabels.length} labels for ${numGts} ground-truth boxes`,
    );
  }
  // overlaps[g · numPriors + p], as mmdet's (gts × priors) matrix.
  const overlaps = overlapMatrix(inputs.gtBoxes, inputs.priors, 'iou');
  const ignoreThr = config.ignoreIofThr ?? -1;
  const ignore = inputs.gtBoxesIgnore;
  if (ignoreThr > 0 && ignore !== undefined && ignore.length > 0 && numPriors > 0) {
    const numIgnore = boxCount(ignore, 'ignore boxes');
    const wrtCandidates = config.ignoreWrtCandidates ?? true;
    const iof = wrtCandidates
      ? overlapMatrix(inputs.priors, ignore, 'iof')
      : overlapMatrix(ignore, inputs.priors, 'iof');
    for (let p = 0; p < numPriors; p++) {
      let best = -Infinity;
      for (let k = 0; k < numIgnore; k++) {
        best = Math.max(best, wrtCandidates ? iof[p * numIgnore + k] : iof[k * numPriors + p]);
      }
      if (best > ignoreThr) for (let g = 0; g < numGts; g++) overlaps[g * numPriors + p] = -1;
    }
  }
  const valid = inputs.validPriors;
  if (valid !== undefined) {
    if (valid.length !== numPriors) {
      throw new DetectInputError(`${BLOCK}: ${valid.length} valid flags for ${numPriors} priors`);
    }
    for (let p = 0; p < numPriors; p++) {
      if (valid[p] === 0) for (let g = 0; g < numGts; g++) overlaps[g * numPriors + p] = -1;
    }
  }
  const result = assignWrtOverlaps(config, overlaps, numGts, numPriors, inputs.gtLabels);
  if (valid !== undefined) {
    for (let p = 0; p < numPriors; p++) {
      if (valid[p] === 0) {
        result.gtIndices[p] = -1;
        result.maxOverlaps[p] = 0;
      }
    }
  }
  return result;
}

/** Step 1–4 above on a precomputed (gts × priors) overlap matrix. */
export function assignWrtOverlaps(
  config: MaxIoUAssignerConfig,
  overlaps: Float32Array,
  numGts: number,
  numPriors: number,
  gtLabels?: Int32Array,
): AssignResult {
  if (overlaps.length !== numGts * numPriors) {
    throw new DetectInputError(
      `${BLOCK}: overlap matrix has ${overlaps.length} entries, expected ${numGts}×${numPriors}`,
    );
  }
  const gtIndices = new Int32Array(numPriors).fill(-1);
  const maxOverlaps = new Float32Array(numPriors);
  if (numGts === 0 || numPriors === 0) {
    if (numGts === 0) gtIndices.fill(0);
    const labels = gtLabels === undefined ? undefined : new Int32Array(numPriors).fill(-1);
    return { numGts, gtIndices, maxOverlaps, labels };
  }
  // One pass over the (gts × priors) matrix in memory order: per-prior best box (first box wins
  // ties, as torch's max) and per-box best prior.
  const argmaxOverlaps = new Int32Array(numPriors);
  maxOverlaps.set(overlaps.subarray(0, numPriors));
  const gtMax = new Float32Array(numGts);
  const gtArgmax = new Int32Array(numGts);
  for (let g = 0; g < numGts; g++) {
    const row = g * numPriors;
    let best = overlaps[row];
    let arg = 0;
    for (let p = 0; p < numPriors; p++) {
      const v = overlaps[row + p];
      if (v > best) {
        best = v;
        arg = p;
      }
      if (g > 0 && v > maxOverlaps[p]) {
        maxOverlaps[p] = v;
        argmaxOverlaps[p] = g;
      }
    }
    gtMax[g] = best;
    gtArgmax[g] = arg;
  }

  const [negLow, negHigh] =
    typeof config.negIouThr === 'number' ? [0, config.negIouThr] : config.negIouThr;
  for (let p = 0; p < numPriors; p++) {
    const v = maxOverlaps[p];
    if (v >= negLow && v < negHigh) gtIndices[p] = 0;
    if (v >= config.posIouThr) gtIndices[p] = argmaxOverlaps[p] + 1;
  }

  if (config.matchLowQuality ?? true) {
    const minPosIou = config.minPosIou ?? 0;
    const assignAll = config.gtMaxAssignAll ?? true;
    for (let g = 0; g < numGts; g++) {
      const best = gtMax[g];
      if (!(best >= minPosIou) || best <= 0) continue;
      if (assignAll) {
        for (let p = 0; p < numPriors; p++) {
          if (overlaps[g * numPriors + p] === best) gtIndices[p] = g + 1;
        }
      } else {
        gtIndices[gtArgmax[g]] = g + 1;
      }
    }
  }

  let labels: Int32Array | undefined;
  if (gtLabels !== undefined) {
    labels = new Int32Array(numPriors).fill(-1);
    for (let p = 0; p < numPriors; p++) {
      if (gtIndices[p] > 0) labels[p] = gtLabels[gtIndices[p] - 1];
    }
  }
  return { numGts, gtIndices, maxOverlaps, labels };
}
