// The checker's image-domain pieces: `encoder(backbone, projector, predictor?)` detectors, their
// output record (`projection`, `prediction` per image), `no_grad` of it, std.losses' `byol`, and
// `resnet(width: …)`; with located errors for mismatched widths and missing predictors.

import { describe, expect, it } from 'vitest';
import { diagnosticsOf } from './helpers.js';

const DECLS = [
  'use std.losses',
  'dataset d = image_folder(root: "imgs")',
  'view aug = resize(short: [64], max: 96) >> color_jitter(p: 0.8) >> grayscale(p: 0.2)',
  'detector enc = encoder(backbone: resnet(depth: 18, width: 0.125), projector: mlp(64, 32), predictor: mlp(64, 32))',
  'detector tgt = ema(enc, momentum: cosine(0.99, 1.0))',
].join('\n');

function stage(body: string[]): string {
  return `${DECLS}\nstage s {\n  data d, batch: 4\n  view v1 = aug\n  view v2 = aug\n${body.map((l) => `  ${l}`).join('\n')}\n  optimize sgd(lr: 0.05), params: enc\n  train 2 iters\n}\n`;
}

const LETS = [
  'let q1 = enc(v1)',
  'let q2 = enc(v2)',
  'let k1 = no_grad(tgt(v1))',
  'let k2 = no_grad(tgt(v2))',
];

describe('image-domain stage in the checker', () => {
  it('accepts the symmetric BYOL stage', () => {
    expect(
      diagnosticsOf(
        stage([
          ...LETS,
          'loss a = byol(q1.prediction, k2.projection)',
          'loss b = byol(q2.prediction, k1.projection), weight: 1.0',
        ]),
      ),
    ).toEqual([]);
  });

  it('has no prediction without a predictor, and checks the widths of p and z', () => {
    const src = stage([...LETS, 'loss a = byol(q1.projection, k2.prediction)']).replace(
      'detector tgt',
      'detector narrow = encoder(backbone: resnet(depth: 18), projector: mlp(64, 16))\ndetector tgt',
    );
    expect(diagnosticsOf(src)).toEqual([]);
    const noPredictor = src
      .replace('let q1 = enc(v1)', 'let q1 = narrow(v1)')
      .replace('byol(q1.projection, k2.prediction)', 'byol(q1.prediction, k2.projection)');
    expect(diagnosticsOf(noPredictor)).toEqual([
      '15:20 E_UNKNOWN_MEMBER encoder output has no field `prediction`; did you mean `projection`?',
    ]);
    const mismatch = src
      .replace('let q1 = enc(v1)', 'let q1 = narrow(v1)')
      .replace('byol(q1.projection, k2.prediction)', 'byol(q1.projection, k2.projection)');
    expect(diagnosticsOf(mismatch)).toEqual([
      expect.stringMatching(/^15:\d+ E_SHAPE_MISMATCH argument `z` of `byol`/),
    ]);
  });

  it('range-checks resnet(width: …)', () => {
    const src = stage([...LETS, 'loss a = byol(q1.prediction, k2.projection)']);
    expect(diagnosticsOf(src.replace('width: 0.125', 'width: 0'))).toEqual([
      '4:59 E_ARG_RANGE `width` of `resnet` must be between 0.01 and 8, got 0',
    ]);
  });
});
