// The WebGPU executor: runs an IR graph on a GpuContext. compiler/fuse partitions the graph into
// kernel groups; each group becomes one fused kernel (elementwise, reduction), a GEMM-based
// contraction (matmul, conv2d and its transposes, with pack kernels), an op program (roi_align,
// random bits, routines, wide concats: ./op-program.ts) or — for an op without a WGSL lowering,
// none today — the CPU reference on read-back operands. All kernels of a run are encoded into
// batched submits; intermediate buffers return to the pool after their last use is encoded, and the
// host waits once, when it reads the outputs. Flow: IR → compiler/fuse → compiler/wgsl → **executor**
// → runtime/gpu.

import type { Graph, Node, NodeId } from '../../compiler/ir/index.js';
import { printGraph, sizeOf, verifyGraph } from '../../compiler/ir/index.js';
import { findEpilogueFusions } from '../../compiler/fuse/epilogue-fusion.js';
import { planFusion, type FusionPlan, type KernelGroup } from '../../compiler/fuse/plan.js';
import { fusedEpilogue, type FusedEpilogue } from '../../compiler/wgsl/fused-epilogue.js';
import {
  elementwiseKernel,
  reduceKernel,
  type FusedKernel,
} from '../../compiler/wgsl/fused-kernels.js';
import { argmaxKernel } from '../../compiler/wgsl/argmax.js';
import { maxPool2dGradKernel, pool2dKernel } from '../../compiler/wgsl/pool.js';
import { scatterAddKernels } from '../../compiler/wgsl/scatter-add.js';
import { debugLog, DebugLevel } from '../debug.js';
import { interpret } from '../cpu/interpret.js';
import type { TensorData } from '../cpu/tensor-data.js';
import type { GpuContext } from '../gpu/index.js';
import {
  contiguous4,
  conv2d,
  conv2dFilterGrad,
  conv2dInputGrad,
  type ConvGeometry,
} from './conv2d.js';
import { dispatchKernel } from './dispatch.js';
import { contiguousMatrix, matmul } from './matmul.js';
import { kernelTarget } from './target.js';
import { bufferBytes, readTensors, tensorFromWords, toGpuArray } from './transfer.js';
import type { OpProgram } from '../../compiler/wgsl/op-program.js';
import { buildOpProgram, encodeOpProgram, isProgramKind, programOperands } from './op-program.js';

function shape4(node: Node): readonly [number, number, number, number] {
  const [a, b, c, d] = node.shape;
  return [a, b, c, d];
}

function forwardConvGeometry(
  input: readonly [number, number, number, number],
  weight: readonly [number, number, number, number],
  out: readonly [number, number, number, number],
  p: {
    stride: readonly number[];
    padding: readonly number[];
    dilation: readonly number[];
    groups: number;
  },
): ConvGeometry {
  return {
    batch: input[0],
    groups: p.groups,
    inChannels: input[1],
    outChannels: out[1],
    inHeight: input[2],
    inWidth: input[3],
    kernelHeight: weight[2],
    kernelWidth: weight[3],
    strideH: p.stride[0],
    strideW: p.stride[1],
    padH: p.padding[0],
    padW: p.padding[1],
    dilationH: p.dilation[0],
    dilationW: p.dilation[1],
    outHeight: out[2],
    outWidth: out[3],
  };
}

/**
 * One step of a run: a group, and for a contraction that absorbed its consumer's elementwise group,
 * the fused epilogue and the node its kernel writes (the consumer's). Such a contraction runs at its
 * consumer's position, when every buffer the epilogue reads exists.
 */
interface Step {
  readonly group: KernelGroup;
  readonly epilogue?: { readonly fused: FusedEpilogue; readonly writes: NodeId };
}

/** A graph prepared for repeated runs: fusion planned, fused kernels generated. */
export class GraphExecutor {
  readonly #ctx: GpuContext;
  readonly #graph: Graph;
  readonly #plan: FusionPlan;
  readonly #steps: Step[] = [];
  readonly #fused = new Map<NodeId, FusedKernel>();
  /** Kernels that run before a group's `#fused` kernel into the same output (scatter_add's copy). */
  readonly #before = new Map<NodeId, FusedKernel>();
  /** Multi-dispatch lowerings (roi_align, random_bits, wide concat, routines): ./op-program.ts. */
  readonly #programs = new Map<NodeId, OpProgram>();
  readonly #lastUse = new Map<NodeId, number>();

  private constructor(ctx: GpuContext, graph: Graph, plan: FusionPlan) {
    this.#ctx = ctx;
    this.#graph = graph;
    this.#plan = plan;
  }

  static async compile(ctx: GpuContext, graph: Graph): Promise<GraphExecutor> {
    verifyGraph(graph);
    debugLog(DebugLevel.ir, 'ir', () => `webgpu graph:\n${printGraph(graph)}`);
    const target = kernelTarget(ctx);
    const plan = planFusion(graph, target.maxStorageBuffersPerShaderStage - 1);
    const executor = new GraphExecutor(ctx, graph, plan);
    const fusions = new Map(findEpilogueFusions(graph, plan).map((f) => [f.group.node, f]));
    const absorbedContractions = new Set([...fusions.values()].map((f) => f.contraction));
    for (const group of plan.groups) {
      if (absorbedContractions.has(group.node)) continue;
      const fusion = fusions.get(group.node);
      if (fusion) {
        const contraction = plan.groups.find((g) => g.node === fusion.contraction)!;
        const fused = fusedEpilogue(graph, fusion.contraction, group, plan.materialized);
        executor.#steps.push({ group: contraction, epilogue: { fused, writes: group.node } });
        continue;
      }
      const label = `%${group.node} ${graph.nodes[group.node].op}`;
      if (group.kind === 'elementwise') {
        const kernel = elementwiseKernel(graph, group, plan.materialized, target, label);
        executor.#fused.set(group.node, kernel);
      } else if (group.kind === 'reduce') {
        executor.#fused.set(
          group.node,
          reduceKernel(graph, group, plan.materialized, target, label),
        );
      } else if (group.kind === 'argmax') {
        executor.#fused.set(
          group.node,
          argmaxKernel(graph, group, plan.materialized, target, label),
        );
      } else if (group.kind === 'pool2d') {
        executor.#fused.set(group.node, pool2dKernel(graph, group.node, target, label));
      } else if (group.kind === 'max_pool2d_grad') {
        executor.#fused.set(group.node, maxPool2dGradKernel(graph, group.node, target, label));
      } else if (group.kind === 'scatter_add') {
        const { copy, scatter } = scatterAddKernels(graph, group.node, target, label);
        executor.#before.set(group.node, copy);
        executor.#fused.set(group.node, scatter);
      } else if (isProgramKind(group.kind)) {
        executor.#programs.set(
          group.node,
          buildOpProgram(graph, group.node, group.kind, target, label),
        );
      }
      executor.#steps.push({ group });
    }
    executor.#steps.forEach((step, k) => {
      for (const id of executor.#operandsOf(step)) executor.#lastUse.set(id, k);
    });
    for (const out of graph.outputs) executor.#lastUse.set(out, Infinity);
    await Promise.all(
      [
        ...executor.#fused.values(),
        ...executor.#before.values(),
        ...[...executor.#programs.values()].flatMap((p) => p.kernels),
      ].map((f) => ctx.pipelines.get(f.kernel)),
    );
    debugLog(
      DebugLevel.kernels,
      'exec',
      () =>
        `${plan.groups.length} groups, ${executor.#fused.size} fused kernels, ${fusions.size} fused epilogues`,
    );
    return executor;
  }

  get plan(): FusionPlan {
    return this.#plan;
  }

  /** The fused kernels, by the node they produce (for snapshots and debugging). */
  get fusedKernels(): ReadonlyMap<NodeId, FusedKernel> {
    return this.#fused;
  }

  /** The multi-kernel lowerings (roi_align, random_bits, wide concat, routines), by node. */
  get opPrograms(): ReadonlyMap<NodeId, OpProgram> {
    return this.#programs;
  }

  /** The steps of a run, in order (contractions with fused epilogues moved to their consumer). */
  get steps(): readonly Step[] {
    return this.#steps;
  }

  #operandsOf(step: Step): NodeId[] {
    const fused = this.#fused.get(step.group.node);
    const before = this.#before.get(step.group.node);
    if (fused) return [...(before?.loads ?? []), ...fused.loads].map((l) => l.node);
    const program = this.#programs.get(step.group.node);
    if (program) return programOperands(program);
    const own = [...this.#graph.nodes[step.group.node].inputs];
    return step.epilogue ? [...own, ...step.epilogue.fused.loads.map((l) => l.node)] : own;
  }

  /** Encodes the whole graph, then reads the outputs back (one wait). */
  async run(inputs: readonly TensorData[]): Promise<TensorData[]> {
    const buffers = await this.enqueue(inputs);
    const graph = this.#graph;
    const outs = await readTensors(
      this.#ctx,
      graph.outputs.map((id) => graph.nodes[id]),
      graph.outputs.map((id) => buffers.get(id)!),
    );
    this.releaseOutputs(buffers);
    return outs;
  }

  /** Gives the output buffers of enqueue() back to the pool (inputs passed in are left alone). */
  releaseOutputs(buffers: ReadonlyMap<NodeId, GPUBuffer>): void {
    const released = new Set<GPUBuffer>();
    for (const id of this.#graph.outputs) {
      const buffer = buffers.get(id);
      if (!buffer || released.has(buffer) || this.#graph.inputs.includes(id)) continue;
      released.add(buffer);
      this.#ctx.buffers.release(buffer);
    }
  }

  /**
   * Encodes every group; returns the buffers of the outputs (owned by the caller). An input given
   * as a GPUBuffer (already on the device, f32/i32/u32 words) is used in place and never released.
   */
  async enqueue(inputs: readonly (TensorData | GPUBuffer)[]): Promise<Map<NodeId, GPUBuffer>> {
    const ctx = this.#ctx;
    const graph = this.#graph;
    const buffers = new Map<NodeId, GPUBuffer>();
    const borrowed = new Set<GPUBuffer>();
    const inputSlot = new Map(graph.inputs.map((id, k) => [id, k]));
    // Uploads first: queue.writeBuffer runs before any not-yet-submitted dispatch, so a pooled
    // buffer must not be written while encoded work still reads its previous contents.
    for (const group of this.#plan.groups) {
      if (group.kind !== 'input') continue;
      const node = graph.nodes[group.node];
      const given = node.op === 'input' ? inputs[inputSlot.get(node.id)!] : undefined;
      if (given instanceof GPUBuffer) {
        buffers.set(node.id, given);
        borrowed.add(given);
        continue;
      }
      const data = given ? given.data : node.op === 'literal' ? node.values : undefined;
      if (!data) throw new Error(`executor: no data for input %${node.id}`);
      buffers.set(node.id, ctx.buffers.upload(toGpuArray(node, data), `%${node.id}`));
    }
    for (let step = 0; step < this.#steps.length; step++) {
      const { group, epilogue } = this.#steps[step];
      const node = graph.nodes[group.node];
      const writes = epilogue ? graph.nodes[epilogue.writes] : node;
      const out = (): GPUBuffer => {
        const buffer = ctx.buffers.acquire(bufferBytes(writes), `%${writes.id}`);
        buffers.set(writes.id, buffer);
        return buffer;
      };
      const epilogueArgs = () => {
        if (!epilogue) return {};
        const resources: Record<string, GPUBuffer> = {};
        for (const l of epilogue.fused.loads) resources[l.name] = buf(l.node);
        return { epilogue: epilogue.fused.epilogue, epilogueResources: resources };
      };
      const buf = (id: NodeId): GPUBuffer => {
        const b = buffers.get(id);
        if (!b) throw new Error(`executor: %${id} has no buffer when %${node.id} needs it`);
        return b;
      };
      switch (group.kind) {
        case 'input':
          break;
        case 'elementwise':
        case 'reduce':
        case 'argmax':
        case 'pool2d':
        case 'max_pool2d_grad':
        case 'scatter_add': {
          const target = out();
          for (const kernel of [this.#before.get(node.id), this.#fused.get(node.id)!]) {
            if (!kernel) continue;
            const resources: Record<string, GPUBuffer> = { out: target };
            for (const l of kernel.loads) resources[l.name] = buf(l.node);
            await dispatchKernel(ctx, kernel.kernel, resources);
          }
          break;
        }
        case 'matmul': {
          const [a, b] = node.inputs.map((i) => graph.nodes[i]);
          const r = node.shape.length;
          const batch = sizeOf(node.shape.slice(0, r - 2));
          const M = node.shape[r - 2];
          const N = node.shape[r - 1];
          const K = a.shape[r - 1];
          await matmul(ctx, {
            label: `%${node.id} matmul`,
            a: contiguousMatrix(buf(a.id), batch, M, K),
            b: contiguousMatrix(buf(b.id), batch, K, N),
            batch,
            out: out(),
            ...epilogueArgs(),
          });
          break;
        }
        case 'conv2d':
        case 'conv_transpose2d':
        case 'conv2d_filter_grad':
          await this.#conv(node, buf, out, epilogueArgs());
          break;
        case 'roi_align':
        case 'roi_align_grad':
        case 'random_bits':
        case 'concat':
        case 'routine':
          await encodeOpProgram(ctx, this.#programs.get(node.id)!, out(), buf);
          break;
        case 'host':
          await this.#host(node, buffers, out);
          break;
        default:
          throw new Error(`executor: group kind ${group.kind satisfies never}`);
      }
      for (const id of this.#operandsOf(this.#steps[step])) {
        if (this.#lastUse.get(id) === step) {
          const b = buffers.get(id);
          if (b && !borrowed.has(b)) ctx.buffers.release(b);
          buffers.delete(id);
        }
      }
    }
    return buffers;
  }

  async #conv(
    node: Node,
    buf: (id: NodeId) => GPUBuffer,
    out: () => GPUBuffer,
    epilogue: {
      epilogue?: FusedEpilogue['epilogue'];
      epilogueResources?: Record<string, GPUBuffer>;
    },
  ): Promise<void> {
    const [x, y] = node.inputs.map((i) => this.#graph.nodes[i]);
    const label = `%${node.id} ${node.op}`;
    if (node.op === 'conv2d') {
      const g = forwardConvGeometry(shape4(x), shape4(y), shape4(node), node);
      await conv2d(this.#ctx, {
        label,
        geometry: g,
        input: { buffer: buf(x.id), strides: contiguous4(shape4(x)) },
        weight: { buffer: buf(y.id), strides: contiguous4(shape4(y)) },
        out: { buffer: out(), strides: contiguous4(shape4(node)) },
        ...epilogue,
      });
    } else if (node.op === 'conv_transpose2d') {
      // The input gradient of a forward conv whose input is this node's output.
      const g = forwardConvGeometry(shape4(node), shape4(y), shape4(x), node);
      await conv2dInputGrad(this.#ctx, {
        label,
        geometry: g,
        gradOut: { buffer: buf(x.id), strides: contiguous4(shape4(x)) },
        weight: { buffer: buf(y.id), strides: contiguous4(shape4(y)) },
        out: { buffer: out(), strides: contiguous4(shape4(node)) },
      });
    } else if (node.op === 'conv2d_filter_grad') {
      const g = forwardConvGeometry(shape4(x), shape4(node), shape4(y), node);
      await conv2dFilterGrad(this.#ctx, {
        label,
        geometry: g,
        input: { buffer: buf(x.id), strides: contiguous4(shape4(x)) },
        gradOut: { buffer: buf(y.id), strides: contiguous4(shape4(y)) },
        out: out(),
      });
    } else {
      throw new Error(`executor: ${node.op} is not a convolution`);
    }
  }

  /** Runs one node on the CPU reference: reads its operands back, uploads its result. */
  async #host(node: Node, buffers: Map<NodeId, GPUBuffer>, out: () => GPUBuffer): Promise<void> {
    debugLog(
      DebugLevel.kernels,
      'exec',
      () => `%${node.id} ${node.op} runs on the CPU reference (no WGSL lowering yet)`,
    );
    const operands: TensorData[] = [];
    const nodes: Node[] = [];
    for (const [k, id] of node.inputs.entries()) {
      const operand = this.#graph.nodes[id];
      operands.push(await this.#read(id, buffers.get(id)!));
      nodes.push({
        id: k,
        op: 'input',
        name: `x${k}`,
        inputs: [],
        shape: operand.shape,
        dtype: operand.dtype,
      });
    }
    const k = nodes.length;
    nodes.push({ ...node, id: k, inputs: node.inputs.map((_, i) => i) } as Node);
    const [result] = interpret(
      { nodes, inputs: nodes.slice(0, k).map((n) => n.id), outputs: [k] },
      operands,
      {
        trusted: true,
      },
    );
    // writeBuffer runs ahead of unsubmitted work: make sure nothing queued still uses the buffer.
    if (node.inputs.length === 0) await this.#ctx.queue.onDone();
    const buffer = out();
    this.#ctx.device.queue.writeBuffer(buffer, 0, toGpuArray(node, result.data));
  }

  async #read(id: NodeId, buffer: GPUBuffer): Promise<TensorData> {
    const node = this.#graph.nodes[id];
    return tensorFromWords(node, await this.#ctx.queue.read(buffer, bufferBytes(node)));
  }
}

/** Convenience: compile and run once. */
export async function runGraph(
  ctx: GpuContext,
  graph: Graph,
  inputs: readonly TensorData[],
): Promise<TensorData[]> {
  const executor = await GraphExecutor.compile(ctx, graph);
  return executor.run(inputs);
}
