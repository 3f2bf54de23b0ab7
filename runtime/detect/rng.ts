// A small seeded pseudo-random generator for the host-side detection routines (samplers), so a
// pipeline run with the same seed samples the same anchors and points. Runtime side of the flow.
// (runtime/detect keeps its own because no shared `runtime/rng.ts` existed when it was written;
// it can move there unchanged.)
//
// The generator is SplitMix32-seeded xoshiro128**: 128-bit state, period 2^128 − 1, fast in JS
// with 32-bit integer arithmetic. It is not PyTorch's generator: sampled indices are reproducible
// within alignc, not equal to mmdet's.

import { DetectInputError } from './errors.js';

export class SeededRng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) {
      throw new DetectInputError(`random seed ${seed} must be an integer`);
    }
    let x = (seed ^ Math.floor(seed / 2 ** 32)) >>> 0;
    const next = (): number => {
      // SplitMix32 (Steele, Lea, Flood) to spread the seed over the four state words.
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform float in [0, 1) with 32 random bits. */
  nextFloat(): number {
    return this.nextUint32() / 2 ** 32;
  }

  /** A uniform integer in [0, n), without modulo bias. */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 2 ** 32) {
      throw new DetectInputError(`random integer range ${n} must be an integer in [1, 2^32]`);
    }
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const r = this.nextUint32();
      if (r < limit) return r % n;
    }
  }

  /** `k` distinct items of `items` chosen uniformly (partial Fisher–Yates), in sampled order. */
  choose(items: Int32Array, k: number): Int32Array {
    if (k >= items.length) return items.slice();
    const pool = items.slice();
    for (let i = 0; i < k; i++) {
      const j = i + this.nextInt(pool.length - i);
      const t = pool[i];
      pool[i] = pool[j];
      pool[j] = t;
    }
    return pool.slice(0, k);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
