// The random positive/negative sampler (mmdet `RandomSampler`): after assignment, picks which
// priors contribute to the loss — up to num·posFraction positives, then negatives to fill `num`,
// optionally capped at negPosUb × positives. AlignDet §4 uses it with pos_fraction 1.0 (RetinaNet
// 2048 per image, RPN 4096, RoI 4096 with no negatives) and the same quota rule, over the whole
// batch, for FCOS points. Runtime side of the flow; a host routine (the sampled count varies).
//
// Indices are returned sorted ascending, as mmdet's `unique()` leaves them. The choice itself uses
// alignc's seeded generator, so it is reproducible but not equal to PyTorch's `randperm`.

import type { AssignResult } from './max-iou-assigner.js';
import { checkRange, DetectInputError } from './errors.js';
import type { SeededRng } from './rng.js';

export interface RandomSamplerConfig {
  /** Total priors to sample (positives + negatives). */
  readonly num: number;
  /** The share of `num` positives may take. */
  readonly posFraction: number;
  /** Negatives ≤ negPosUb · max(1, positives); < 0 means no bound, 0 means no negatives. */
  readonly negPosUb?: number;
  /** Prepend the ground-truth boxes as extra candidates, each positive for itself (RoI head). */
  readonly addGtAsProposals?: boolean;
}

/** AlignDet RetinaNet (spec §4): up to 2048 positives per image, random negatives fill to 2048. */
export const RETINANET_SAMPLER: RandomSamplerConfig = { num: 2048, posFraction: 1, negPosUb: -1 };
/** AlignDet RPN: all positives plus negatives up to 4096 per image. */
export const RPN_SAMPLER: RandomSamplerConfig = { num: 4096, posFraction: 1, negPosUb: -1 };
/** AlignDet RoI head: positives only, pseudo boxes appended as RoIs. */
export const ROI_SAMPLER: RandomSamplerConfig = {
  num: 4096,
  posFraction: 1,
  negPosUb: 0,
  addGtAsProposals: true,
};

export interface SamplingResult {
  /** Sorted indices of sampled positives, into the candidate list (gts first when added). */
  readonly posIndices: Int32Array;
  /** Sorted indices of sampled negatives, same indexing. */
  readonly negIndices: Int32Array;
  /** The 0-based box each sampled positive is assigned to. */
  readonly posGtIndices: Int32Array;
  /** How many ground-truth boxes were prepended to the candidates (0 unless addGtAsProposals). */
  readonly numGtCandidates: number;
}

const BLOCK = 'random sampler';

function where(values: Int32Array, test: (v: number) => boolean): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) if (test(values[i])) out.push(i);
  return Int32Array.from(out);
}

function sorted(values: Int32Array): Int32Array {
  return values.slice().sort();
}

/**
 * The quota rule on explicit index lists: up to `maxPos` of `positives`, then negatives up to
 * `num − sampledPositives` (and ≤ negPosUb · max(1, sampledPositives) when negPosUb ≥ 0).
 */
export function sampleWithQuota(
  positives: Int32Array,
  negatives: Int32Array,
  num: number,
  maxPos: number,
  negPosUb: number,
  rng: SeededRng,
): { readonly pos: Int32Array; readonly neg: Int32Array } {
  if (!Number.isInteger(num) || num < 0) {
    throw new DetectInputError(`${BLOCK}: num = ${num} must be a non-negative integer`);
  }
  const pos = sorted(rng.choose(positives, Math.max(0, maxPos)));
  let wantNeg = num - pos.length;
  if (negPosUb >= 0) wantNeg = Math.min(wantNeg, Math.trunc(negPosUb * Math.max(1, pos.length)));
  const neg = sorted(rng.choose(negatives, Math.max(0, wantNeg)));
  return { pos, neg };
}

/** Samples positives and negatives from one image's assignment. */
export function randomSample(
  config: RandomSamplerConfig,
  assign: AssignResult,
  rng: SeededRng,
): SamplingResult {
  checkRange(config.posFraction, 0, 1, BLOCK, 'posFraction');
  let gtIndices = assign.gtIndices;
  let numGtCandidates = 0;
  if (config.addGtAsProposals === true && assign.numGts > 0) {
    numGtCandidates = assign.numGts;
    gtIndices = new Int32Array(numGtCandidates + assign.gtIndices.length);
    for (let g = 0; g < numGtCandidates; g++) gtIndices[g] = g + 1;
    gtIndices.set(assign.gtIndices, numGtCandidates);
  }
  const maxPos = Math.trunc(config.num * config.posFraction);
  const { pos, neg } = sampleWithQuota(
    where(gtIndices, (v) => v > 0),
    where(gtIndices, (v) => v === 0),
    config.num,
    maxPos,
    config.negPosUb ?? -1,
    rng,
  );
  const posGtIndices = pos.map((i) => gtIndices[i] - 1);
  return { posIndices: pos, negIndices: neg, posGtIndices, numGtCandidates };
}

/**
 * AlignDet's FCOS sampling (spec §4): over the points of the whole batch (`gtIndices` concatenated,
 * −1 = background), keep up to `num` random positives, then random background points until the
 * total is `num`.
 */
export function sampleBatchPoints(
  gtIndices: Int32Array,
  num: number,
  rng: SeededRng,
): { readonly pos: Int32Array; readonly neg: Int32Array } {
  return sampleWithQuota(
    where(gtIndices, (v) => v >= 0),
    where(gtIndices, (v) => v < 0),
    num,
    num,
    -1,
    rng,
  );
}
