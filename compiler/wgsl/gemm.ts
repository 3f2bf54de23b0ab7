// The GEMM kernel behind every matmul and convolution: C[b] = A[b] · B[b] (+ C) → epilogue → store.
// Operands come as rgba32float textures written by the pack kernel (pack.ts); A is either a packed
// matrix (texel = 4 consecutive k of one row) or, for an implicit-GEMM convolution, the padded NHWC4
// input whose texel address is computed from the output pixel and the kernel tap.
//
// Strategy for lavapipe (lavapipe-performance.md): register blocking, no workgroup memory. Each
// invocation owns TM rows x 4·NV columns. Loads, not FMAs, bound llvmpipe, and every lane needs the
// same TM rows of A: with subgroups, lane s of each subgroup loads rows s, s+SG, … once and
// subgroupBroadcast (a register shuffle in llvmpipe) hands them to the others, cutting A loads by the
// subgroup width. Without subgroups each lane loads its rows itself. Shapes and strides are uniform
// parameters; the cache key holds only the structure.

import type { Epilogue } from './epilogue.js';
import { gemmSharedKernel } from './gemm-shared.js';
import { foldGrid, ParamBlock, type Kernel, type KernelTarget, type Workgroups } from './kernel.js';
import type { TextureLayout } from './texture-layout.js';

export interface GemmTile {
  /** Rows per invocation (a multiple of the subgroup width when sharing). */
  readonly rows: number;
  /** vec4 column groups per invocation. */
  readonly vec4Cols: number;
  /** Invocations per workgroup, all along N. */
  readonly lanes: number;
  /** 0 = every lane loads its own A rows; else the subgroup width used to share them. */
  readonly subgroup: number;
  /**
   * GPU-style 64x64 tile staged through workgroup memory (16x16 invocations of 4x4), for real
   * GPUs and matrix operands; `rows`/`vec4Cols`/`lanes` must then be 4/1/256 (gemm-shared.ts).
   */
  readonly shared?: boolean;
}

/** Implicit-GEMM view of the A texture for a convolution (rows = output pixels). */
export interface ConvA {
  readonly kind: 'conv';
  /** Output pixels per image and output width. */
  readonly outHeight: number;
  readonly outWidth: number;
  readonly groups: number;
  readonly kernelHeight: number;
  readonly kernelWidth: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly dilationH: number;
  readonly dilationW: number;
  /** Texels (4 channels each) per input pixel. */
  readonly channelTexels: number;
}

export interface MatrixA {
  readonly kind: 'matrix';
  /** A's block for output batch b is (b / div) % mod (broadcast batches). */
  readonly batchDiv: number;
  readonly batchMod: number;
}

/** Where C[b, m, n] goes: base + b*batch + (m / rowDiv)*rowOuter + (m % rowDiv)*rowInner + n*col. */
export interface OutputMap {
  readonly offset: number;
  readonly batch: number;
  readonly rowDiv: number;
  readonly rowOuter: number;
  readonly rowInner: number;
  readonly col: number;
}

export interface GemmSpec {
  readonly label: string;
  readonly batch: number;
  readonly M: number;
  readonly N: number;
  /** Steps of 4 along K (the packed texel count along K). For conv: KH·KW·channelTexels. */
  readonly k4: number;
  readonly a: MatrixA | ConvA;
  readonly aLayout: TextureLayout;
  readonly bLayout: TextureLayout;
  /** B's block for output batch b is (b / div) % mod. */
  readonly bBatchDiv: number;
  readonly bBatchMod: number;
  readonly out: OutputMap;
  /** Add to what is in the output (K chunks, gradient accumulation) instead of overwriting. */
  readonly accumulate: boolean;
  readonly epilogue: Epilogue;
  readonly tile: GemmTile;
}

/** Picks a tile for this adapter and shape (measured choices; see docs/performance.md). */
export function chooseGemmTile(
  target: KernelTarget,
  M: number,
  N: number,
  aKind: 'matrix' | 'conv' = 'matrix',
  K = Infinity,
): GemmTile {
  if (!target.isSoftware && aKind === 'matrix') {
    return { rows: 4, vec4Cols: 1, lanes: 256, subgroup: 0, shared: true };
  }
  const sg = target.isSoftware && target.subgroupSize !== undefined ? target.subgroupSize : 0;
  // Small products get the smallest tile: speed does not matter there, LLVM compile time does
  // (it grows with the unrolled rows x columns).
  const small = M * N <= 4096 && M * N * K <= 1 << 20;
  const vec4Cols = target.isSoftware && !small && N > 32 ? 2 : 1;
  const lanesWanted = Math.ceil(N / (4 * vec4Cols));
  const unit = sg || 8;
  const maxLanes = target.isSoftware ? 32 : 64;
  const lanes = Math.min(maxLanes, Math.max(unit, Math.ceil(lanesWanted / unit) * unit));
  let rows: number;
  if (!target.isSoftware) rows = 4;
  else if (sg) rows = small ? sg : M >= 256 ? 4 * sg : M > sg ? 2 * sg : sg;
  else rows = M >= 64 ? 8 : 4;
  return { rows, vec4Cols, lanes, subgroup: sg };
}

/** The uniform parameters and grid of a GEMM with `rowsPerGroup` x `colsPerGroup` workgroup tiles. */
export function gemmParams(
  spec: GemmSpec,
  rowsPerGroup: number,
  colsPerGroup: number,
  target: KernelTarget,
): { params: ParamBlock; grid: Workgroups } {
  const { a } = spec;
  const tilesN = Math.ceil(spec.N / colsPerGroup);
  const tilesM = Math.ceil(spec.M / rowsPerGroup);
  const tiles = tilesN * tilesM * spec.batch;
  const grid = foldGrid(tiles, target.maxComputeWorkgroupsPerDimension);
  const params = new ParamBlock()
    .set('M', spec.M)
    .set('N', spec.N)
    .set('k4', spec.k4)
    .set('tilesN', tilesN)
    .set('tilesM', tilesM)
    .set('tiles', tiles)
    .set('gridX', grid[0])
    .set('aBpc', spec.aLayout.blocksPerColumn)
    .set('aQ', spec.aLayout.texelsPerRow)
    .set('aRows', spec.aLayout.rows)
    .set('bBpc', spec.bLayout.blocksPerColumn)
    .set('bQ', spec.bLayout.texelsPerRow)
    .set('bRows', spec.bLayout.rows)
    .set('bDiv', spec.bBatchDiv)
    .set('bMod', spec.bBatchMod)
    .set('oOff', spec.out.offset)
    .set('oB', spec.out.batch)
    .set('oDiv', spec.out.rowDiv)
    .set('oM1', spec.out.rowOuter)
    .set('oM0', spec.out.rowInner)
    .set('oN', spec.out.col);
  switch (a.kind) {
    case 'matrix':
      params.set('aDiv', a.batchDiv).set('aMod', a.batchMod);
      break;
    case 'conv':
      params
        .set('ow', a.outWidth)
        .set('ohw', a.outHeight * a.outWidth)
        .set('groups', a.groups)
        .set('kh', a.kernelHeight)
        .set('kw', a.kernelWidth)
        .set('sh', a.strideH)
        .set('sw', a.strideW)
        .set('dh', a.dilationH)
        .set('dw', a.dilationW)
        .set('cq', a.channelTexels);
      break;
    default:
      return a satisfies never;
  }
  return { params, grid };
}

/** The binding declarations shared by the GEMM variants (params at 3, epilogue from 4). */
export function gemmDeclarations(spec: GemmSpec, params: ParamBlock, rowVec4 = false): string {
  return [
    params.declare(3).trimEnd(),
    '@group(0) @binding(0) var At: texture_2d<f32>;',
    '@group(0) @binding(1) var Bt: texture_2d<f32>;',
    `@group(0) @binding(2) var<storage, read_write> out: array<${rowVec4 ? 'vec4f' : 'f32'}>;`,
    spec.epilogue.wgsl(4).trimEnd(),
  ].join('\n');
}

/**
 * Whether the output can be stored as vec4s of 4 consecutive rows: rows contiguous in memory within
 * blocks of `rowDiv` (a convolution's NCHW output: rows are pixels), every block and column start
 * 16-byte aligned, and whole groups of 4 rows per tile. The NCHW store of a convolution otherwise
 * scatters one scalar per element, lanes running along channels (HW elements apart).
 */
export function rowVec4Stores(spec: GemmSpec, rowsPerTile: number): boolean {
  const o = spec.out;
  return (
    o.rowInner === 1 &&
    [o.rowDiv, o.rowOuter, o.col, o.batch, o.offset, spec.M, rowsPerTile].every((v) => v % 4 === 0)
  );
}

/**
 * Stores accumulators `c{i}_{v}` (rows row0 + i, vec4 columns col4 + v) through the epilogue, each
 * element bounds-checked; `row0`, `col4` and `b` must be in scope.
 */
export function emitStores(
  emit: (line: string) => void,
  spec: GemmSpec,
  TM: number,
  NV: number,
  rowVec4 = false,
): void {
  if (rowVec4) {
    emitRowVec4Stores(emit, spec, TM, NV);
    return;
  }
  // The 4 components of an accumulator are stored by a loop, not unrolled: the store section is
  // run once per invocation, and unrolling it quadruples LLVM's compile time for nothing.
  // The row's split by oDiv is stepped, not divided per row: llvmpipe scalarises integer division
  // (no speed change was measurable on a loaded machine; it removes 2·TM divisions per lane).
  emit('  let N = params.N;');
  emit('  let oBase = params.oOff + b * params.oB;');
  emit('  var mq = row0 / params.oDiv;');
  emit('  var mr = row0 % params.oDiv;');
  for (let i = 0; i < TM; i++) {
    if (i > 0) emit('  mr += 1u; if (mr == params.oDiv) { mr = 0u; mq += 1u; }');
    emit(`  if (row0 + ${i}u < params.M) {`);
    emit(`    let m = row0 + ${i}u;`);
    emit('    let ro = oBase + mq * params.oM1 + mr * params.oM0;');
    for (let v = 0; v < NV; v++) {
      emit('    for (var j = 0u; j < 4u; j++) {');
      emit(`      let n = (col4 + ${v}u) * 4u + j;`);
      emit('      if (n < N) {');
      emit('        let o = ro + n * params.oN;');
      const value = spec.accumulate ? `out[o] + c${i}_${v}[j]` : `c${i}_${v}[j]`;
      emit(`        out[o] = epilogue(${value}, b, m, n);`);
      emit('      }');
      emit('    }');
    }
    emit('  }');
  }
}

/** emitStores for `rowVec4Stores` outputs: rows row0 + i … + 3 of one column as one vec4. */
function emitRowVec4Stores(
  emit: (line: string) => void,
  spec: GemmSpec,
  TM: number,
  NV: number,
): void {
  emit('  let N = params.N;');
  emit('  let oBase = params.oOff + b * params.oB;');
  emit('  var mq = row0 / params.oDiv;');
  emit('  var mr = row0 % params.oDiv;');
  for (let i = 0; i < TM; i += 4) {
    if (i > 0) emit('  mr += 4u; if (mr == params.oDiv) { mr = 0u; mq += 1u; }');
    emit(`  if (row0 + ${i}u < params.M) {`);
    emit(`    let m = row0 + ${i}u;`);
    emit('    let ro = oBase + mq * params.oM1 + mr;');
    for (let v = 0; v < NV; v++) {
      emit('    for (var j = 0u; j < 4u; j++) {');
      emit(`      let n = (col4 + ${v}u) * 4u + j;`);
      emit('      if (n < N) {');
      emit('        let o = (ro + n * params.oN) / 4u;');
      if (spec.accumulate) emit('        let prev = out[o];');
      const parts = [0, 1, 2, 3].map((r) => {
        const value = spec.accumulate ? `prev[${r}] + c${i + r}_${v}[j]` : `c${i + r}_${v}[j]`;
        return `epilogue(${value}, b, m${r ? ` + ${r}u` : ''}, n)`;
      });
      emit(`        out[o] = vec4f(${parts.join(', ')});`);
      emit('      }');
      emit('    }');
    }
    emit('  }');
  }
}

export function gemmBindings(spec: GemmSpec): Kernel['bindings'] {
  return [
    { name: 'At', kind: 'texture' },
    { name: 'Bt', kind: 'texture' },
    { name: 'out', kind: 'storage-read-write' },
    { name: 'params', kind: 'uniform' },
    ...spec.epilogue.bindings,
  ];
}

/**
 * One step of 4 along K of the register-blocked tile (`tile.rows` x `4·tile.vec4Cols` accumulators
 * `c{i}_{v}`): the A texels `s{q}` (one per slot; shared over the subgroup when `tile.subgroup` is
 * set), the 4·NV B texels `b{j}_{v}` (K row j, vec4 column v) and the FMAs. Shared by the GEMM and
 * the direct convolution-gradient kernels (conv-input-grad.ts, conv-filter-grad.ts), which differ
 * only in where the texels are.
 */
export function registerTileStep(
  tile: GemmTile,
  ind: string,
  aCoord: (slot: number) => string,
  bCoord: (vec4Col: number, kRow: number) => string,
): string[] {
  const TM = tile.rows;
  const NV = tile.vec4Cols;
  const SG = tile.subgroup;
  const slots = SG ? TM / SG : TM;
  const body: string[] = [];
  for (let q = 0; q < slots; q++) body.push(`${ind}let s${q} = textureLoad(At, ${aCoord(q)}, 0);`);
  for (let v = 0; v < NV; v++)
    for (let j = 0; j < 4; j++)
      body.push(`${ind}let b${j}_${v} = textureLoad(Bt, ${bCoord(v, j)}, 0);`);
  for (let i = 0; i < TM; i++) {
    const src = SG ? `subgroupBroadcast(s${Math.floor(i / SG)}, ${i % SG}u)` : `s${i}`;
    body.push(`${ind}let a${i} = ${src};`);
    for (let v = 0; v < NV; v++)
      body.push(
        `${ind}c${i}_${v} = fma(vec4f(a${i}.w), b3_${v}, fma(vec4f(a${i}.z), b2_${v}, fma(vec4f(a${i}.y), b1_${v}, fma(vec4f(a${i}.x), b0_${v}, c${i}_${v}))));`,
      );
  }
  return body;
}

/**
 * The entry point of a register-blocked tile kernel and its tile coordinates: `t` (the flat tile,
 * from a 2-D folded grid), `tn` (column tile), `b` (batch item), `row0` (first row) and `M`.
 * Shared by the GEMM and the direct convolution-gradient kernels.
 */
export function registerTileEntry(tile: GemmTile): string[] {
  const SG = tile.subgroup;
  return [
    `@compute @workgroup_size(${tile.lanes})`,
    `fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u${SG ? ', @builtin(subgroup_invocation_id) sl: u32' : ''}) {`,
    '  let t = wid.y * params.gridX + wid.x;',
    '  if (t >= params.tiles) { return; }',
    '  let tn = t % params.tilesN;',
    '  let tmb = t / params.tilesN;',
    '  let b = tmb / params.tilesM;',
    `  let row0 = (tmb % params.tilesM) * ${tile.rows}u;`,
    '  let M = params.M;',
  ];
}

export function gemmKernel(spec: GemmSpec, target: KernelTarget): Kernel {
  const { tile, a } = spec;
  if (tile.shared) return gemmSharedKernel(spec, target);
  const TM = tile.rows;
  const NV = tile.vec4Cols;
  const SG = tile.subgroup;
  if (SG && (TM % SG !== 0 || tile.lanes % SG !== 0)) {
    throw new Error(`gemm tile ${TM}x${4 * NV}x${tile.lanes} does not suit subgroups of ${SG}`);
  }
  const { params, grid } = gemmParams(spec, TM, tile.lanes * 4 * NV, target);

  const slots = SG ? TM / SG : TM;
  const lines: string[] = [];
  const emit = (s: string) => lines.push(s);
  if (SG) emit('enable subgroups;');
  emit(
    `// gemm: ${a.kind} A, ${TM}x${4 * NV} per invocation, ${tile.lanes} lanes${SG ? `, A rows shared over subgroups of ${SG}` : ''}`,
  );
  const rowVec4 = rowVec4Stores(spec, TM);
  emit(gemmDeclarations(spec, params, rowVec4));
  emit('');
  for (const line of registerTileEntry(tile)) emit(line);
  emit('  let k4 = params.k4;');
  emit('  let bB = (b / params.bDiv) % params.bMod;');
  emit(`  let col4 = (tn * ${tile.lanes}u + lid.x) * ${NV}u;`);
  emit('  let bx = (bB / params.bBpc) * params.bQ + col4;');
  emit('  let by = (bB % params.bBpc) * params.bRows;');
  // Per slot: the A texel origin of the row that this lane loads.
  for (let q = 0; q < slots; q++) {
    const row = SG ? `row0 + ${q * SG}u + sl` : `row0 + ${q}u`;
    emit(`  let m${q} = min(${row}, M - 1u);`);
    if (a.kind === 'matrix') {
      if (q === 0) emit('  let aBlk = (b / params.aDiv) % params.aMod;');
      emit(`  let ax${q} = (aBlk / params.aBpc) * params.aQ;`);
      emit(`  let ay${q} = (aBlk % params.aBpc) * params.aRows + m${q};`);
    } else {
      emit(`  let pix${q} = m${q} % params.ohw;`);
      emit(`  let blk${q} = (m${q} / params.ohw) * params.groups + b;`);
      emit(
        `  let ax${q} = (blk${q} / params.aBpc) * params.aQ + (pix${q} % params.ow) * params.sw * params.cq;`,
      );
      emit(
        `  let ay${q} = (blk${q} % params.aBpc) * params.aRows + (pix${q} / params.ow) * params.sh;`,
      );
    }
  }
  for (let i = 0; i < TM; i++) for (let v = 0; v < NV; v++) emit(`  var c${i}_${v} = vec4f(0.0);`);

  const ind = a.kind === 'matrix' ? '    ' : '        ';
  const body = registerTileStep(
    tile,
    ind,
    (q) =>
      a.kind === 'matrix' ? `vec2u(ax${q} + k, ay${q})` : `vec2u(ax${q} + dx + c, ay${q} + dy)`,
    (v, j) => `vec2u(bx + ${v}u, by + kb + ${j}u)`,
  );
  body.push(`${ind}kb += 4u;`);
  emit('  var kb = 0u;');
  if (a.kind === 'matrix') {
    emit('  for (var k = 0u; k < k4; k++) {');
    lines.push(...body);
    emit('  }');
  } else {
    emit('  for (var ky = 0u; ky < params.kh; ky++) {');
    emit('    let dy = ky * params.dh;');
    emit('    for (var kx = 0u; kx < params.kw; kx++) {');
    emit('      let dx = kx * params.dw * params.cq;');
    emit('      for (var c = 0u; c < params.cq; c++) {');
    lines.push(...body);
    emit('      }');
    emit('    }');
    emit('  }');
  }
  emitStores(emit, spec, TM, NV, rowVec4);
  emit('}');

  const key = [
    'gemm',
    a.kind,
    `tm${TM}`,
    `nv${NV}`,
    `wx${tile.lanes}`,
    `sg${SG}`,
    spec.accumulate ? 'acc' : 'set',
    ...(rowVec4 ? ['rv4'] : []),
    spec.epilogue.key,
  ].join('/');
  return {
    key,
    label: spec.label,
    wgsl: lines.join('\n') + '\n',
    bindings: gemmBindings(spec),
    workgroups: grid,
    params: params.data(),
  };
}
