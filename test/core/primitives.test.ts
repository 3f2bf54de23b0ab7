// Every IR primitive on the CPU reference against PyTorch goldens (scripts/make-core-goldens.py):
// forward in f32 and f64, the VJP (runtime/autodiff's table) against PyTorch's gradients, and the
// VJP against central finite differences computed in f64.
import { describe, expect, it } from 'vitest';
import { verifyGraph } from '../../compiler/ir/index.js';
import { interpret } from '../../runtime/cpu/interpret.js';
import type { TensorData } from '../../runtime/cpu/tensor-data.js';
import type { FixtureTensor, GoldenCase } from './golden-cases.js';
import { buildCaseGraph, fromFixture, loadGoldens } from './golden-cases.js';

const GROUPS = [
  'elementwise',
  'reduce-matmul',
  'conv',
  'movement',
  'indexing',
  'roi-align',
  'routines',
];

/** Cases evaluated exactly at a kink: ties (PyTorch splits the gradient evenly, which is not a
 * derivative) and round() at .5 — finite differences do not apply there. */
const NO_FD = new Set(['binary-max', 'binary-min', 'max-[1]', 'min-[1]', 'unary-round']);

function expectClose(
  actual: TensorData,
  expected: FixtureTensor,
  rtol: number,
  atol: number,
  what: string,
): void {
  expect(actual.shape, `${what} shape`).toEqual(expected.shape);
  expect(actual.dtype, `${what} dtype`).toBe(expected.dtype);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.data.length; i++) {
    const a = actual.data[i];
    const e = expected.data[i];
    if (expected.dtype !== 'f32') {
      if (a !== e) throw new Error(`${what}[${i}]: got ${a}, expected ${e}`);
      continue;
    }
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(excess <= worst) || Number.isNaN(a)) {
      worst = Number.isNaN(a) ? Infinity : excess;
      at = i;
    }
  }
  if (at >= 0)
    throw new Error(`${what}[${at}]: got ${actual.data[at]}, expected ${expected.data[at]}`);
}

/** A deterministic pseudo-random direction in [-1, 1) (xorshift; independent of the fixture). */
function direction(n: number, salt: number): Float64Array {
  let s = (0x9e3779b9 ^ salt) >>> 0 || 1;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function checkFiniteDifferences(c: GoldenCase): void {
  const { graph, inputNames, gradNames } = buildCaseGraph(c);
  const base = inputNames.map((n) =>
    fromFixture(n === 'seed' ? (c.seed as FixtureTensor) : c.inputs[n], true),
  );
  const seed = base[inputNames.indexOf('seed')].data;
  const [, ...grads] = interpret(graph, base, { float64: true });
  const dirs = gradNames.map((n, k) => direction(c.inputs[n].data.length, k + 7 * c.name.length));
  const objective = (h: number): number => {
    const shifted = base.map((t, i) => {
      const k = gradNames.indexOf(inputNames[i]);
      if (k < 0) return t;
      const data = Float64Array.from(t.data, (x, j) => x + h * dirs[k][j]);
      return { ...t, data };
    });
    const [out] = interpret(graph, shifted, { float64: true, trusted: true });
    let s = 0;
    for (let i = 0; i < out.data.length; i++) s += out.data[i] * seed[i];
    return s;
  };
  const h = 1e-6;
  const numeric = (objective(h) - objective(-h)) / (2 * h);
  let analytic = 0;
  grads.forEach((g, k) => g.data.forEach((v, j) => (analytic += v * dirs[k][j])));
  expect(Math.abs(numeric - analytic), `${c.name}: FD ${numeric} vs VJP ${analytic}`).toBeLessThan(
    1e-6 * (1 + Math.abs(analytic)),
  );
}

for (const group of GROUPS) {
  describe(`primitive goldens: ${group}`, () => {
    for (const c of loadGoldens(group)) {
      it(c.name, () => {
        const { graph, inputNames, gradNames } = buildCaseGraph(c);
        verifyGraph(graph);
        const fixtureFor = (n: string) => (n === 'seed' ? (c.seed as FixtureTensor) : c.inputs[n]);
        for (const float64 of [false, true]) {
          const [rtol, atol] = float64 ? [1e-7, 1e-9] : [2e-5, 2e-5];
          const inputs = inputNames.map((n) => fromFixture(fixtureFor(n), float64));
          const [out, ...grads] = interpret(graph, inputs, { float64 });
          expectClose(out, c.output, rtol, atol, `${c.name} forward (${float64 ? 'f64' : 'f32'})`);
          gradNames.forEach((n, k) => {
            expectClose(
              grads[k],
              (c.grads ?? {})[n],
              rtol,
              atol,
              `${c.name} d/d${n} (${float64 ? 'f64' : 'f32'})`,
            );
          });
        }
        if (gradNames.length > 0 && !NO_FD.has(c.name)) checkFiniteDifferences(c);
      });
    }
  });
}
