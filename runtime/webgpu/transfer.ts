// Host ↔ GPU tensor transfer for the WebGPU executor: the word arrays a node's data is uploaded as
// (bool is stored as u32), and reading a graph's outputs back in one round trip. Shared by the
// executor (executor.ts) and captured steps (captured-graph.ts). Flow: runtime/webgpu → **transfer**
// → runtime/gpu command batcher.

import type { Node } from '../../compiler/ir/index.js';
import { sizeOf } from '../../compiler/ir/index.js';
import { allocate, type TensorData } from '../cpu/tensor-data.js';
import type { GpuContext } from '../gpu/index.js';

/** Bytes a dtype takes on the GPU (bool is stored as u32). */
export const BYTES_PER_ELEMENT = 4;

/** Bytes of a node's buffer (at least one element, so empty tensors still bind). */
export function bufferBytes(node: Node): number {
  return Math.max(sizeOf(node.shape), 1) * BYTES_PER_ELEMENT;
}

export function toGpuArray(
  node: Node,
  values: ArrayLike<number>,
): Float32Array | Int32Array | Uint32Array {
  const n = Math.max(sizeOf(node.shape), 1);
  switch (node.dtype) {
    case 'f32': {
      const a = new Float32Array(n);
      a.set(values);
      return a;
    }
    case 'i32': {
      const a = new Int32Array(n);
      a.set(values);
      return a;
    }
    case 'u32':
    case 'bool': {
      const a = new Uint32Array(n);
      a.set(values);
      return a;
    }
    default:
      return node.dtype satisfies never;
  }
}

/** The tensor a node's words (as read back) hold. */
export function tensorFromWords(node: Node, bytes: ArrayBuffer): TensorData {
  const n = sizeOf(node.shape);
  const data = allocate(node.dtype, n);
  const raw =
    node.dtype === 'f32'
      ? new Float32Array(bytes, 0, n)
      : node.dtype === 'i32'
        ? new Int32Array(bytes, 0, n)
        : new Uint32Array(bytes, 0, n);
  data.set(raw);
  return { shape: node.shape, dtype: node.dtype, data };
}

/** Reads the tensors of `nodes` from `buffers` with one wait. */
export async function readTensors(
  ctx: GpuContext,
  nodes: readonly Node[],
  buffers: readonly GPUBuffer[],
): Promise<TensorData[]> {
  const bytes = await ctx.queue.readMany(
    nodes.map((node, k) => ({
      buffer: buffers[k],
      byteLength: sizeOf(node.shape) * BYTES_PER_ELEMENT,
    })),
  );
  return nodes.map((node, k) => tensorFromWords(node, bytes[k]));
}
