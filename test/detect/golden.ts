// Helpers shared by the runtime/detect and runtime/io tests: load a golden fixture written by
// scripts/make-detect-goldens.py and compare arrays with a tolerance that is absolute near zero and
// relative for large values (anchor coordinates of 1000 px have a float32 step of 6e-5).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const FIXTURES = fileURLToPath(new URL('../fixtures/detect/', import.meta.url));

export function loadGolden<T>(name: string): T {
  return JSON.parse(readFileSync(`${FIXTURES}${name}`, 'utf8')) as T;
}

export function f32(values: readonly number[]): Float32Array {
  return Float32Array.from(values);
}

export function i32(values: readonly number[]): Int32Array {
  return Int32Array.from(values);
}

/** Fails naming the first index where |actual − expected| > tol · max(1, |expected|). */
export function expectClose(
  actual: ArrayLike<number>,
  expected: readonly number[],
  tol = 1e-5,
  what = 'values',
): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    const a = actual[i];
    const ok = Number.isNaN(e)
      ? Number.isNaN(a)
      : Math.abs(a - e) <= tol * Math.max(1, Math.abs(e));
    if (!ok) expect(a, `${what}[${i}]`).toBe(e);
  }
}

export function expectExact(
  actual: ArrayLike<number>,
  expected: readonly number[],
  what = 'values',
): void {
  expect(Array.from(actual), what).toEqual(expected);
}
