// The pack kernel: copies one GEMM operand from a storage buffer into an rgba32float texture laid
// out by texture-layout.ts (4 consecutive columns per texel, zero padded). It is the first kernel of
// every matmul and convolution on the texture path (compiler/wgsl/gemm.ts reads what it writes).
// Transposes, slices, broadcast batches and convolution padding are all just different
// `load` functions (pack-sources.ts), so the GEMM kernel itself never sees a stride.

import { KernelLimitError } from './errors.js';
import { ceilDiv, ParamBlock, type Kernel, type KernelTarget, type Workgroups } from './kernel.js';
import { isTexelLevel, packSourceKey, packSourceWgsl, type PackSource } from './pack-sources.js';
import type { TextureLayout } from './texture-layout.js';

const WORKGROUP = 32;

export interface PackSpec {
  readonly label: string;
  readonly source: PackSource;
  readonly layout: TextureLayout;
  /** Logical columns; texels past it are zero filled. */
  readonly cols: number;
  /** Logical rows; rows past it (K padding of a B operand) are zero filled. */
  readonly validRows: number;
}

export function packKernel(spec: PackSpec, target: KernelTarget): Kernel {
  const { layout } = spec;
  const params = new ParamBlock();
  const source = packSourceWgsl(spec.source, params);
  const maxGrid = target.maxComputeWorkgroupsPerDimension;
  // One invocation per texel on a 3-D grid (texel, row, block): no index division per texel.
  const grid: Workgroups = [ceilDiv(layout.texelsPerRow, WORKGROUP), layout.rows, layout.blocks];
  if (grid.some((g) => g > maxGrid)) {
    throw new KernelLimitError(
      spec.label,
      `packing ${layout.blocks} blocks of ${layout.rows} rows needs a ${grid.join('x')} grid, over the limit ${maxGrid}`,
    );
  }
  params
    .set('rows', layout.rows)
    .set('cols', spec.cols)
    .set('validRows', spec.validRows)
    .set('q', layout.texelsPerRow)
    .set('bpc', layout.blocksPerColumn);
  const texel = isTexelLevel(spec.source)
    ? source
    : `${source}

fn loadOr0(b: u32, r: u32, c: u32) -> f32 {
  if (c >= params.cols || r >= params.validRows) { return 0.0; }
  return load(b, r, c);
}

fn texel(b: u32, r: u32, q: u32) -> vec4f {
  let c = q * 4u;
  return vec4f(loadOr0(b, r, c), loadOr0(b, r, c + 1u), loadOr0(b, r, c + 2u), loadOr0(b, r, c + 3u));
}`;
  const wgsl = `// pack: ${spec.source.kind} operand -> rgba32float texels
${params.declare(2)}@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var dst: texture_storage_2d<rgba32float, write>;

${texel}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let q = wid.x * ${WORKGROUP}u + li;
  if (q >= params.q) { return; }
  let r = wid.y;
  let b = wid.z;
  let x = q + (b / params.bpc) * params.q;
  let y = (b % params.bpc) * params.rows + r;
  textureStore(dst, vec2u(x, y), texel(b, r, q));
}
`;
  return {
    key: `pack/${packSourceKey(spec.source)}`,
    label: spec.label,
    wgsl,
    bindings: [
      { name: 'src', kind: 'storage-read' },
      { name: 'dst', kind: 'storage-texture' },
      { name: 'params', kind: 'uniform' },
    ],
    workgroups: grid,
    params: params.data(),
  };
}
