// Where a packed GEMM operand texel takes its values from: the `load(b, r, c)` function that
// compiler/wgsl/pack.ts inlines. Each source maps (block, row, column) of the logical operand to an
// element of a storage buffer, or to 0 (spatial padding, channel padding, rows past the end).
// Strides and sizes are uniform parameters; only the source *kind* is in the cache key, so every
// shape and every view (transpose, slice, broadcast batch) reuses one pipeline.

import type { ParamBlock } from './kernel.js';

/** A strided [batch1, batch2, rows, cols] view of a buffer (element strides; 0 = broadcast). */
export interface MatrixSource {
  readonly kind: 'matrix';
  readonly offset: number;
  readonly batchInner: number;
  readonly strideBatchOuter: number;
  readonly strideBatchInner: number;
  readonly strideRow: number;
  readonly strideCol: number;
}

/** Geometry of a 2-D convolution over an NCHW tensor, PyTorch conventions. */
export interface ConvGeometry {
  readonly batch: number;
  readonly groups: number;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly inHeight: number;
  readonly inWidth: number;
  readonly kernelHeight: number;
  readonly kernelWidth: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly padH: number;
  readonly padW: number;
  readonly dilationH: number;
  readonly dilationW: number;
  readonly outHeight: number;
  readonly outWidth: number;
}

/** Element strides of an NCHW tensor (or of the OIHW weight: o, i, h, w). */
export interface Strides4 {
  readonly offset: number;
  readonly s0: number;
  readonly s1: number;
  readonly s2: number;
  readonly s3: number;
}

/**
 * The input of an implicit-GEMM convolution, as NHWC4 texels with the spatial padding baked in:
 * block = n * groups + g, row = padded y, column = padded x * channels4 + c.
 */
export interface ConvInputSource {
  readonly kind: 'conv-input';
  readonly tensor: Strides4;
  readonly channelsPerGroup: number;
  readonly channels4: number;
  readonly groups: number;
  readonly height: number;
  readonly width: number;
  /** May be negative: the input-gradient convolution crops when padding > dilation * (k - 1). */
  readonly padTop: number;
  readonly padLeft: number;
}

/**
 * Convolution weights as the B operand: block = group, row = (kh * KW + kw) * channels4 + r,
 * column = output channel within the group. `reduceAxis` says which weight axis is summed over
 * (1 for the forward, 0 for the input gradient), `flip` rotates the kernel by 180°.
 */
export interface ConvWeightSource {
  readonly kind: 'conv-weight';
  readonly weight: Strides4;
  readonly reduceAxis: 0 | 1;
  readonly reduceChannels: number;
  readonly channels4: number;
  readonly outPerGroup: number;
  readonly kernelHeight: number;
  readonly kernelWidth: number;
  readonly flip: boolean;
}

/**
 * The output gradient of a convolution as the A operand of the implicit-GEMM filter gradient
 * (conv-filter-grad.ts): block = chunk · groups + g, row = output channel of the group, column =
 * output pixel (n, oy, ox) of the chunk's rows [chunk · rowsPerChunk, …) with rows padded to
 * `paddedWidth` (a multiple of 4) pixels, so a texel is 4 consecutive ox of one output row.
 */
export interface ConvGradRowsSource {
  readonly kind: 'conv-grad-rows';
  readonly tensor: Strides4;
  readonly groups: number;
  readonly outPerGroup: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly paddedWidth: number;
  /** Output rows (n, oy) per chunk, and in all (N · OH); rows past it read 0. */
  readonly rowsPerChunk: number;
  readonly totalRows: number;
}

export type PackSource = MatrixSource | ConvInputSource | ConvWeightSource | ConvGradRowsSource;

function setStrides(p: ParamBlock, prefix: string, s: Strides4): void {
  p.set(`${prefix}Off`, s.offset)
    .set(`${prefix}S0`, s.s0)
    .set(`${prefix}S1`, s.s1)
    .set(`${prefix}S2`, s.s2)
    .set(`${prefix}S3`, s.s3);
}

/** The part of a pack kernel's cache key that its source decides. */
export function packSourceKey(source: PackSource): string {
  return source.kind === 'conv-weight' ? `conv-weight-r${source.reduceAxis}` : source.kind;
}

/** Sources whose WGSL defines `texel(b, r, q) -> vec4f` (with its own bounds checks) rather than `load`. */
export function isTexelLevel(source: PackSource): boolean {
  return source.kind === 'conv-input' || source.kind === 'conv-grad-rows';
}

/**
 * Fills the source's parameters and returns the WGSL of `fn load(b, r, c) -> f32`, or for
 * texel-level sources `fn texel(b, r, q) -> vec4f`.
 */
export function packSourceWgsl(source: PackSource, p: ParamBlock): string {
  switch (source.kind) {
    case 'matrix':
      p.set('off', source.offset)
        .set('batchInner', Math.max(source.batchInner, 1))
        .set('sB1', source.strideBatchOuter)
        .set('sB2', source.strideBatchInner)
        .set('sR', source.strideRow)
        .set('sC', source.strideCol);
      return `fn load(b: u32, r: u32, c: u32) -> f32 {
  let base = params.off + (b / params.batchInner) * params.sB1 + (b % params.batchInner) * params.sB2;
  return src[base + r * params.sR + c * params.sC];
}`;
    case 'conv-input':
      setStrides(p, 't', source.tensor);
      p.set('cpg', source.channelsPerGroup)
        .set('cq', source.channels4 / 4)
        .set('groups', source.groups)
        .set('h', source.height)
        .set('w', source.width)
        .setI32('padT', source.padTop)
        .setI32('padL', source.padLeft);
      // Texel level: the 4 channels of a texel share the pixel, so its address math runs once.
      return `fn texel(b: u32, r: u32, q: u32) -> vec4f {
  let px = q / params.cq;
  let ch0 = (q % params.cq) * 4u;
  let yu = i32(r) - bitcast<i32>(params.padT);
  let xu = i32(px) - bitcast<i32>(params.padL);
  if (yu < 0 || xu < 0 || ch0 >= params.cpg) { return vec4f(0.0); }
  let y = u32(yu);
  let x = u32(xu);
  if (y >= params.h || x >= params.w) { return vec4f(0.0); }
  let n = b / params.groups;
  let g = b % params.groups;
  let base = params.tOff + n * params.tS0 + (g * params.cpg + ch0) * params.tS1 + y * params.tS2 + x * params.tS3;
  var v = vec4f(0.0);
  for (var j = 0u; j < 4u; j++) {
    if (ch0 + j < params.cpg) { v[j] = src[base + j * params.tS1]; }
  }
  return v;
}`;
    case 'conv-weight': {
      setStrides(p, 'w', source.weight);
      p.set('rch', source.reduceChannels)
        .set('c4', source.channels4)
        .set('opg', source.outPerGroup)
        .set('kh', source.kernelHeight)
        .set('kw', source.kernelWidth)
        .set('flip', source.flip ? 1 : 0);
      // Weight axis 0 is the output channel of the forward convolution, axis 1 its input channel.
      const [outStride, reduceStride, groupStride] =
        source.reduceAxis === 1
          ? ['params.wS0', 'params.wS1', 'params.opg * params.wS0']
          : ['params.wS1', 'params.wS0', 'params.rch * params.wS0'];
      return `fn load(b: u32, r: u32, c: u32) -> f32 {
  let ch = r % params.c4;
  if (ch >= params.rch) { return 0.0; }
  let khw = r / params.c4;
  var ky = khw / params.kw;
  var kx = khw % params.kw;
  if (params.flip != 0u) { ky = params.kh - 1u - ky; kx = params.kw - 1u - kx; }
  return src[params.wOff + b * ${groupStride} + c * ${outStride} + ch * ${reduceStride} + ky * params.wS2 + kx * params.wS3];
}`;
    }
    case 'conv-grad-rows':
      setStrides(p, 't', source.tensor);
      p.set('groups', source.groups)
        .set('opg', source.outPerGroup)
        .set('oh', source.outHeight)
        .set('ow', source.outWidth)
        .set('ow4', source.paddedWidth)
        .set('rpc', source.rowsPerChunk)
        .set('rowsTotal', source.totalRows);
      // Texel level: the 4 pixels of a texel share the output row, so its address math runs once.
      return `fn texel(b: u32, r: u32, q: u32) -> vec4f {
  let rho = (b / params.groups) * params.rpc + (q * 4u) / params.ow4;
  if (r >= params.validRows || rho >= params.rowsTotal) { return vec4f(0.0); }
  let ox0 = (q * 4u) % params.ow4;
  let g = b % params.groups;
  let base = params.tOff + (rho / params.oh) * params.tS0 + (g * params.opg + r) * params.tS1 + (rho % params.oh) * params.tS2;
  var v = vec4f(0.0);
  for (var j = 0u; j < 4u; j++) {
    if (ox0 + j < params.ow) { v[j] = src[base + (ox0 + j) * params.tS3]; }
  }
  return v;
}`;
    default:
      return source satisfies never;
  }
}
