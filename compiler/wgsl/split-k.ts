// The reduction step of split-K GEMMs: a GEMM whose output is tiny but whose K is long (the
// filter gradient of a convolution: K = N·OH·OW) runs its K chunks side by side as batch items into
// a scratch buffer of partial products; this kernel sums the partials and stores through the
// GEMM's OutputMap (optionally accumulating). Flow: runtime/webgpu/conv2d.ts → **split-k** →
// dispatch.

import type { OutputMap } from './gemm.js';
import { ceilDiv, foldGrid, ParamBlock, type Kernel, type KernelTarget } from './kernel.js';

export interface SplitKSumSpec {
  readonly label: string;
  /** Partial products per output element. */
  readonly parts: number;
  readonly batch: number;
  readonly M: number;
  readonly N: number;
  /** Partial p of (b, m, n) is at ((p · batch + b) · M + m) · N + n. */
  readonly out: OutputMap;
  readonly accumulate: boolean;
}

const LANES = 64;

export function splitKSumKernel(spec: SplitKSumSpec, target: KernelTarget): Kernel {
  const total = spec.batch * spec.M * spec.N;
  const grid = foldGrid(ceilDiv(total, LANES), target.maxComputeWorkgroupsPerDimension);
  const params = new ParamBlock()
    .set('total', total)
    .set('parts', spec.parts)
    .set('M', spec.M)
    .set('N', spec.N)
    .set('gridX', grid[0])
    .set('oOff', spec.out.offset)
    .set('oB', spec.out.batch)
    .set('oDiv', spec.out.rowDiv)
    .set('oM1', spec.out.rowOuter)
    .set('oM0', spec.out.rowInner)
    .set('oN', spec.out.col);
  const store = spec.accumulate ? 'out[o] + acc' : 'acc';
  const wgsl = `// split-K: sum of partial GEMM products, stored through the output map
${params.declare(2)}@group(0) @binding(0) var<storage, read> partial: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(${LANES})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let e = (wid.y * params.gridX + wid.x) * ${LANES}u + li;
  if (e >= params.total) { return; }
  var acc = 0.0;
  for (var p = 0u; p < params.parts; p++) { acc += partial[p * params.total + e]; }
  let n = e % params.N;
  let m = (e / params.N) % params.M;
  let b = e / (params.N * params.M);
  let o = params.oOff + b * params.oB + (m / params.oDiv) * params.oM1 + (m % params.oDiv) * params.oM0 + n * params.oN;
  out[o] = ${store};
}
`;
  return {
    key: `split-k/${spec.accumulate ? 'acc' : 'set'}`,
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
