// DeltaXYWH and distance coders against PyTorch transcriptions of mmdet's DeltaXYWHBBoxCoder and
// DistancePointBBoxCoder, plus hand-checked round trips.

import { describe, expect, it } from 'vitest';
import {
  decodeDeltaXYWH,
  encodeDeltaXYWH,
  ROI_DELTAS,
  type DeltaXYWHConfig,
} from '../../runtime/detect/delta-xywh-coder.js';
import { decodeDistance, encodeDistance } from '../../runtime/detect/distance-coder.js';
import { DetectInputError } from '../../runtime/detect/errors.js';
import { expectClose, f32, loadGolden } from './golden.js';

interface CodersGolden {
  priors: number[];
  targets: number[];
  deltas: number[];
  deltas8: number[];
  encodeUnit: number[];
  encodeRoi: number[];
  decodeUnit: number[];
  decodeRoiClipped: number[];
  decodeTwoClasses: number[];
  points: number[];
  distances: number[];
  distanceEncode: number[];
  distanceEncodeMax: number[];
  distanceDecode: number[];
  distanceDecodeClipped: number[];
}

const g = loadGolden<CodersGolden>('coders.json');
const shifted: DeltaXYWHConfig = { means: [0.1, -0.1, 0.0, 0.05], stds: [0.1, 0.1, 0.2, 0.2] };

describe('DeltaXYWH coder', () => {
  const priors = f32(g.priors);
  it('encodes as mmdet (unit and shifted/scaled normalisation)', () => {
    expectClose(encodeDeltaXYWH(priors, f32(g.targets)), g.encodeUnit, 1e-5, 'unit');
    expectClose(encodeDeltaXYWH(priors, f32(g.targets), shifted), g.encodeRoi, 1e-5, 'roi');
  });

  it('decodes as mmdet, clamping dw/dh and clipping to the image', () => {
    expectClose(decodeDeltaXYWH(priors, f32(g.deltas)), g.decodeUnit, 1e-5, 'unit');
    const clipped = decodeDeltaXYWH(priors, f32(g.deltas), shifted, {
      maxShape: { height: 90, width: 110 },
    });
    expectClose(clipped, g.decodeRoiClipped, 1e-5, 'clipped');
    expectClose(
      decodeDeltaXYWH(priors, f32(g.deltas8), ROI_DELTAS),
      g.decodeTwoClasses,
      1e-5,
      'two classes',
    );
  });

  it('hand-checked: decode(encode(x)) = x and a known delta', () => {
    const p = f32([0, 0, 10, 20]);
    const t = f32([5, 5, 25, 25]);
    // centre (5,10)→(15,15): dx = 10/10, dy = 5/20; w 10→20: log 2; h 20→20: 0.
    expectClose(encodeDeltaXYWH(p, t), [1, 0.25, Math.log(2), 0], 1e-6);
    expectClose(
      decodeDeltaXYWH(p, encodeDeltaXYWH(p, t, ROI_DELTAS), ROI_DELTAS),
      [5, 5, 25, 25],
      1e-5,
    );
    // dw = 10 is clamped to log(1000/16): width 10 → 625.
    expectClose(decodeDeltaXYWH(p, f32([0, 0, 10, 0])), [5 - 312.5, 0, 5 + 312.5, 20], 1e-5);
  });

  it('rejects mismatched counts', () => {
    expect(() => encodeDeltaXYWH(f32([0, 0, 1, 1]), f32([]))).toThrow(DetectInputError);
    expect(() => decodeDeltaXYWH(f32([0, 0, 1, 1, 0, 0, 2, 2]), f32([0, 0, 0, 0, 0, 0]))).toThrow(
      DetectInputError,
    );
  });
});

describe('distance coder', () => {
  const points = f32(g.points);
  it('encodes and decodes as mmdet', () => {
    expectClose(encodeDistance(points, f32(g.targets)), g.distanceEncode, 1e-5, 'encode');
    expectClose(
      encodeDistance(points, f32(g.targets), 30),
      g.distanceEncodeMax,
      1e-5,
      'encode max',
    );
    expectClose(decodeDistance(points, f32(g.distances)), g.distanceDecode, 1e-5, 'decode');
    const clipped = decodeDistance(points, f32(g.distances), { height: 90, width: 110 });
    expectClose(clipped, g.distanceDecodeClipped, 1e-5, 'decode clipped');
  });

  it('hand-checked', () => {
    expectClose(encodeDistance(f32([4, 6]), f32([0, 0, 10, 20])), [4, 6, 6, 14], 0);
    expectClose(decodeDistance(f32([4, 6]), f32([4, 6, 6, 14])), [0, 0, 10, 20], 0);
  });
});
