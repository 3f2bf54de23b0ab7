// Plain-JS reference implementations and data helpers for the WGSL kernel tests (test/wgsl). They
// are written independently of the generators (straight loops over the definitions) so a test
// compares two unrelated computations.

/** Deterministic values in [-1, 1) from a linear congruential generator. */
export function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
  return out;
}

/** C[b] = op(A[b]) · op(B[b]) with A stored [batchA, M, K] (or [batchA, K, M] when transposed). */
export function matmulReference(
  a: Float32Array,
  b: Float32Array,
  batch: number,
  M: number,
  N: number,
  K: number,
  opts: { transA?: boolean; transB?: boolean; batchA?: number; batchB?: number } = {},
): Float32Array {
  const out = new Float32Array(batch * M * N);
  for (let p = 0; p < batch; p++) {
    const pa = (opts.batchA ?? batch) === 1 ? 0 : p;
    const pb = (opts.batchB ?? batch) === 1 ? 0 : p;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = opts.transA ? a[pa * M * K + k * M + i] : a[pa * M * K + i * K + k];
          const bv = opts.transB ? b[pb * K * N + j * K + k] : b[pb * K * N + k * N + j];
          s += av * bv;
        }
        out[p * M * N + i * N + j] = s;
      }
    }
  }
  return out;
}

export interface ConvShape {
  n: number;
  c: number;
  h: number;
  w: number;
  o: number;
  kh: number;
  kw: number;
  stride: [number, number];
  pad: [number, number];
  dilation: [number, number];
  groups: number;
}

export function convOutSize(s: ConvShape): [number, number] {
  const oh = Math.floor((s.h + 2 * s.pad[0] - s.dilation[0] * (s.kh - 1) - 1) / s.stride[0]) + 1;
  const ow = Math.floor((s.w + 2 * s.pad[1] - s.dilation[1] * (s.kw - 1) - 1) / s.stride[1]) + 1;
  return [oh, ow];
}

/**
 * Visits every (output, input, weight) index triple of a 2-D convolution (NCHW, OIHW weights,
 * PyTorch semantics); forward, input gradient and filter gradient are all sums over these.
 */
function forEachTap(s: ConvShape, visit: (yi: number, xi: number, wi: number) => void): void {
  const [oh, ow] = convOutSize(s);
  const cg = s.c / s.groups;
  const og = s.o / s.groups;
  for (let n = 0; n < s.n; n++)
    for (let o = 0; o < s.o; o++) {
      const g = Math.floor(o / og);
      for (let y = 0; y < oh; y++)
        for (let x = 0; x < ow; x++)
          for (let ci = 0; ci < cg; ci++)
            for (let ky = 0; ky < s.kh; ky++)
              for (let kx = 0; kx < s.kw; kx++) {
                const iy = y * s.stride[0] - s.pad[0] + ky * s.dilation[0];
                const ix = x * s.stride[1] - s.pad[1] + kx * s.dilation[1];
                if (iy < 0 || ix < 0 || iy >= s.h || ix >= s.w) continue;
                const c = g * cg + ci;
                visit(
                  ((n * s.o + o) * oh + y) * ow + x,
                  ((n * s.c + c) * s.h + iy) * s.w + ix,
                  ((o * cg + ci) * s.kh + ky) * s.kw + kx,
                );
              }
    }
}

export function conv2dReference(
  s: ConvShape,
  input: Float32Array,
  weight: Float32Array,
): Float32Array {
  const [oh, ow] = convOutSize(s);
  const out = new Float32Array(s.n * s.o * oh * ow);
  forEachTap(s, (yi, xi, wi) => (out[yi] += input[xi] * weight[wi]));
  return out;
}

export function conv2dInputGradReference(
  s: ConvShape,
  gradOut: Float32Array,
  weight: Float32Array,
): Float32Array {
  const out = new Float32Array(s.n * s.c * s.h * s.w);
  forEachTap(s, (yi, xi, wi) => (out[xi] += gradOut[yi] * weight[wi]));
  return out;
}

export function conv2dFilterGradReference(
  s: ConvShape,
  input: Float32Array,
  gradOut: Float32Array,
): Float32Array {
  const out = new Float32Array((s.o * s.c * s.kh * s.kw) / s.groups);
  forEachTap(s, (yi, xi, wi) => (out[wi] += gradOut[yi] * input[xi]));
  return out;
}

/** Largest |a - b| relative to max(1, |b|). */
export function maxRelError(actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const e = Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
}
