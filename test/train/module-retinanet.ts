// Test support: a small RetinaNet composed from runtime/models' own blocks (ResNet-18 at 1/16
// width → FPN P3–P4 → RetinaNet head with the AlignDet projector, 3 anchors, one tower conv), at a
// chosen neck width and init seed. Used by the box-domain step test on real blocks and the
// projector-widening test.

import { DenseDetector } from '../../runtime/models/detector.js';
import { fpnForLevels } from '../../runtime/models/fpn.js';
import { ResNet } from '../../runtime/models/resnet.js';
import { RetinaHead } from '../../runtime/models/retina-head.js';
import { Rng } from '../../runtime/rng.js';

export function moduleRetinaNet(o: {
  readonly channels: number;
  readonly embedDim: number;
  readonly seed: number;
}): DenseDetector<RetinaHead> {
  const backbone = new ResNet({ depth: 18, widthMultiplier: 1 / 16, outIndices: [1, 2, 3] });
  const neck = fpnForLevels({
    inChannels: backbone.outChannels,
    inputLevels: [3, 4, 5],
    levels: [3, 4],
    outChannels: o.channels,
  });
  // A wide projector hidden layer: at width 8 a location whose ReLU hidden vector is all zero
  // (and the zero-initialised bias) would give an exactly-zero embedding (see docs/training.md).
  const head = new RetinaHead({
    inChannels: o.channels,
    stackedConvs: 1,
    numAnchors: 3,
    classifier: { kind: 'projector', dim: o.embedDim, hiddenChannels: 32 },
  });
  return new DenseDetector(backbone, neck, head).initialize(Rng.fromSeed(o.seed));
}
