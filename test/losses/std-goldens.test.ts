// The std library's losses, box functions and matching costs (pipelines/std/*.align, written in
// .align itself) against PyTorch / torchvision: value and every gradient, from the fixtures that
// scripts/make-loss-goldens.py wrote with Debian's torch. Also: check-grad passes for every std
// function (autodiff, or its backward block, against finite differences).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DType } from '../../compiler/ir/index.js';
import { collectFunctions, stdModulePath } from '../../compiler/lower/functions.js';
import { checkGrad, valueAndGrad } from '../../compiler/lower/grad.js';
import type { TensorData } from '../../runtime/cpu/tensor-data.js';
import { packageRoot } from '../../runtime/package-root.js';
import { tensorFromJson } from '../../cli/tensor-json.js';

interface GoldenCase {
  readonly name: string;
  readonly fn: string;
  readonly inputs: Record<string, unknown>;
  readonly dtypes: Record<string, DType>;
  readonly constants: Record<string, number>;
  readonly cotangent: unknown;
  readonly value: unknown;
  readonly grads: Record<string, unknown>;
}

const goldens = JSON.parse(
  readFileSync(join(packageRoot(), 'test', 'fixtures', 'losses', 'torch-goldens.json'), 'utf8'),
) as { cases: GoldenCase[] };

const modules = ['tensor', 'boxes', 'losses', 'costs'];
const tables = modules.map((m) => collectFunctions(stdModulePath(['std', m])));
const functions = new Map(tables.flatMap((t) => [...t.functions]));

function flat(value: unknown): number[] {
  return Array.isArray(value) ? value.flatMap(flat) : [Number(value)];
}

function expectClose(actual: ArrayLike<number>, expected: number[], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const scale = Math.max(1, Math.abs(expected[i]));
    const error = Math.abs(actual[i] - expected[i]) / scale;
    if (!(error < 1e-6)) {
      throw new Error(`${what}[${i}]: alignc ${actual[i]}, torch ${expected[i]} (error ${error})`);
    }
  }
}

describe('std functions match PyTorch / torchvision', () => {
  for (const golden of goldens.cases) {
    it(`${golden.name} (${golden.fn})`, () => {
      const fn = functions.get(golden.fn);
      expect(fn, `std function ${golden.fn}`).toBeDefined();
      const inputs = new Map<string, TensorData>();
      for (const [name, value] of Object.entries(golden.inputs)) {
        const dtype = golden.dtypes[name];
        const t = tensorFromJson(value, dtype, name);
        inputs.set(name, t);
      }
      const cotangent = tensorFromJson(golden.cotangent, 'f32', 'cotangent');
      const result = valueAndGrad(fn!, functions, inputs, {
        float64: true,
        constants: new Map(Object.entries(golden.constants)),
        cotangent,
      });
      expectClose(result.value.data, flat(golden.value), `${golden.name} value`);
      for (const [name, grad] of Object.entries(golden.grads)) {
        const ours = result.grads.get(name);
        expect(ours, `gradient of ${name}`).toBeDefined();
        expectClose(ours!.data, flat(grad), `${golden.name} d/d${name}`);
      }
    });
  }
});

describe('check-grad passes for every std function', () => {
  for (const [name, fn] of functions) {
    it(name, () => {
      const report = checkGrad(fn, functions, { seed: 1 });
      const failed = report.args.filter((a) => !a.ok);
      expect(
        failed.map(
          (a) => `${a.name}: ${a.worstError} (autodiff ${a.autodiff}, numeric ${a.numeric})`,
        ),
      ).toEqual([]);
    });
  }
});

describe('std edge cases', () => {
  it('l2_normalize of an all-zero row has a finite gradient (1/eps, as torch F.normalize)', () => {
    const fn = functions.get('l2_normalize')!;
    const x = tensorFromJson(
      [
        [0, 0, 0],
        [3, 0, 4],
      ],
      'f32',
      'x',
    );
    const r = valueAndGrad(fn, functions, new Map([['x', x]]));
    expect([...r.value.data]).toEqual([0, 0, 0, 0.6000000238418579, 0, 0.800000011920929]);
    const g = [...r.grads.get('x')!.data];
    expect(g.every(Number.isFinite)).toBe(true);
    for (const v of g.slice(0, 3)) expect(v / 1e12).toBeCloseTo(1, 5);
  });
});
