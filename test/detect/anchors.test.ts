// Anchor and point generators against a PyTorch transcription of mmdet's AnchorGenerator and
// MlvlPointGenerator (scripts/make-detect-goldens.py), plus hand-checked base anchors.

import { describe, expect, it } from 'vitest';
import {
  anchorScales,
  anchorsPerLocation,
  baseAnchors,
  featureMapSizes,
  gridAnchors,
  gridPoints,
  RETINANET_ANCHORS,
  RPN_ANCHORS,
  validFlags,
  type FeatureMapSize,
} from '../../runtime/detect/anchors.js';
import { DetectInputError } from '../../runtime/detect/errors.js';
import { expectClose, expectExact, loadGolden } from './golden.js';

interface AnchorsGolden {
  retina: {
    featmaps: [number, number][];
    base: number[][];
    anchors: number[][];
    padShape: [number, number];
    valid: number[][];
  };
  rpn: { featmaps: [number, number][]; anchors: number[][] };
  offsetHalf: { base: number[][] };
  points: number[][];
}

const golden = loadGolden<AnchorsGolden>('anchors.json');
const sizes = (fm: [number, number][]): FeatureMapSize[] =>
  fm.map(([height, width]) => ({ height, width }));

describe('anchor generator', () => {
  it('RetinaNet: 9 anchors per location, scales 4·2^(i/3)', () => {
    expect(anchorsPerLocation(RETINANET_ANCHORS)).toBe(9);
    expectClose(anchorScales(RETINANET_ANCHORS), [4, 4 * 2 ** (1 / 3), 4 * 2 ** (2 / 3)], 1e-6);
  });

  it('hand-checked: stride 8, ratio 1, scale 4 is a 32×32 box centred on the cell origin', () => {
    const base = baseAnchors(RETINANET_ANCHORS)[0];
    // ratio-major: rows 3..5 are ratio 1 with scales 4, 5.04, 6.35.
    expectClose(base.subarray(12, 16), [-16, -16, 16, 16], 1e-6);
    // ratio 0.5 (h/w): w = 32/sqrt(0.5) = 45.25, h = 32·sqrt(0.5) = 22.63.
    expectClose(
      base.subarray(0, 4),
      [-16 * Math.SQRT2, -8 * Math.SQRT2, 16 * Math.SQRT2, 8 * Math.SQRT2],
      1e-6,
    );
  });

  it('matches mmdet base and grid anchors (RetinaNet P3–P7, 64×80 input)', () => {
    expect(featureMapSizes({ height: 64, width: 80 }, RETINANET_ANCHORS.strides)).toEqual(
      sizes(golden.retina.featmaps),
    );
    baseAnchors(RETINANET_ANCHORS).forEach((b, l) =>
      expectClose(b, golden.retina.base[l], 1e-6, `base ${l}`),
    );
    const grid = gridAnchors(RETINANET_ANCHORS, sizes(golden.retina.featmaps));
    grid.forEach((g, l) => expectClose(g, golden.retina.anchors[l], 1e-6, `level ${l}`));
  });

  it('matches mmdet with a centre offset of 0.5', () => {
    const cfg = { ...RETINANET_ANCHORS, centerOffset: 0.5 };
    baseAnchors(cfg).forEach((b, l) =>
      expectClose(b, golden.offsetHalf.base[l], 1e-6, `base ${l}`),
    );
  });

  it('matches mmdet RPN anchors (scale 8, P2–P6)', () => {
    expect(anchorsPerLocation(RPN_ANCHORS)).toBe(3);
    const grid = gridAnchors(RPN_ANCHORS, sizes(golden.rpn.featmaps));
    grid.forEach((g, l) => expectClose(g, golden.rpn.anchors[l], 1e-6, `level ${l}`));
  });

  it('valid flags mark anchors over batch padding invalid', () => {
    const [h, w] = golden.retina.padShape;
    const flags = validFlags(
      RETINANET_ANCHORS.strides,
      sizes(golden.retina.featmaps),
      { height: h, width: w },
      9,
    );
    flags.forEach((f, l) => expectExact(f, golden.retina.valid[l], `level ${l}`));
  });

  it('rejects a level count that does not match the strides', () => {
    expect(() => gridAnchors(RETINANET_ANCHORS, [{ height: 2, width: 2 }])).toThrow(
      DetectInputError,
    );
    expect(() =>
      anchorScales({ strides: [8], ratios: [1], scales: [8], octaveBaseScale: 4 }),
    ).toThrow(DetectInputError);
  });
});

describe('point generator', () => {
  it('matches mmdet MlvlPointGenerator (offset 0.5)', () => {
    const pts = gridPoints(RETINANET_ANCHORS.strides, sizes(golden.retina.featmaps));
    pts.forEach((p, l) => expectClose(p, golden.points[l], 1e-6, `level ${l}`));
  });

  it('hand-checked: stride 16, 2×3 map', () => {
    expectExact(
      gridPoints([16], [{ height: 2, width: 3 }])[0],
      [8, 8, 24, 8, 40, 8, 8, 24, 24, 24, 40, 24],
    );
  });
});
