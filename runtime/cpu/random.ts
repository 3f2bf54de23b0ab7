// Counter-based random bits for the `random_bits` primitive: Threefry-2x32 with 20 rounds
// (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11). Element i of a
// random_bits node is word 0 of threefry2x32(key, [i, 0]); a WGSL kernel computes the same bits
// with only u32 add/xor/rotate, so every backend draws identical numbers from the same key.

const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24];
const PARITY = 0x1bd11bda;

function rotl(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}

/** Threefry-2x32-20 of counter (c0, c1) under key (k0, k1). */
export function threefry2x32(k0: number, k1: number, c0: number, c1: number): [number, number] {
  const ks = [k0 >>> 0, k1 >>> 0, (PARITY ^ k0 ^ k1) >>> 0];
  let x0 = (c0 + ks[0]) >>> 0;
  let x1 = (c1 + ks[1]) >>> 0;
  for (let round = 0; round < 20; round++) {
    x0 = (x0 + x1) >>> 0;
    x1 = rotl(x1, ROTATIONS[round % 8]);
    x1 = (x1 ^ x0) >>> 0;
    if (round % 4 === 3) {
      const inject = (round + 1) / 4;
      x0 = (x0 + ks[inject % 3]) >>> 0;
      x1 = (x1 + ks[(inject + 1) % 3] + inject) >>> 0;
    }
  }
  return [x0, x1];
}

export function randomBits(key: ArrayLike<number>, out: Uint32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = threefry2x32(key[0], key[1], i, 0)[0];
}
