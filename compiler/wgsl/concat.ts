// Concatenation as copies: one kernel per non-empty operand writes it into its slice of the
// output. Used for concats with more operands than an inlined concat may bind (compiler/fuse keeps
// short ones inlined as a select chain, compiler/wgsl/expression.ts); each copy binds one operand,
// so any number of operands fits the adapter's storage-buffer limit. Sizes live in the parameter
// block: one pipeline per dtype serves every operand and shape.
// Flow: compiler/fuse (a `concat` group) → **concat** → op program → executor.

import type { Graph, NodeId } from '../ir/index.js';
import { sizeOf } from '../ir/index.js';
import type { KernelTarget } from './kernel.js';
import { outBinding, programKernel, type OpProgram } from './op-program.js';

export function concatProgram(
  graph: Graph,
  id: NodeId,
  target: KernelTarget,
  label: string,
): OpProgram {
  const node = graph.nodes[id];
  if (node.op !== 'concat') throw new Error(`concatProgram on ${node.op}`);
  // Elements of one outer index: a chunk of `size·inner` contiguous words in the operand, placed
  // at `offset·inner` in the output chunk of `total·inner` words.
  const inner = sizeOf(node.shape.slice(node.axis + 1));
  const total = node.shape[node.axis];
  const kernels = [];
  let offset = 0;
  for (const [k, input] of node.inputs.entries()) {
    const operand = graph.nodes[input];
    const size = operand.shape[node.axis];
    const count = sizeOf(operand.shape);
    if (count > 0) {
      kernels.push(
        programKernel({
          label: `${label} (operand ${k})`,
          kind: 'concat-copy',
          comment: `concat: copy one operand into its slice of the output`,
          bindings: [outBinding(node.dtype)],
          loads: [{ node: input, name: 'src', dtype: operand.dtype }],
          count,
          params: [
            ['chunk', size * inner],
            ['out_chunk', total * inner],
            ['base', offset * inner],
          ],
          body: `  out[i / params.chunk * params.out_chunk + params.base + i % params.chunk] = src[i];`,
          target,
        }),
      );
    }
    offset += size;
  }
  return { scratch: [], kernels };
}
