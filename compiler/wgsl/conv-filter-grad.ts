// The filter gradient of a 2-D convolution as an implicit GEMM over the output pixels, with no
// im2col in memory: dW[g][o, (ky, kx, c)] = Σ_pixels dY[pixel, o] · X[pixel ⊕ tap, c]. Rows are the
// output channels of the group, columns (ky, kx, channel texel) — a column texel of 4 channels is one
// NHWC4 texel of the zero-padded input, read at the pixel's position plus the tap — and K runs over
// output pixels, 4 at a time (one texel of the packed output gradient: 4 consecutive ox of a row,
// rows padded to a multiple of 4). K is long (N·OH·OW) and the output small, so K is split into
// chunks of output rows that run side by side as batch items into a scratch buffer of partials;
// `convFilterGradSumKernel` adds them up into the OIHW gradient.
//
// Operands (rgba32float textures written by pack.ts): A = the output gradient, 'conv-grad-rows'
// source (block = chunk·groups + g, row = out channel, texel = 4 pixels); B = the input as
// 'conv-input' (block = n·groups + g, padded by the forward padding). The register tile, subgroup
// sharing of A and the FMA chain are gemm.ts's (`registerTileStep`). Flow:
// runtime/webgpu/conv2d-filter-grad.ts → **conv-filter-grad** → dispatch.

import { chooseGemmTile, registerTileEntry, registerTileStep, type GemmTile } from './gemm.js';
import { ceilDiv, foldGrid, ParamBlock, type Kernel, type KernelTarget } from './kernel.js';
import type { ConvGeometry } from './pack-sources.js';
import type { TextureLayout } from './texture-layout.js';

export interface ConvFilterGradSpec {
  readonly label: string;
  readonly geometry: ConvGeometry;
  /** Output rows (n, oy) per K chunk; chunk p covers rows [p·rowsPerChunk, (p+1)·rowsPerChunk). */
  readonly rowsPerChunk: number;
  readonly chunks: number;
  /** Output width rounded up to a multiple of 4 (pixels per packed output-gradient row). */
  readonly paddedOutWidth: number;
  /** Texels (4 input channels each) per pixel of the packed input. */
  readonly channelTexels: number;
  readonly aLayout: TextureLayout;
  readonly bLayout: TextureLayout;
  readonly tile: GemmTile;
}

/** Columns of the implicit GEMM: (ky, kx, channel texel) × 4. */
export function filterGradColumns(g: ConvGeometry, channelTexels: number): number {
  return g.kernelHeight * g.kernelWidth * channelTexels * 4;
}

/**
 * The register tile for the filter gradient on software adapters: 32 rows (output channels) shared
 * over the subgroup, and the lanes × vec4 columns that cover the (ky, kx, channel texel) columns
 * with the least estimated cost — wasted columns of a partial tile cost as much as real ones (the
 * layers of a 3x3 CNN have 9·cq texel columns, which 32 lanes × 2 vec4 would pad by up to 44 %).
 * Cost per K step and lane: 4·NV B loads and TM/SG A loads (≈ 4 FMAs each) plus TM·NV FMAs.
 * Other adapters get the GEMM's conv tile.
 */
export function chooseFilterGradTile(
  target: KernelTarget,
  outPerGroup: number,
  columns: number,
  K: number,
): GemmTile {
  if (!target.isSoftware) return chooseGemmTile(target, outPerGroup, columns, 'conv', K);
  const sg = target.subgroupSize ?? 0;
  const unit = sg || 8;
  const rows = sg ? Math.min(4 * sg, Math.ceil(outPerGroup / sg) * sg) : outPerGroup >= 8 ? 8 : 4;
  const slots = sg ? rows / sg : rows;
  const texels = Math.ceil(columns / 4);
  let best: GemmTile | undefined;
  let bestCost = Infinity;
  for (const vec4Cols of [2, 1])
    for (let lanes = 4 * unit; lanes >= unit; lanes -= unit) {
      const perTile = lanes * vec4Cols;
      const padded = Math.ceil(texels / perTile) * perTile;
      const cost = (padded / vec4Cols) * (4 * (4 * vec4Cols + slots) + rows * vec4Cols);
      if (cost < bestCost) {
        bestCost = cost;
        best = { rows, vec4Cols, lanes, subgroup: sg };
      }
    }
  return best!;
}

export function convFilterGradKernel(spec: ConvFilterGradSpec, target: KernelTarget): Kernel {
  const { tile, geometry: g } = spec;
  const TM = tile.rows;
  const NV = tile.vec4Cols;
  const SG = tile.subgroup;
  if (SG && (TM % SG !== 0 || tile.lanes % SG !== 0)) {
    throw new Error(`conv filter grad tile ${TM}x${4 * NV}x${tile.lanes} does not suit subgroups`);
  }
  const M = g.outChannels / g.groups;
  const N = filterGradColumns(g, spec.channelTexels);
  const tilesN = ceilDiv(N, tile.lanes * 4 * NV);
  const tilesM = ceilDiv(M, TM);
  const tiles = tilesN * tilesM * spec.chunks * g.groups;
  const grid = foldGrid(tiles, target.maxComputeWorkgroupsPerDimension);
  const params = new ParamBlock()
    .set('M', M)
    .set('N', N)
    .set('tilesN', tilesN)
    .set('tilesM', tilesM)
    .set('tiles', tiles)
    .set('gridX', grid[0])
    .set('groups', g.groups)
    .set('rpc', spec.rowsPerChunk)
    .set('rowsTotal', g.batch * g.outHeight)
    .set('oh', g.outHeight)
    .set('q4', spec.paddedOutWidth / 4)
    .set('taps', g.kernelHeight * g.kernelWidth)
    .set('kw', g.kernelWidth)
    .set('sh', g.strideH)
    .set('xs', g.strideW * spec.channelTexels)
    .set('dh', g.dilationH)
    .set('dw', g.dilationW)
    .set('cq', spec.channelTexels)
    .set('aBpc', spec.aLayout.blocksPerColumn)
    .set('aQ', spec.aLayout.texelsPerRow)
    .set('aRows', spec.aLayout.rows)
    .set('bBpc', spec.bLayout.blocksPerColumn)
    .set('bQ', spec.bLayout.texelsPerRow)
    .set('bRows', spec.bLayout.rows);

  const slots = SG ? TM / SG : TM;
  const lines: string[] = [];
  const emit = (s: string) => lines.push(s);
  if (SG) emit('enable subgroups;');
  emit(
    `// conv filter grad, implicit GEMM over output pixels: ${TM}x${4 * NV} per invocation, ${tile.lanes} lanes${SG ? `, dY rows shared over subgroups of ${SG}` : ''}`,
  );
  emit(params.declare(3).trimEnd());
  emit('@group(0) @binding(0) var At: texture_2d<f32>;');
  emit('@group(0) @binding(1) var Bt: texture_2d<f32>;');
  emit('@group(0) @binding(2) var<storage, read_write> partial: array<f32>;');
  emit('');
  for (const line of registerTileEntry(tile)) emit(line);
  emit('  let g = b % params.groups;');
  emit(`  let col4 = (tn * ${tile.lanes}u + lid.x) * ${NV}u;`);
  // Per vec4 column: the tap (clamped: columns past N are computed but never stored) and its offset
  // in the padded input.
  for (let v = 0; v < NV; v++) {
    emit(`  let tap${v} = min((col4 + ${v}u) / params.cq, params.taps - 1u);`);
    emit(
      `  let bx${v} = (tap${v} % params.kw) * params.dw * params.cq + (col4 + ${v}u) % params.cq;`,
    );
    emit(`  let by${v} = (tap${v} / params.kw) * params.dh;`);
  }
  emit('  let ax = (b / params.aBpc) * params.aQ;');
  for (let q = 0; q < slots; q++) {
    const row = SG ? `row0 + ${q * SG}u + sl` : `row0 + ${q}u`;
    emit(`  let ay${q} = (b % params.aBpc) * params.aRows + min(${row}, M - 1u);`);
  }
  for (let i = 0; i < TM; i++) for (let v = 0; v < NV; v++) emit(`  var c${i}_${v} = vec4f(0.0);`);
  // K runs over this chunk's output rows (n, oy), q4 texels (4 pixels) each, as one flat loop with
  // incremental counters: llvmpipe scalarises integer division, so the block origin is recomputed
  // only when the image changes.
  emit('  let rho0 = (b / params.groups) * params.rpc;');
  emit('  let kEnd = (min(rho0 + params.rpc, params.rowsTotal) - rho0) * params.q4;');
  emit('  let xs = params.xs;');
  emit('  let xs4 = 4u * xs;');
  emit('  var oy = rho0 % params.oh;');
  emit('  var blk = (rho0 / params.oh) * params.groups + g;');
  emit('  var x0 = (blk / params.bBpc) * params.bQ;');
  emit('  var xk = x0;');
  emit('  var yk = (blk % params.bBpc) * params.bRows + oy * params.sh;');
  emit('  var q = 0u;');
  emit('  for (var k = 0u; k < kEnd; k++) {');
  lines.push(
    ...registerTileStep(
      tile,
      '    ',
      (q) => `vec2u(ax + k, ay${q})`,
      (v, j) => `vec2u(xk + bx${v}${j ? ` + ${j}u * xs` : ''}, yk + by${v})`,
    ),
  );
  emit('    q += 1u;');
  emit('    xk += xs4;');
  emit('    if (q == params.q4) {');
  emit('      q = 0u;');
  emit('      oy += 1u;');
  emit('      yk += params.sh;');
  emit('      xk = x0;');
  emit('      if (oy == params.oh) {');
  emit('        oy = 0u;');
  emit('        blk += params.groups;');
  emit('        x0 = (blk / params.bBpc) * params.bQ;');
  emit('        xk = x0;');
  emit('        yk = (blk % params.bBpc) * params.bRows;');
  emit('      }');
  emit('    }');
  emit('  }');
  // Partials: [chunk · groups + g][o][column], plain.
  emit('  let N = params.N;');
  for (let i = 0; i < TM; i++) {
    emit(`  if (row0 + ${i}u < M) {`);
    emit(`    let ro = (b * M + row0 + ${i}u) * N;`);
    for (let v = 0; v < NV; v++) {
      emit('    for (var j = 0u; j < 4u; j++) {');
      emit(`      let n = (col4 + ${v}u) * 4u + j;`);
      emit(`      if (n < N) { partial[ro + n] = c${i}_${v}[j]; }`);
      emit('    }');
    }
    emit('  }');
  }
  emit('}');

  const key = ['conv-filter-grad', `tm${TM}`, `nv${NV}`, `wx${tile.lanes}`, `sg${SG}`].join('/');
  return {
    key,
    label: spec.label,
    wgsl: lines.join('\n') + '\n',
    bindings: [
      { name: 'At', kind: 'texture' },
      { name: 'Bt', kind: 'texture' },
      { name: 'partial', kind: 'storage-read-write' },
      { name: 'params', kind: 'uniform' },
    ],
    workgroups: grid,
    params: params.data(),
  };
}

export interface ConvFilterGradSumSpec {
  readonly label: string;
  readonly geometry: ConvGeometry;
  readonly chunks: number;
  readonly channelTexels: number;
  readonly accumulate: boolean;
}

const SUM_LANES = 64;

/**
 * One invocation per element of the contiguous OIHW gradient: the sum over chunks of the partial
 * at (chunk, g, o, column (ky, kx, c)), stored or added.
 */
export function convFilterGradSumKernel(spec: ConvFilterGradSumSpec, target: KernelTarget): Kernel {
  const g = spec.geometry;
  const inPerGroup = g.inChannels / g.groups;
  const taps = g.kernelHeight * g.kernelWidth;
  const total = g.outChannels * inPerGroup * taps;
  const N = filterGradColumns(g, spec.channelTexels);
  const grid = foldGrid(ceilDiv(total, SUM_LANES), target.maxComputeWorkgroupsPerDimension);
  const params = new ParamBlock()
    .set('total', total)
    .set('gridX', grid[0])
    .set('parts', spec.chunks)
    .set('partStride', g.outChannels * N)
    .set('cpg', inPerGroup)
    .set('taps', taps)
    .set('c4', spec.channelTexels * 4)
    .set('N', N);
  const store = spec.accumulate ? 'out[e] + acc' : 'acc';
  const wgsl = `// conv filter grad: sum of the K-chunk partials into the OIHW gradient
${params.declare(2)}@group(0) @binding(0) var<storage, read> partial: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(${SUM_LANES})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let e = (wid.y * params.gridX + wid.x) * ${SUM_LANES}u + li;
  if (e >= params.total) { return; }
  let tap = e % params.taps;
  let ch = (e / params.taps) % params.cpg;
  let o = e / (params.taps * params.cpg);
  let src = o * params.N + tap * params.c4 + ch;
  var acc = 0.0;
  for (var p = 0u; p < params.parts; p++) { acc += partial[p * params.partStride + src]; }
  out[e] = ${store};
}
`;
  return {
    key: `conv-filter-grad-sum/${spec.accumulate ? 'acc' : 'set'}`,
    label: spec.label,
    wgsl,
    bindings: [
      { name: 'partial', kind: 'storage-read' },
      { name: 'out', kind: 'storage-read-write' },
      { name: 'params', kind: 'uniform' },
    ],
    workgroups: grid,
    params: params.data(),
  };
}
