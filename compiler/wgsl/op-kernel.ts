// The shared frame of the dedicated kernels for single IR ops that are neither fused elementwise
// groups nor GEMMs (argmax, pooling, scatter_add): one `out` binding, one storage binding per
// operand (always materialised, read directly), shapes baked in as constants, keyed by the WGSL
// text. Returns the same `FusedKernel` shape as compiler/wgsl/fused-kernels.ts, so the executor
// binds and releases them the same way. Flow: compiler/fuse plan → **op kernels** → executor.

import type { DType, Graph, Node, NodeId } from '../ir/index.js';
import { storageType, type LoadBinding } from './expression.js';
import { fnv1a, type FusedKernel } from './fused-kernels.js';
import { ceilDiv, foldGrid, type KernelTarget } from './kernel.js';

/** Invocations per workgroup of every op kernel (one output element each). */
export const OP_LANES = 64;

/** The operands of `node` as loads `in0, in1, …` (a repeated operand is bound once per slot). */
export function operandLoads(graph: Graph, node: Node): LoadBinding[] {
  return node.inputs.map((id: NodeId, k) => ({
    node: id,
    name: `in${k}`,
    dtype: graph.nodes[id].dtype,
  }));
}

/**
 * Wraps a kernel body that handles invocation `i` (< `count`; the prelude computes it) into a
 * complete kernel. `outType` overrides the declared element type of `out` (e.g. `atomic<u32>`).
 */
export function opKernel(opts: {
  readonly label: string;
  readonly kind: string;
  readonly comment: string;
  readonly outDtype: DType;
  readonly outType?: string;
  readonly loads: readonly LoadBinding[];
  readonly count: number;
  readonly body: string;
  readonly target: KernelTarget;
}): FusedKernel {
  const grid = foldGrid(
    ceilDiv(opts.count, OP_LANES),
    opts.target.maxComputeWorkgroupsPerDimension,
  );
  const decls = [
    `@group(0) @binding(0) var<storage, read_write> out: array<${opts.outType ?? storageType(opts.outDtype, false)}>;`,
    ...opts.loads.map(
      (l, k) =>
        `@group(0) @binding(${k + 1}) var<storage, read> ${l.name}: array<${storageType(l.dtype, false)}>;`,
    ),
    'var<private> INF_BITS: u32 = 0x7f800000u;',
  ];
  const wgsl = `// ${opts.comment}
${decls.join('\n')}

@compute @workgroup_size(${OP_LANES})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wid.y * ${grid[0]}u + wid.x) * ${OP_LANES}u + li;
  if (i >= ${opts.count}u) { return; }
  let NEG_INF = -bitcast<f32>(INF_BITS);
${opts.body}
}
`;
  return {
    kernel: {
      key: `${opts.kind}/${fnv1a(wgsl)}/${wgsl.length}`,
      label: opts.label,
      wgsl,
      bindings: [
        { name: 'out', kind: 'storage-read-write' },
        ...opts.loads.map((l) => ({ name: l.name, kind: 'storage-read' as const })),
      ],
      workgroups: grid,
      params: undefined,
    },
    loads: opts.loads,
  };
}
