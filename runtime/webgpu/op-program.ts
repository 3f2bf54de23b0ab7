// Runs the multi-dispatch lowerings of single IR nodes (compiler/wgsl/op-program.ts): picks the
// generator for a program group (roi_align, roi_align_grad, random_bits, wide concat, routines)
// and encodes its kernels on the command batcher with the node's output buffer, its operands and
// pooled scratch buffers, which go back to the pool once the program is encoded (later work is
// ordered after it). Flow: compiler/fuse group → compiler/wgsl op program → **this** → runtime/gpu.

import type { GroupKind } from '../../compiler/fuse/plan.js';
import type { Graph, NodeId } from '../../compiler/ir/index.js';
import { concatProgram } from '../../compiler/wgsl/concat.js';
import type { KernelTarget } from '../../compiler/wgsl/kernel.js';
import { nmsProgram } from '../../compiler/wgsl/nms.js';
import type { OpProgram } from '../../compiler/wgsl/op-program.js';
import { randomBitsProgram } from '../../compiler/wgsl/random-bits.js';
import { roiAlignGradProgram, roiAlignProgram } from '../../compiler/wgsl/roi-align.js';
import { sortProgram } from '../../compiler/wgsl/sort.js';
import type { GpuContext } from '../gpu/index.js';
import { dispatchKernel } from './dispatch.js';

export type ProgramKind = Extract<
  GroupKind,
  'roi_align' | 'roi_align_grad' | 'random_bits' | 'concat' | 'routine'
>;

export function isProgramKind(kind: GroupKind): kind is ProgramKind {
  return (
    kind === 'roi_align' ||
    kind === 'roi_align_grad' ||
    kind === 'random_bits' ||
    kind === 'concat' ||
    kind === 'routine'
  );
}

/** The op program of a program group's node. */
export function buildOpProgram(
  graph: Graph,
  id: NodeId,
  kind: ProgramKind,
  target: KernelTarget,
  label: string,
): OpProgram {
  switch (kind) {
    case 'roi_align':
      return roiAlignProgram(graph, id, target, label);
    case 'roi_align_grad':
      return roiAlignGradProgram(graph, id, target, label);
    case 'random_bits':
      return randomBitsProgram(graph, id, target, label);
    case 'concat':
      return concatProgram(graph, id, target, label);
    case 'routine': {
      const node = graph.nodes[id];
      return node.op === 'routine' && node.routine.kind === 'nms'
        ? nmsProgram(graph, id, target, label)
        : sortProgram(graph, id, target, label);
    }
    default:
      return kind satisfies never;
  }
}

/** The node ids a program reads. */
export function programOperands(program: OpProgram): NodeId[] {
  return program.kernels.flatMap((k) => k.loads.map((l) => l.node));
}

/** Encodes every kernel of `program` writing `out`; operands come from `buf`. */
export async function encodeOpProgram(
  ctx: GpuContext,
  program: OpProgram,
  out: GPUBuffer,
  buf: (id: NodeId) => GPUBuffer,
): Promise<void> {
  const scratch: Record<string, GPUBuffer> = {};
  for (const s of program.scratch) scratch[s.name] = ctx.buffers.acquire(s.words * 4, s.name);
  try {
    for (const { kernel, loads } of program.kernels) {
      const resources: Record<string, GPUBuffer> = { out, ...scratch };
      for (const l of loads) resources[l.name] = buf(l.node);
      await dispatchKernel(ctx, kernel, resources);
    }
  } finally {
    for (const buffer of Object.values(scratch)) ctx.buffers.release(buffer);
  }
}
