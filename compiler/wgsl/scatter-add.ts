// The scatter_add kernels: a copy of `base` into the output, then one invocation per `src` element
// adding it at its index along `axis` (an index outside [0, size) is dropped). Several elements can
// hit one output, so the add is atomic: WGSL has no f32 atomics, so an f32 add is a
// compare-and-swap loop on the word's bits (`atomic<u32>` + bitcasts); i32/u32 use atomicAdd (two's
// complement makes the u32 add right for i32). The order of the adds to one element is not fixed,
// so f32 results can differ from the CPU reference by rounding. Flow: compiler/fuse (a
// `scatter_add` group) → **scatter-add** → runtime/webgpu executor (both dispatches, same `out`).

import type { Graph, NodeId } from '../ir/index.js';
import { sizeOf, stridesOf } from '../ir/index.js';
import type { FusedKernel } from './fused-kernels.js';
import type { KernelTarget } from './kernel.js';
import { opKernel, operandLoads } from './op-kernel.js';
import { atomicAddF32 } from './atomic-f32.js';

export interface ScatterAddKernels {
  /** out = base (binding `in0` = base). */
  readonly copy: FusedKernel;
  /** out[.., index[j], ..] += src[j] (bindings `in1` = index, `in2` = src). */
  readonly scatter: FusedKernel;
}

export function scatterAddKernels(
  graph: Graph,
  id: NodeId,
  target: KernelTarget,
  label: string,
): ScatterAddKernels {
  const node = graph.nodes[id];
  if (node.op !== 'scatter_add') throw new Error(`scatterAddKernels on ${node.op}`);
  if (node.dtype === 'bool') throw new Error(`${label}: scatter_add over bool`);
  const [base, index, src] = operandLoads(graph, node);
  const srcShape = graph.nodes[src.node].shape;
  const size = node.shape[node.axis];
  const inner = stridesOf(srcShape)[node.axis];
  const srcSize = srcShape[node.axis];
  const copy = opKernel({
    label: `${label} (copy base)`,
    kind: 'scatter-copy',
    comment: `scatter_add: %${id} = base`,
    outDtype: node.dtype,
    loads: [base],
    count: sizeOf(node.shape),
    body: '  out[i] = in0[i];',
    target,
  });
  const add =
    node.dtype === 'f32'
      ? atomicAddF32('out', 'dst', 'in2[i]', '  ')
      : `  atomicAdd(&out[dst], bitcast<u32>(in2[i]));`;
  const scatter = opKernel({
    label,
    kind: 'scatter-add',
    comment: `scatter_add: %${id} += src along axis ${node.axis} (${srcSize} → ${size})`,
    outDtype: node.dtype,
    outType: 'atomic<u32>',
    loads: [index, src],
    count: sizeOf(srcShape),
    body: `  let at = in1[i];
  if (at < 0i || at >= ${size}i) { return; }
  let dst = (i / ${Math.max(srcSize * inner, 1)}u * ${size}u + u32(at)) * ${inner}u + i % ${inner}u;
${add}`,
    target,
  });
  return { copy, scatter };
}
