// A seeded, counter-based random number generator for the host side of the runtime (data order,
// labelled fractions, view augmentation). Every random draw in the flow that is not on the GPU comes
// from here, so a run is reproduced exactly from its seed.
//
// The generator is Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC 2011), the same function the GPU random-bits primitive can use: output block n of a stream is
// philox(counter = [n_lo, n_hi, stream0, stream1], key = [seed_lo, seed_hi]). Because the output is a
// pure function of (seed, stream, n), a child stream for "epoch 3, sample 17, view 2" is derived
// without touching any other stream, and the same numbers come out on any machine, in any thread,
// in any order of evaluation.

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;

/** High and low 32 bits of the 64-bit product of two unsigned 32-bit integers, exactly. */
function mulHiLo(a: number, b: number): [hi: number, lo: number] {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const lolo = aLo * bLo;
  const hilo = aHi * bLo;
  const lohi = aLo * bHi;
  const hihi = aHi * bHi;
  // Every partial product is below 2^32, so these sums are exact in a double.
  const cross = (lolo >>> 16) + (hilo & 0xffff) + lohi;
  const hi = (hihi + (hilo >>> 16) + Math.floor(cross / 65536)) >>> 0;
  const lo = Math.imul(a, b) >>> 0;
  return [hi, lo];
}

/** Philox4x32 with 10 rounds: 128-bit counter and 64-bit key in, 128 random bits out. */
export function philox4x32(
  counter: readonly [number, number, number, number],
  key: readonly [number, number],
): [number, number, number, number] {
  let c0 = counter[0] >>> 0;
  let c1 = counter[1] >>> 0;
  let c2 = counter[2] >>> 0;
  let c3 = counter[3] >>> 0;
  let k0 = key[0] >>> 0;
  let k1 = key[1] >>> 0;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + PHILOX_W0) >>> 0;
      k1 = (k1 + PHILOX_W1) >>> 0;
    }
    const [hi0, lo0] = mulHiLo(PHILOX_M0, c0);
    const [hi1, lo1] = mulHiLo(PHILOX_M1, c2);
    const n0 = (hi1 ^ c1 ^ k0) >>> 0;
    const n2 = (hi0 ^ c3 ^ k1) >>> 0;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
  }
  return [c0, c1, c2, c3];
}

/** FNV-1a over UTF-16 code units: turns a stream label such as `'epoch'` into a 32-bit word. */
function labelWord(label: number | string): [number, number] {
  if (typeof label === 'number') {
    if (!Number.isSafeInteger(label) || label < 0) {
      throw new RangeError(`rng stream label must be a non-negative safe integer, got ${label}`);
    }
    return [label >>> 0, Math.floor(label / 2 ** 32) >>> 0];
  }
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  }
  // The second word marks the label as text, so 'x' and its hash as a number differ.
  return [h, 0x80000000];
}

/**
 * One stream of random numbers. `Rng.fromSeed(seed)` is the root; `child(...labels)` derives an
 * independent stream (e.g. `root.child('epoch', 3)`), which does not advance the parent.
 */
export class Rng {
  private readonly key: [number, number];
  private readonly stream: [number, number];
  private block = 0;
  private buffer: [number, number, number, number] = [0, 0, 0, 0];
  private used = 4;

  private constructor(key: [number, number], stream: [number, number]) {
    this.key = key;
    this.stream = stream;
  }

  /** The root stream of a seed (a non-negative safe integer). */
  static fromSeed(seed: number): Rng {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
    }
    return new Rng([seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0], [0, 0]);
  }

  /** A new stream named by `labels` below this one; the same labels always give the same stream. */
  child(...labels: readonly (number | string)[]): Rng {
    let stream: [number, number] = [this.stream[0], this.stream[1]];
    for (const label of labels) {
      const [w0, w1] = labelWord(label);
      // Derivation uses a different key (the top bit of k1 flipped) than draws, so derived stream
      // words never equal a draw of the parent.
      const out = philox4x32(
        [w0, w1, stream[0], stream[1]],
        [this.key[0], this.key[1] ^ 0x80000000],
      );
      stream = [out[0], out[1]];
    }
    return new Rng(this.key, stream);
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  u32(): number {
    if (this.used === 4) {
      const hi = Math.floor(this.block / 2 ** 32) >>> 0;
      this.buffer = philox4x32([this.block >>> 0, hi, this.stream[0], this.stream[1]], this.key);
      this.block++;
      this.used = 0;
    }
    return this.buffer[this.used++];
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const a = this.u32() >>> 5;
    const b = this.u32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Uniform in [lo, hi). */
  uniformIn(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Uniform integer in [lo, hiExclusive), without modulo bias (rejection on 32-bit draws). */
  int(lo: number, hiExclusive: number): number {
    const span = hiExclusive - lo;
    if (!Number.isInteger(lo) || !Number.isInteger(span) || span <= 0 || span > 2 ** 32) {
      throw new RangeError(`bad integer range [${lo}, ${hiExclusive})`);
    }
    const limit = 2 ** 32 - (2 ** 32 % span);
    for (;;) {
      const u = this.u32();
      if (u < limit) return lo + (u % span);
    }
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.uniform() < p;
  }

  /** Standard normal (Box–Muller; uses two uniforms per call). */
  normal(): number {
    const u1 = 1 - this.uniform(); // (0, 1], so the log is finite
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates, from the top). */
  permutation(n: number): Int32Array {
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    return order;
  }

  /** One element of a non-empty list, uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('cannot pick from an empty list');
    return items[this.int(0, items.length)];
  }
}
