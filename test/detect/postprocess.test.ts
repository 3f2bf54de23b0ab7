// Dense-head post-processing against a PyTorch transcription of mmdet 2.x's
// `_get_bboxes_single` (threshold, per-level top-k, decode, centerness factor) with torchvision's
// batched_nms and max_per_img, for a RetinaNet-like and an FCOS-like head.

import { describe, expect, it } from 'vitest';
import { UNIT_DELTAS } from '../../runtime/detect/delta-xywh-coder.js';
import { DetectInputError } from '../../runtime/detect/errors.js';
import {
  densePostprocess,
  filterScoresAndTopk,
  type DensePostprocessConfig,
  type LevelOutputs,
} from '../../runtime/detect/postprocess.js';
import { expectClose, expectExact, f32, loadGolden } from './golden.js';

interface LevelJson {
  scores: number[];
  regression: number[];
  priors: number[];
  scoreFactors?: number[];
}
interface Case {
  levels: LevelJson[];
  result: { boxes: number[]; scores: number[]; labels: number[] };
}
interface PostGolden {
  config: DensePostprocessConfig;
  imageSize: [number, number];
  numClasses: number;
  retina: Case;
  fcos: Case;
}

const g = loadGolden<PostGolden>('postprocess.json');
const levels = (c: Case): LevelOutputs[] =>
  c.levels.map((l) => ({
    scores: f32(l.scores),
    regression: f32(l.regression),
    priors: f32(l.priors),
    scoreFactors: l.scoreFactors === undefined ? undefined : f32(l.scoreFactors),
  }));
const imageSize = { height: g.imageSize[0], width: g.imageSize[1] };

describe('dense post-processing', () => {
  it('RetinaNet-like head matches mmdet + torchvision batched_nms', () => {
    const coder = { kind: 'delta-xywh', config: UNIT_DELTAS } as const;
    const d = densePostprocess(levels(g.retina), g.numClasses, coder, g.config, imageSize);
    expectExact(d.labels, g.retina.result.labels, 'labels');
    expectClose(d.scores, g.retina.result.scores, 1e-6, 'scores');
    expectClose(d.boxes, g.retina.result.boxes, 1e-5, 'boxes');
  });

  it('FCOS-like head (distances, centerness factor) matches mmdet', () => {
    const d = densePostprocess(
      levels(g.fcos),
      g.numClasses,
      { kind: 'distance' },
      g.config,
      imageSize,
    );
    expectExact(d.labels, g.fcos.result.labels, 'labels');
    expectClose(d.scores, g.fcos.result.scores, 1e-6, 'scores');
    expectClose(d.boxes, g.fcos.result.boxes, 1e-5, 'boxes');
  });

  it('hand-checked top-k: strict threshold, (prior, class) pairs by descending score', () => {
    const t = filterScoresAndTopk(f32([0.1, 0.9, 0.05, 0.3, 0.7, 0.2]), 2, 0.1, 3);
    expectClose(t.scores, [0.9, 0.7, 0.3], 1e-7);
    expectExact(t.priorIndices, [0, 2, 1]);
    expectExact(t.labels, [1, 0, 1]);
  });

  it('rescales to the original image and rejects inconsistent levels', () => {
    const level: LevelOutputs = {
      scores: f32([0.9]),
      regression: f32([2, 2, 2, 2]),
      priors: f32([10, 10]),
    };
    const cfg = { nmsPre: 10, scoreThr: 0.05, iouThreshold: 0.5, maxPerImg: 10 };
    const d = densePostprocess(
      [level],
      1,
      { kind: 'distance' },
      cfg,
      { height: 100, width: 100 },
      [2, 4],
    );
    expectClose(d.boxes, [4, 2, 6, 3], 1e-7);
    const bad = { ...level, regression: f32([1, 2, 3]) };
    expect(() => densePostprocess([bad], 1, { kind: 'distance' }, cfg, imageSize)).toThrow(
      DetectInputError,
    );
  });
});
