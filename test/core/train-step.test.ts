// A whole training step traced into one IR graph (runtime/optim/train-step.ts) — forward, backward,
// clipping, SGD or AdamW update — replayed for three iterations on the CPU reference and compared
// with the same small CNN trained by PyTorch (test/fixtures/core/train.json).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cpuReferenceBackend } from '../../runtime/tensor/backend.js';
import type { OptimizerSpec } from '../../runtime/optim/train-step.js';
import { Trainer } from '../../runtime/optim/train-step.js';
import type { Tensor } from '../../runtime/tensor/tensor.js';
import { noGrad } from '../../runtime/autodiff/grad.js';
import type { FixtureTensor } from './golden-cases.js';
import { fromFixture } from './golden-cases.js';

interface TrainCase {
  name: string;
  clip: number | null;
  init: Record<string, FixtureTensor>;
  batches: { x: FixtureTensor; labels: FixtureTensor }[];
  losses: number[];
  final: Record<string, FixtureTensor>;
}

const here = dirname(fileURLToPath(import.meta.url));
const cases = (
  JSON.parse(readFileSync(join(here, '..', 'fixtures', 'core', 'train.json'), 'utf8')) as {
    cases: TrainCase[];
  }
).cases;

function loss([w1, b1, w2, b2]: Tensor[], [x, labels]: Tensor[]): Tensor {
  const h = x
    .conv2d(w1, { padding: 1 })
    .add(b1.reshape([1, -1, 1, 1]))
    .relu()
    .maxPool2d(2);
  const logits = h.reshape([2, -1]).matmul(w2).add(b2);
  const shift = noGrad(() => logits.max(1, true));
  const lse = logits.sub(shift).exp().sum(1, true).log().add(shift);
  return lse.sub(logits.gather(1, labels.reshape([-1, 1]))).mean();
}

const OPTIMIZERS: Record<string, { optimizer: OptimizerSpec; lr: number }> = {
  'sgd-clip': { optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 1e-3 }, lr: 0.1 },
  adamw: {
    optimizer: { kind: 'adamw', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 },
    lr: 0.01,
  },
};

describe('traced training step against PyTorch', () => {
  for (const c of cases) {
    for (const float64 of [true, false]) {
      it(`${c.name} (${float64 ? 'f64' : 'f32'})`, async () => {
        const { optimizer, lr } = OPTIMIZERS[c.name];
        const names = Object.keys(c.init);
        const trainer = new Trainer(
          {
            loss,
            paramTypes: names.map((n) => ({ shape: c.init[n].shape, dtype: 'f32' })),
            batchTypes: [
              { shape: c.batches[0].x.shape, dtype: 'f32' },
              { shape: c.batches[0].labels.shape, dtype: 'i32' },
            ],
            optimizer,
            clipNorm: c.clip ?? undefined,
          },
          names.map((n) => fromFixture(c.init[n], float64)),
          cpuReferenceBackend({ float64 }),
          float64,
        );
        const tol = float64 ? 1e-7 : 2e-4;
        for (let k = 0; k < c.batches.length; k++) {
          const l = await trainer.step(
            [fromFixture(c.batches[k].x, float64), fromFixture(c.batches[k].labels)],
            lr,
          );
          expect(Math.abs(l.data[0] - c.losses[k])).toBeLessThan(tol);
        }
        names.forEach((n, i) => {
          c.final[n].data.forEach((e, j) => {
            const a = trainer.params[i].data[j];
            if (!(Math.abs(a - e) <= tol * (1 + Math.abs(e))))
              throw new Error(`${n}[${j}]: got ${a}, expected ${e}`);
          });
        });
      });
    }
  }
});
