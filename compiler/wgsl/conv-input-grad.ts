// The input gradient of a strided 2-D convolution (= conv_transpose2d) as one register-blocked
// implicit-GEMM kernel that visits only the taps that contribute: the stride-phase decomposition.
// Input pixel (iy, ix) of phase (iy mod sh, ix mod sw) receives dY[oy] · W[ky] only for the taps
// with (iy + padH − ky·dh) divisible by sh, so each of the sh·sw phases is a dense stride-1
// convolution of the (not upsampled) output gradient with a subset of the taps. The phases run as
// batch items of one dispatch; a tap that does not belong to a workgroup's phase is skipped by a
// uniform branch. Compared with a convolution over the zero-upsampled gradient this does 1/(sh·sw)
// of the multiply-adds and packs sh·sw times fewer texels.
//
// Operands (rgba32float textures written by pack.ts): A = dY as zero-padded NHWC4 texels
// ('conv-input' source, block = n·groups + g), B = the weights as [tap, out channel] rows with the
// input channels of the group as columns ('conv-weight', reduceAxis 0, not flipped). Rows of the GEMM
// are (n, ry, rx) on the phase grid ⌈H/sh⌉ × ⌈W/sw⌉ (a phase with fewer rows masks the rest at the
// store), columns are the input channels of the group. Flow: runtime/webgpu/conv2d-input-grad.ts →
// **conv-input-grad** → dispatch.

import { registerTileEntry, registerTileStep, type GemmTile } from './gemm.js';
import { foldGrid, ParamBlock, type Kernel, type KernelTarget } from './kernel.js';
import type { ConvGeometry, Strides4 } from './pack-sources.js';
import type { TextureLayout } from './texture-layout.js';

/** Where the phase grid of the output gradient sits in its padded texture. */
export interface PhaseGrid {
  /** Rows / columns of the largest phase: ⌈H/sh⌉, ⌈W/sw⌉. */
  readonly rows: number;
  readonly cols: number;
  /** Zero rows / columns above and left of dY in its texture (the most negative tap offset). */
  readonly padTop: number;
  readonly padLeft: number;
  /** The texture's height and width in pixels. */
  readonly height: number;
  readonly width: number;
}

/**
 * The phase grid of a convolution's input gradient: for input row iy = py + sh·ry and a
 * contributing tap ky, the output-gradient row read is oy = ry + (py + padH − ky·dh) / sh.
 */
export function phaseGrid(g: ConvGeometry): PhaseGrid {
  const axis = (size: number, s: number, p: number, d: number, k: number) => {
    const cells = Math.ceil(size / s);
    // The offsets (phase + pad − tap·d) / s of the contributing (phase, tap) pairs.
    let minOffset = 0;
    let maxOffset = 0;
    for (let phase = 0; phase < s; phase++)
      for (let tap = 0; tap < k; tap++) {
        const e = phase + p - tap * d;
        if (e % s !== 0) continue;
        minOffset = Math.min(minOffset, e / s);
        maxOffset = Math.max(maxOffset, e / s);
      }
    const pad = 0 - minOffset;
    return { cells, pad, extent: Math.max(1, cells + maxOffset + pad) };
  };
  const y = axis(g.inHeight, g.strideH, g.padH, g.dilationH, g.kernelHeight);
  const x = axis(g.inWidth, g.strideW, g.padW, g.dilationW, g.kernelWidth);
  return {
    rows: y.cells,
    cols: x.cells,
    padTop: y.pad,
    padLeft: x.pad,
    height: y.extent,
    width: x.extent,
  };
}

export interface ConvInputGradSpec {
  readonly label: string;
  readonly geometry: ConvGeometry;
  readonly grid: PhaseGrid;
  /** Texels (4 output channels each) per pixel of the packed output gradient. */
  readonly channelTexels: number;
  readonly aLayout: TextureLayout;
  readonly bLayout: TextureLayout;
  /** Element strides of the NCHW input gradient that receives the result. */
  readonly out: Strides4;
  readonly accumulate: boolean;
  readonly tile: GemmTile;
}

export function convInputGradKernel(spec: ConvInputGradSpec, target: KernelTarget): Kernel {
  const { tile, geometry: g, grid: pg } = spec;
  const TM = tile.rows;
  const NV = tile.vec4Cols;
  const SG = tile.subgroup;
  if (SG && (TM % SG !== 0 || tile.lanes % SG !== 0)) {
    throw new Error(`conv input grad tile ${TM}x${4 * NV}x${tile.lanes} does not suit subgroups`);
  }
  const M = g.batch * pg.rows * pg.cols;
  const N = g.inChannels / g.groups;
  const tilesN = Math.ceil(N / (tile.lanes * 4 * NV));
  const tilesM = Math.ceil(M / TM);
  const tiles = tilesN * tilesM * g.strideH * g.strideW * g.groups;
  const grid = foldGrid(tiles, target.maxComputeWorkgroupsPerDimension);
  const params = new ParamBlock()
    .set('M', M)
    .set('N', N)
    .set('tilesN', tilesN)
    .set('tilesM', tilesM)
    .set('tiles', tiles)
    .set('gridX', grid[0])
    .set('groups', g.groups)
    .set('sh', g.strideH)
    .set('sw', g.strideW)
    .set('dh', g.dilationH)
    .set('dw', g.dilationW)
    .set('ph', g.padH)
    .set('pw', g.padW)
    .set('kh', g.kernelHeight)
    .set('kw', g.kernelWidth)
    .set('cq', spec.channelTexels)
    .set('hwq', pg.rows * pg.cols)
    .set('wq', pg.cols)
    .set('hq', pg.rows)
    .set('padT', pg.padTop)
    .set('padL', pg.padLeft)
    .set('h', g.inHeight)
    .set('w', g.inWidth)
    .set('aBpc', spec.aLayout.blocksPerColumn)
    .set('aQ', spec.aLayout.texelsPerRow)
    .set('aRows', spec.aLayout.rows)
    .set('bBpc', spec.bLayout.blocksPerColumn)
    .set('bQ', spec.bLayout.texelsPerRow)
    .set('bRows', spec.bLayout.rows)
    .set('oOff', spec.out.offset)
    .set('oS0', spec.out.s0)
    .set('oS1', spec.out.s1)
    .set('oS2', spec.out.s2)
    .set('oS3', spec.out.s3);

  const slots = SG ? TM / SG : TM;
  const lines: string[] = [];
  const emit = (s: string) => lines.push(s);
  if (SG) emit('enable subgroups;');
  emit(
    `// conv input grad by stride phase: ${TM}x${4 * NV} per invocation, ${tile.lanes} lanes${SG ? `, dY rows shared over subgroups of ${SG}` : ''}`,
  );
  emit(params.declare(3).trimEnd());
  emit('@group(0) @binding(0) var At: texture_2d<f32>;');
  emit('@group(0) @binding(1) var Bt: texture_2d<f32>;');
  emit('@group(0) @binding(2) var<storage, read_write> out: array<f32>;');
  emit('');
  for (const line of registerTileEntry(tile)) emit(line);
  emit('  let g = b % params.groups;');
  emit('  let phase = b / params.groups;');
  emit('  let py = phase / params.sw;');
  emit('  let px = phase % params.sw;');
  emit(`  let col4 = (tn * ${tile.lanes}u + lid.x) * ${NV}u;`);
  emit('  let bx = (g / params.bBpc) * params.bQ + col4;');
  emit('  let by = (g % params.bBpc) * params.bRows;');
  for (let q = 0; q < slots; q++) {
    const row = SG ? `row0 + ${q * SG}u + sl` : `row0 + ${q}u`;
    emit(`  let m${q} = min(${row}, M - 1u);`);
    emit(`  let r${q} = m${q} % params.hwq;`);
    emit(`  let blk${q} = (m${q} / params.hwq) * params.groups + g;`);
    emit(`  let ax${q} = (blk${q} / params.aBpc) * params.aQ + (r${q} % params.wq) * params.cq;`);
    emit(`  let ay${q} = (blk${q} % params.aBpc) * params.aRows + r${q} / params.wq;`);
  }
  for (let i = 0; i < TM; i++) for (let v = 0; v < NV; v++) emit(`  var c${i}_${v} = vec4f(0.0);`);
  // Tap offsets on the phase grid: (p + pad − k·d) / s when it divides, else the tap is not this
  // phase's (a uniform branch). WGSL's i32 % truncates, which is fine for a divisibility test.
  emit('  let sh = i32(params.sh);');
  emit('  let sw = i32(params.sw);');
  emit('  for (var ky = 0u; ky < params.kh; ky++) {');
  emit('    let ey = i32(py + params.ph) - i32(ky * params.dh);');
  emit('    if (ey % sh != 0) { continue; }');
  emit('    let dy = u32(ey / sh + i32(params.padT));');
  emit('    for (var kx = 0u; kx < params.kw; kx++) {');
  emit('      let ex = i32(px + params.pw) - i32(kx * params.dw);');
  emit('      if (ex % sw != 0) { continue; }');
  emit('      let dx = u32(ex / sw + i32(params.padL)) * params.cq;');
  emit('      var kb = (ky * params.kw + kx) * params.cq * 4u;');
  emit('      for (var c = 0u; c < params.cq; c++) {');
  lines.push(
    ...registerTileStep(
      tile,
      '        ',
      (q) => `vec2u(ax${q} + dx + c, ay${q} + dy)`,
      (v, j) => `vec2u(bx + ${v}u, by + kb + ${j}u)`,
    ),
  );
  emit('        kb += 4u;');
  emit('      }');
  emit('    }');
  emit('  }');
  // Store: row (n, ry, rx) of the phase grid is input pixel (py + sh·ry, px + sw·rx). The row's
  // (n, ry, rx) is stepped, not divided per row (llvmpipe scalarises integer division).
  emit('  let N = params.N;');
  emit('  let gBase = params.oOff + g * N * params.oS1;');
  emit('  var rn = row0 / params.hwq;');
  emit('  let rr = row0 % params.hwq;');
  emit('  var ry = rr / params.wq;');
  emit('  var rx = rr % params.wq;');
  for (let i = 0; i < TM; i++) {
    if (i > 0) {
      emit('  rx += 1u;');
      emit(
        '  if (rx == params.wq) { rx = 0u; ry += 1u; if (ry == params.hq) { ry = 0u; rn += 1u; } }',
      );
    }
    emit(`  if (row0 + ${i}u < M) {`);
    emit('    let iy = py + ry * params.sh;');
    emit('    let ix = px + rx * params.sw;');
    emit('    if (iy < params.h && ix < params.w) {');
    emit('      let ro = gBase + rn * params.oS0 + iy * params.oS2 + ix * params.oS3;');
    for (let v = 0; v < NV; v++) {
      emit('      for (var j = 0u; j < 4u; j++) {');
      emit(`        let n = (col4 + ${v}u) * 4u + j;`);
      emit('        if (n < N) {');
      emit('          let o = ro + n * params.oS1;');
      emit(`          out[o] = ${spec.accumulate ? `out[o] + c${i}_${v}[j]` : `c${i}_${v}[j]`};`);
      emit('        }');
      emit('      }');
    }
    emit('    }');
    emit('  }');
  }
  emit('}');

  const key = [
    'conv-input-grad',
    `tm${TM}`,
    `nv${NV}`,
    `wx${tile.lanes}`,
    `sg${SG}`,
    spec.accumulate ? 'acc' : 'set',
  ].join('/');
  return {
    key,
    label: spec.label,
    wgsl: lines.join('\n') + '\n',
    bindings: [
      { name: 'At', kind: 'texture' },
      { name: 'Bt', kind: 'texture' },
      { name: 'out', kind: 'storage-read-write' },
      { name: 'params', kind: 'uniform' },
    ],
    workgroups: grid,
    params: params.data(),
  };
}
