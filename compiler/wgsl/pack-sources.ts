// Where a packed GEMM operand texel takes its values from: the `load(b, r, c)` function that
// compiler/wgsl/pack.ts inlines. Each source maps (block, row, column) of the logical operand to an
// element of a storage buffer, or to 0 (padding, zero-insertion of a transposed convolution, channel
// padding). Strides and sizes are uniform parameters; only the source *kind* is in the cache key,
// so every shape and every view (transpose, slice, broadcast batch) reuses one pipeline.

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
 * block = n * groups + g, row = padded y, column = padded x * channels4 + c. `upsample` > 1 inserts
 * zeros between input pixels (the input-gradient convolution of a strided forward).
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
  readonly upsampleH: number;
  readonly upsampleW: number;
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
 * Which output pixels (n, oy, ox) a filter-gradient operand block covers. Block b is group
 * b % groups and K chunk b / groups: pixels from `pixelOffset + chunk · chunkLength` (split-K puts
 * the chunks side by side as batch items); pixels at or past `totalPixels` read 0.
 */
export interface PixelChunks {
  readonly groups: number;
  readonly pixelOffset: number;
  readonly chunkLength: number;
  readonly totalPixels: number;
}

/**
 * The transposed im2col of a convolution input, for the filter gradient: row = (c, kh, kw) of the
 * group's input channels, column = output pixel (n, oy, ox) of the block's chunk.
 */
export interface Im2colSource {
  readonly kind: 'im2col';
  readonly input: Strides4;
  readonly geometry: ConvGeometry;
  readonly pixels: PixelChunks;
}

/**
 * The output gradient of a convolution as a [N*OH*OW, outPerGroup] matrix per block (rows = pixels
 * of the block's chunk), the B operand of the filter gradient.
 */
export interface ConvOutputMatrixSource {
  readonly kind: 'conv-output-matrix';
  readonly tensor: Strides4;
  readonly outPerGroup: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly pixels: PixelChunks;
}

export type PackSource =
  MatrixSource | ConvInputSource | ConvWeightSource | Im2colSource | ConvOutputMatrixSource;

function setPixelChunks(p: ParamBlock, c: PixelChunks): void {
  p.set('groups', c.groups)
    .set('pixOff', c.pixelOffset)
    .set('chunkLen', c.chunkLength)
    .set('totalPix', c.totalPixels);
}

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
  return source.kind === 'conv-input' || source.kind === 'im2col';
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
        .setI32('padL', source.padLeft)
        .set('upH', source.upsampleH)
        .set('upW', source.upsampleW);
      // Texel level: the 4 channels of a texel share the pixel, so its address math runs once.
      return `fn texel(b: u32, r: u32, q: u32) -> vec4f {
  let px = q / params.cq;
  let ch0 = (q % params.cq) * 4u;
  let yu = i32(r) - bitcast<i32>(params.padT);
  let xu = i32(px) - bitcast<i32>(params.padL);
  if (yu < 0 || xu < 0 || ch0 >= params.cpg) { return vec4f(0.0); }
  if (u32(yu) % params.upH != 0u || u32(xu) % params.upW != 0u) { return vec4f(0.0); }
  let y = u32(yu) / params.upH;
  let x = u32(xu) / params.upW;
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
    case 'im2col': {
      const g = source.geometry;
      setStrides(p, 't', source.input);
      p.set('cpg', g.inChannels / g.groups)
        .set('kh', g.kernelHeight)
        .set('kw', g.kernelWidth)
        .set('sh', g.strideH)
        .set('sw', g.strideW)
        .set('ph', g.padH)
        .set('pw', g.padW)
        .set('dh', g.dilationH)
        .set('dw', g.dilationW)
        .set('ih', g.inHeight)
        .set('iw', g.inWidth)
        .set('oh', g.outHeight)
        .set('ow', g.outWidth);
      setPixelChunks(p, source.pixels);
      // Texel level: the tap (c, ky, kx) is decoded once and the 4 pixels are stepped, because
      // integer division is scalarised (slow) on llvmpipe.
      return `fn texel(b: u32, r: u32, q: u32) -> vec4f {
  if (r >= params.validRows) { return vec4f(0.0); }
  let khw = params.kh * params.kw;
  let ch = r / khw;
  let ky = (r % khw) / params.kw;
  let kx = r % params.kw;
  let g = b % params.groups;
  let c0 = q * 4u + params.pixOff + (b / params.groups) * params.chunkLen;
  let ohw = params.oh * params.ow;
  var n = c0 / ohw;
  let pix = c0 % ohw;
  var oy = pix / params.ow;
  var ox = pix % params.ow;
  let chBase = params.tOff + (g * params.cpg + ch) * params.tS1;
  var v = vec4f(0.0);
  for (var j = 0u; j < 4u; j++) {
    if (q * 4u + j < params.cols && c0 + j < params.totalPix) {
      let y = i32(oy * params.sh + ky * params.dh) - i32(params.ph);
      let x = i32(ox * params.sw + kx * params.dw) - i32(params.pw);
      if (y >= 0 && x >= 0 && u32(y) < params.ih && u32(x) < params.iw) {
        v[j] = src[chBase + n * params.tS0 + u32(y) * params.tS2 + u32(x) * params.tS3];
      }
    }
    ox += 1u;
    while (ox >= params.ow) { ox -= params.ow; oy += 1u; }
    while (oy >= params.oh) { oy -= params.oh; n += 1u; }
  }
  return v;
}`;
    }
    case 'conv-output-matrix':
      setStrides(p, 't', source.tensor);
      p.set('opg', source.outPerGroup).set('oh', source.outHeight).set('ow', source.outWidth);
      setPixelChunks(p, source.pixels);
      return `fn load(b: u32, r: u32, c: u32) -> f32 {
  let row = r + params.pixOff + (b / params.groups) * params.chunkLen;
  if (row >= params.totalPix) { return 0.0; }
  let ohw = params.oh * params.ow;
  let n = row / ohw;
  let pix = row % ohw;
  let g = b % params.groups;
  return src[params.tOff + n * params.tS0 + (g * params.opg + c) * params.tS1 + (pix / params.ow) * params.tS2 + (pix % params.ow) * params.tS3];
}`;
    default:
      return source satisfies never;
  }
}
