// The argmax kernel: the index (i32) of the first maximum along one axis, one invocation per output
// element looping over the axis, with the operand's expression inlined like a reduction's (e.g. the
// argmax of a sigmoid reads the logits). A NaN counts as larger than any number (the first NaN
// wins), as in the CPU reference. Flow: compiler/fuse (an `argmax` group) → **argmax** →
// runtime/webgpu executor.

import type { Graph, NodeId } from '../ir/index.js';
import { sizeOf } from '../ir/index.js';
import type { KernelGroup } from '../fuse/plan.js';
import { ExpressionBuilder, unflatten, wgslType } from './expression.js';
import type { FusedKernel } from './fused-kernels.js';
import type { KernelTarget } from './kernel.js';
import { opKernel } from './op-kernel.js';

export function argmaxKernel(
  graph: Graph,
  group: KernelGroup,
  materialized: ReadonlySet<NodeId>,
  target: KernelTarget,
  label: string,
): FusedKernel {
  const node = graph.nodes[group.node];
  if (node.op !== 'argmax') throw new Error(`argmaxKernel on ${node.op}`);
  const x = graph.nodes[node.inputs[0]];
  const size = x.shape[node.axis];
  const b = new ExpressionBuilder(graph, materialized);
  const outIndex = unflatten('i', node.shape).map((e, k) => {
    b.lines.push(`  let o${k} = ${e};`);
    return `o${k}`;
  });
  const prelude = b.lines.splice(0);
  const value = b.value(
    x.id,
    outIndex.map((o, k) => (k === node.axis ? 'r' : o)),
    false,
  );
  const expression = b.lines.splice(0).map((l) => `  ${l}`);
  if (x.dtype === 'bool') throw new Error(`${label}: argmax over bool`);
  // A NaN (v != v) beats a number; only f32 has NaNs.
  const wins = x.dtype === 'f32' ? 'v > best || (v != v && best == best)' : 'v > best';
  // The IR has no argmax over an empty axis, so the first iteration always sets `at`.
  const body = `${prelude.join('\n')}
  var best: ${wgslType(x.dtype, false)};
  var at = -1i;
  for (var r = 0u; r < ${size}u; r++) {
${expression.join('\n')}
    let v = ${value};
    if (at < 0i || ${wins}) {
      best = v;
      at = i32(r);
    }
  }
  out[i] = at;`;
  return opKernel({
    label,
    kind: 'argmax',
    comment: `argmax: %${group.node} along axis ${node.axis} of ${size} elements, ${group.inlined.length} inlined nodes`,
    outDtype: 'i32',
    loads: b.loads,
    count: sizeOf(node.shape),
    body,
    target,
  });
}
