// The box-domain step on runtime/models' own blocks (ResNet-18 at 1/16 width → FPN P3–P4 → RetinaNet
// head with the AlignDet projector), through runtime/train/module-detector.ts: the step runs, one
// step lowers the contrastive loss on a fixed batch, the frozen backbone (with its BN buffers) is
// unchanged and the momentum detector moves by the EMA.

import { describe, expect, it } from 'vitest';
import { DenseDetector } from '../../runtime/models/detector.js';
import { RetinaHead } from '../../runtime/models/retina-head.js';
import { Rng } from '../../runtime/rng.js';
import { cpuReferenceBackend } from '../../runtime/tensor/backend.js';
import {
  BoxDomainStep,
  GROUP_MOMENTUM,
  LOSS_CONTRAST,
} from '../../runtime/train/box-domain-step.js';
import { LoweredLoss } from '../../runtime/train/lowered-loss.js';
import { boxDomainDetectorOf } from '../../runtime/train/module-detector.js';
import { moduleRetinaNet } from './module-retinanet.js';
import { syntheticBatch, TINY_MATCHING } from './tiny-detector.js';

function model(): DenseDetector<RetinaHead> {
  const det = moduleRetinaNet({ channels: 8, embedDim: 8, seed: 3 });
  // RetinaNet's Normal(0.01) head init at width 8 makes the embeddings ~1e-4 long; the normalised
  // contrastive loss is scale-free, so its gradients are ~1e4 and even lr 1e-5 overshoots. With
  // the conv weights ×10 (zero biases, ReLU: the same loss value) lr 0.01 is a small step.
  for (const { parameter } of det.head.state())
    if (parameter.shape.length === 4) parameter.value = parameter.value!.map((v) => v * 10);
  return det;
}

describe('box-domain step on runtime/models blocks', () => {
  it('runs, lowers the contrastive loss, keeps the backbone frozen and applies the EMA', async () => {
    const parts = boxDomainDetectorOf(model());
    expect(
      [...parts.online.keys()].every((k) => k.startsWith('neck.') || k.startsWith('bbox_head.')),
    ).toBe(true);
    expect([...parts.backbone.keys()].some((k) => k.endsWith('running_mean'))).toBe(true);
    const make = () =>
      new BoxDomainStep(
        {
          detector: parts.detector,
          matching: TINY_MATCHING,
          optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 1e-4 },
          baseMomentum: 0.996,
          contrastive: LoweredLoss.fromStd('losses', 'box_infonce'),
          regression: LoweredLoss.fromStd('losses', 'l1'),
          backend: cpuReferenceBackend(),
        },
        parts.backbone,
        parts.online,
      );
    const batch = syntheticBatch(31, 0);
    const ctx = (lr: number) => ({
      stage: 'box_domain',
      step: 1,
      totalSteps: 4,
      epoch: 0,
      lr,
      rng: Rng.fromSeed(1),
    });
    const frozen = new Map([...parts.backbone].map(([k, t]) => [k, Float32Array.from(t.data)]));
    const first = make();
    const before = await first.run(batch, ctx(0.01));
    expect(Number.isFinite(before.losses.contrast) && Number.isFinite(before.losses.reg_l1)).toBe(
      true,
    );
    for (const [k, t] of first.backbone) expect(Float32Array.from(t.data)).toEqual(frozen.get(k));
    // m = 0.996 at iteration 0: the momentum detector moved 0.4 % of the way to the update.
    const name = 'bbox_head.retina_reg.weight';
    const q = first.online.get(name)!.data;
    const k0 = parts.online.get(name)!.data;
    const k1 = first.momentum.get(name)!.data;
    for (let i = 0; i < q.length; i += 17)
      expect(k1[i]).toBeCloseTo(0.996 * k0[i] + 0.004 * q[i], 7);
    const after = make();
    after.restore(new Map(first.groups()).set(GROUP_MOMENTUM, make().momentum));
    const again = await after.run(batch, ctx(0));
    expect(again.losses[LOSS_CONTRAST]).toBeLessThan(before.losses[LOSS_CONTRAST]);
  });
});
