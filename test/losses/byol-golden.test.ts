// std.losses' `byol(p, z)` (BYOL's regression loss, the image-domain stage's loss) against
// PyTorch: value and gradients in f64 from scripts/make-byol-golden.py, a transcription of the
// BYOL authors' `loss_fn` averaged over rows with z detached (so its gradient is zero).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectFunctions, stdModulePath } from '../../compiler/lower/functions.js';
import { valueAndGrad } from '../../compiler/lower/grad.js';
import type { TensorData } from '../../runtime/cpu/tensor-data.js';
import { packageRoot } from '../../runtime/package-root.js';

interface Case {
  readonly name: string;
  readonly p: number[][];
  readonly z: number[][];
  readonly value: number;
  readonly grad_p: number[][];
  readonly grad_z: number[][];
}

const { cases } = JSON.parse(
  readFileSync(join(packageRoot(), 'test', 'fixtures', 'losses', 'byol-golden.json'), 'utf8'),
) as { cases: Case[] };
const functions = new Map(
  ['tensor', 'losses'].flatMap((m) => [...collectFunctions(stdModulePath(['std', m])).functions]),
);

const matrix = (rows: number[][]): TensorData => ({
  shape: [rows.length, rows[0].length],
  dtype: 'f32',
  data: Float64Array.from(rows.flat()),
});

function expectClose(actual: ArrayLike<number>, expected: number[], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++)
    expect(Math.abs(actual[i] - expected[i]), `${what}[${i}]`).toBeLessThan(
      1e-9 * Math.max(1, Math.abs(expected[i])),
    );
}

describe('byol matches the BYOL reference loss in PyTorch', () => {
  for (const c of cases)
    it(c.name, () => {
      const r = valueAndGrad(
        functions.get('byol')!,
        functions,
        new Map([
          ['p', matrix(c.p)],
          ['z', matrix(c.z)],
        ]),
        { float64: true },
      );
      expectClose(r.value.data, [c.value], 'value');
      expectClose(r.grads.get('p')!.data, c.grad_p.flat(), 'd/dp');
      expectClose(r.grads.get('z')!.data, c.grad_z.flat(), 'd/dz');
    });
});
