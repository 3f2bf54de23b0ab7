// The counter-based RNG (runtime/rng.ts) and labelled fractions (runtime/data/fractions.ts): Philox
// known-answer vectors, and fractions of BCCD trainval recomputed from the written algorithm by an
// independent Python implementation (scripts/data_fractions.py).

import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { readSplitFile } from '../../runtime/data/files.js';
import { labelledFraction, STANDARD_FRACTIONS } from '../../runtime/data/fractions.js';
import { defaultBccdRoot } from '../../runtime/data/bccd.js';
import { philox4x32, Rng } from '../../runtime/rng.js';

interface Fixture {
  fractions: { seed: number; percent: number; keys: string[] }[];
  draws: { seed: number; labels: (string | number)[]; u32: number[] };
}
const fixture = JSON.parse(readFileSync('test/fixtures/data/fractions.json', 'utf8')) as Fixture;

describe('Philox4x32-10', () => {
  test('known-answer vectors of Random123 (kat_vectors)', () => {
    const hex = (a: number[]) => a.map((x) => x.toString(16).padStart(8, '0')).join(' ');
    expect(hex(philox4x32([0, 0, 0, 0], [0, 0]))).toBe('6627e8d5 e169c58d bc57ac4c 9b00dbd8');
    const ones = 0xffffffff;
    expect(hex(philox4x32([ones, ones, ones, ones], [ones, ones]))).toBe(
      '408f276d 41c83b0e a20bc7c6 6d5451fd',
    );
    expect(
      hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])),
    ).toBe('d16cfe09 94fdcceb 5001e420 24126ea1');
  });

  test('stream draws equal the independent Python implementation', () => {
    const s = Rng.fromSeed(fixture.draws.seed).child(...fixture.draws.labels);
    expect(Array.from({ length: 8 }, () => s.u32())).toEqual(fixture.draws.u32);
  });

  test('children are independent of parent draws; same labels give the same stream', () => {
    const a = Rng.fromSeed(3);
    const first = a.child('view', 1).u32();
    a.u32();
    a.u32();
    expect(a.child('view', 1).u32()).toBe(first);
    expect(Rng.fromSeed(3).child('view', 2).u32()).not.toBe(first);
    expect(Rng.fromSeed(4).child('view', 1).u32()).not.toBe(first);
  });

  test('int is in range and hits every value; uniform in [0, 1); permutation is a permutation', () => {
    const r = Rng.fromSeed(1);
    const seen = new Array<number>(7).fill(0);
    for (let i = 0; i < 7000; i++) seen[r.int(0, 7)]++;
    // Each bin expects 1000; a fair generator stays within ±150 (≈ 5 standard deviations).
    for (const n of seen) expect(Math.abs(n - 1000)).toBeLessThan(150);
    for (let i = 0; i < 1000; i++) {
      const u = r.uniform();
      expect(u >= 0 && u < 1).toBe(true);
    }
    expect([...r.permutation(50)].sort((x, y) => x - y)).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );
    expect(() => Rng.fromSeed(-1)).toThrow(RangeError);
  });
});

describe('labelled fractions', () => {
  test('BCCD trainval fractions for seeds 0..4 equal the Python recomputation', async () => {
    const keys = await readSplitFile(`${defaultBccdRoot()}/splits/trainval.txt`);
    for (const f of fixture.fractions)
      expect(labelledFraction(keys, f.percent, f.seed)).toEqual(f.keys);
  });

  test('sizes round n·p/100 (at least 1), fractions nest, input order does not matter', async () => {
    const keys = await readSplitFile(`${defaultBccdRoot()}/splits/trainval.txt`);
    expect(STANDARD_FRACTIONS.map((p) => labelledFraction(keys, p, 0).length)).toEqual([
      3, 15, 29, 58, 292,
    ]);
    for (const seed of [0, 1]) {
      let previous: string[] = [];
      for (const p of STANDARD_FRACTIONS) {
        const now = labelledFraction(keys, p, seed);
        expect(previous.every((k) => now.includes(k))).toBe(true);
        previous = now;
      }
    }
    expect(labelledFraction([...keys].reverse(), 10, 2)).toEqual(labelledFraction(keys, 10, 2));
    expect(labelledFraction(keys, 10, 2)).not.toEqual(labelledFraction(keys, 10, 3));
    expect(labelledFraction(['a'], 1, 0)).toEqual(['a']);
    expect(() => labelledFraction(keys, 0, 0)).toThrow(/\(0, 100\]/);
  });
});
