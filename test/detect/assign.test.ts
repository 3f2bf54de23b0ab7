// MaxIoU assigner, random sampler and FCOS targets against PyTorch transcriptions of mmdet's
// MaxIoUAssigner and FCOSHead.get_targets (scripts/make-detect-goldens.py), plus hand-checked cases
// and the sampler's quota invariants (its random choice is alignc's own, so only those are fixed).

import { describe, expect, it } from 'vitest';
import {
  gridAnchors,
  gridPoints,
  RETINANET_ANCHORS,
  type FeatureMapSize,
} from '../../runtime/detect/anchors.js';
import { DetectInputError } from '../../runtime/detect/errors.js';
import { centernessTargets, FCOS_TARGETS, fcosTargets } from '../../runtime/detect/fcos-targets.js';
import { maxIouAssign, type MaxIoUAssignerConfig } from '../../runtime/detect/max-iou-assigner.js';
import {
  randomSample,
  sampleBatchPoints,
  sampleWithQuota,
} from '../../runtime/detect/random-sampler.js';
import { SeededRng } from '../../runtime/detect/rng.js';
import { expectClose, expectExact, f32, i32, loadGolden } from './golden.js';

interface AssignerGolden {
  gts: number[];
  labels: number[];
  ignore: number[];
  proposals: number[];
  cases: {
    name: string;
    config: MaxIoUAssignerConfig;
    usesProposals: boolean;
    result: { gtIndices: number[]; maxOverlaps: number[]; labels: number[] };
  }[];
}

interface FcosGolden {
  featmaps: [number, number][];
  gts: number[];
  labels: number[];
  numClasses: number;
  cases: {
    name: string;
    regressRanges: [number, number][];
    centerSampling: boolean;
    normOnBbox: boolean;
    result: { labels: number[]; gtIndices: number[]; bboxTargets: number[] };
  }[];
  centernessInput: number[];
  centerness: number[];
}

const sizes = (fm: [number, number][]): FeatureMapSize[] =>
  fm.map(([height, width]) => ({ height, width }));

describe('MaxIoU assigner', () => {
  const g = loadGolden<AssignerGolden>('assigner.json');
  const anchors = gridAnchors(RETINANET_ANCHORS, [
    { height: 8, width: 10 },
    { height: 4, width: 5 },
    { height: 2, width: 3 },
    { height: 1, width: 2 },
    { height: 1, width: 1 },
  ]);
  const allAnchors = new Float32Array(anchors.reduce((n, a) => n + a.length, 0));
  anchors.reduce((o, a) => (allAnchors.set(a, o), o + a.length), 0);
  for (const c of g.cases) {
    it(`matches mmdet: ${c.name}`, () => {
      const config = Array.isArray(c.config.negIouThr)
        ? { ...c.config, negIouThr: [c.config.negIouThr[0], c.config.negIouThr[1]] as const }
        : c.config;
      const r = maxIouAssign(config, {
        priors: c.usesProposals ? f32(g.proposals) : allAnchors,
        gtBoxes: f32(g.gts),
        gtLabels: i32(g.labels),
        gtBoxesIgnore: c.name.startsWith('ignore') ? f32(g.ignore) : undefined,
      });
      expectExact(r.gtIndices, c.result.gtIndices, 'gt indices');
      expectClose(r.maxOverlaps, c.result.maxOverlaps, 1e-6, 'max overlaps');
      expectExact(r.labels ?? [], c.result.labels, 'labels');
    });
  }

  it('hand-checked: thresholds, low-quality override, and no boxes', () => {
    const priors = f32([0, 0, 10, 10, 0, 0, 10, 6, 0, 0, 10, 3, 50, 50, 60, 60]);
    const gt = f32([0, 0, 10, 10]);
    // IoUs 1, 0.6, 0.3, 0 → pos, pos, neg(<0.4), neg.
    const r = maxIouAssign({ posIouThr: 0.7, negIouThr: 0.4 }, { priors, gtBoxes: gt });
    expectExact(r.gtIndices, [1, -1, 0, 0]);
    // A box only reachable at IoU 0.3 still gets its best prior through low-quality matching.
    const r2 = maxIouAssign(
      { posIouThr: 0.7, negIouThr: 0.2 },
      { priors: priors.subarray(8), gtBoxes: gt },
    );
    expectExact(r2.gtIndices, [1, 0]);
    const none = maxIouAssign({ posIouThr: 0.5, negIouThr: 0.4 }, { priors, gtBoxes: f32([]) });
    expectExact(none.gtIndices, [0, 0, 0, 0]);
  });

  it('valid flags: the same as assigning the valid priors alone and scattering back', () => {
    const valid = Uint8Array.from({ length: allAnchors.length / 4 }, (_, i) =>
      i % 3 === 0 ? 0 : 1,
    );
    const keep = [...valid.keys()].filter((i) => valid[i] === 1);
    const subset = new Float32Array(keep.length * 4);
    keep.forEach((p, k) => subset.set(allAnchors.subarray(4 * p, 4 * p + 4), 4 * k));
    const cfg = { posIouThr: 0.5, negIouThr: 0.4, minPosIou: 0 };
    const full = maxIouAssign(cfg, { priors: allAnchors, gtBoxes: f32(g.gts), validPriors: valid });
    const part = maxIouAssign(cfg, { priors: subset, gtBoxes: f32(g.gts) });
    const scattered = new Array<number>(valid.length).fill(-1);
    keep.forEach((p, k) => (scattered[p] = part.gtIndices[k]));
    expectExact(full.gtIndices, scattered);
    expect(full.gtIndices.some((v, i) => v > 0 && valid[i] === 1)).toBe(true);
  });

  it('a box with IoU 0 to every prior makes no low-quality match (documented deviation)', () => {
    const priors = f32([0, 0, 10, 10, 20, 20, 30, 30]);
    const r = maxIouAssign(
      { posIouThr: 0.5, negIouThr: 0.4, minPosIou: 0 },
      { priors, gtBoxes: f32([100, 100, 110, 110]) },
    );
    expectExact(r.gtIndices, [0, 0]);
  });

  it('rejects bad thresholds and label counts', () => {
    const priors = f32([0, 0, 1, 1]);
    expect(() =>
      maxIouAssign({ posIouThr: 1.5, negIouThr: 0.4 }, { priors, gtBoxes: priors }),
    ).toThrow(DetectInputError);
    expect(() =>
      maxIouAssign(
        { posIouThr: 0.5, negIouThr: 0.4 },
        { priors, gtBoxes: priors, gtLabels: i32([1, 2]) },
      ),
    ).toThrow(DetectInputError);
  });
});

describe('random sampler', () => {
  const assign = {
    numGts: 2,
    gtIndices: i32([1, 0, 0, -1, 2, 0, 1, 0, 0, 2, 0, 0]),
    maxOverlaps: new Float32Array(12),
    labels: undefined,
  };

  it('keeps all positives and fills with negatives (AlignDet: pos_fraction 1, no bound)', () => {
    const r = randomSample({ num: 8, posFraction: 1 }, assign, new SeededRng(1));
    expectExact(r.posIndices, [0, 4, 6, 9]);
    expectExact(r.posGtIndices, [0, 1, 0, 1]);
    expect(r.negIndices.length).toBe(4);
    for (const i of r.negIndices) expect(assign.gtIndices[i]).toBe(0);
    expect(Array.from(r.negIndices)).toEqual([...r.negIndices].sort((a, b) => a - b));
  });

  it('respects the positive quota and the negative/positive bound', () => {
    const r = randomSample({ num: 4, posFraction: 0.25, negPosUb: 2 }, assign, new SeededRng(2));
    expect(r.posIndices.length).toBe(1);
    expect(r.negIndices.length).toBe(2);
    const noNeg = randomSample(
      { num: 4096, posFraction: 1, negPosUb: 0 },
      assign,
      new SeededRng(3),
    );
    expect(noNeg.negIndices.length).toBe(0);
    expect(noNeg.posIndices.length).toBe(4);
  });

  it('adds ground-truth boxes as candidates when asked (RoI head)', () => {
    const r = randomSample(
      { num: 100, posFraction: 1, negPosUb: 0, addGtAsProposals: true },
      assign,
      new SeededRng(4),
    );
    expect(r.numGtCandidates).toBe(2);
    expectExact(r.posIndices, [0, 1, 2, 6, 8, 11]);
    expectExact(r.posGtIndices, [0, 1, 0, 1, 0, 1]);
  });

  it('FCOS batch sampling: positives first, background fills to the total', () => {
    const gt = i32([-1, 0, -1, 3, -1, -1, 1, -1, -1, -1]);
    const few = sampleBatchPoints(gt, 5, new SeededRng(5));
    expectExact(few.pos, [1, 3, 6]);
    expect(few.neg.length).toBe(2);
    for (const i of few.neg) expect(gt[i]).toBe(-1);
    const capped = sampleBatchPoints(gt, 2, new SeededRng(5));
    expect(capped.pos.length).toBe(2);
    expect(capped.neg.length).toBe(0);
  });

  it('is reproducible per seed and samples uniformly', () => {
    const negatives = Int32Array.from({ length: 100 }, (_, i) => i);
    const a = sampleWithQuota(i32([]), negatives, 10, 0, -1, new SeededRng(42)).neg;
    const b = sampleWithQuota(i32([]), negatives, 10, 0, -1, new SeededRng(42)).neg;
    const c = sampleWithQuota(i32([]), negatives, 10, 0, -1, new SeededRng(43)).neg;
    expectExact(a, Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    const counts = new Array<number>(100).fill(0);
    const rng = new SeededRng(7);
    for (let t = 0; t < 2000; t++)
      for (const i of sampleWithQuota(i32([]), negatives, 10, 0, -1, rng).neg) counts[i]++;
    // Each index is expected 200 times; 5 standard deviations is about ±67.
    for (const n of counts) expect(Math.abs(n - 200)).toBeLessThan(70);
  });
});

describe('FCOS targets', () => {
  const g = loadGolden<FcosGolden>('fcos.json');
  const points = gridPoints(FCOS_TARGETS.strides, sizes(g.featmaps));
  for (const c of g.cases) {
    it(`matches mmdet: ${c.name}`, () => {
      const t = fcosTargets(
        {
          ...FCOS_TARGETS,
          regressRanges: c.regressRanges,
          centerSampling: c.centerSampling,
          normOnBbox: c.normOnBbox,
        },
        points,
        f32(g.gts),
        i32(g.labels),
        g.numClasses,
      );
      expectExact(t.gtIndices, c.result.gtIndices, 'gt indices');
      expectExact(t.labels, c.result.labels, 'labels');
      expectClose(t.bboxTargets, c.result.bboxTargets, 1e-6, 'targets');
    });
  }

  it('centre sampling changes the assignment in the golden case', () => {
    const plain = g.cases.find((c) => c.name === 'default')!.result.gtIndices;
    const centred = g.cases.find((c) => c.name === 'centerSampling')!.result.gtIndices;
    expect(plain).not.toEqual(centred);
  });

  it('centerness matches mmdet, hand-checked centre point is 1', () => {
    expectClose(centernessTargets(f32(g.centernessInput)), g.centerness, 1e-6);
    expectClose(centernessTargets(f32([5, 5, 5, 5, 2, 4, 8, 4])), [1, 0.5], 1e-6);
  });

  it('hand-checked: the smaller box wins a shared point', () => {
    const t = fcosTargets(
      { strides: [8], regressRanges: [[-1, 1000]] },
      [f32([4, 4])],
      f32([0, 0, 40, 40, 0, 0, 10, 10]),
      i32([7, 9]),
      80,
    );
    expectExact(t.gtIndices, [1]);
    expectExact(t.labels, [9]);
    expectExact(t.bboxTargets, [4, 4, 6, 6]);
  });
});
