// A compiled graph whose step is traced once and replayed. Capture pays only for a graph that
// repeats: the first `captureOnRun - 1` runs go through the executor on the shared buffer pool (a
// one-off graph — evaluation of an image size seen once — holds no memory after its run). The run
// numbered `captureOnRun` (default 2) goes through the executor (executor.ts) with the command
// batcher recording every dispatch and copy — pipeline, bind group and grid already resolved — and
// the buffer pool redirected to an arena (runtime/gpu/buffer-arena.ts) that assigns intermediates
// from their lifetimes. Every later run writes the inputs into the same
// input buffers, re-encodes the recorded commands in one submit (no WGSL strings, no per-node map
// lookups, no pool traffic, no uniform hashing) and reads all outputs back with one wait.
// A graph whose run needs the host in the middle (a node without a WGSL lowering is computed on the
// CPU reference between kernels) cannot be replayed; it runs through the executor every time.
// `ALIGNC_CAPTURE=0` turns capture off (for comparisons). Runs on one GpuContext must not overlap
// (capture and prefetch switch the device layer into recording / dry-run modes); the backend
// (backend.ts) serialises them. Flow: Tensor backend → **captured graph**
// → executor (first run) / command batcher replay (later runs) → runtime/gpu.

import type { Graph, NodeId } from '../../compiler/ir/index.js';
import type { TensorData } from '../cpu/tensor-data.js';
import { debugLog, DebugLevel } from '../debug.js';
import type { GpuContext } from '../gpu/index.js';
import type { ArenaStats, BufferArena } from '../gpu/buffer-arena.js';
import type { CapturedCommands } from '../gpu/command-batcher.js';
import { prefetchPipelines } from '../gpu/prefetch.js';
import { GraphExecutor } from './executor.js';
import { bufferBytes, readTensors, toGpuArray } from './transfer.js';

interface Captured {
  readonly kind: 'captured';
  readonly commands: CapturedCommands;
  readonly arena: BufferArena;
  readonly inputs: readonly GPUBuffer[];
  readonly outputs: readonly GPUBuffer[];
}

type CaptureState =
  | { readonly kind: 'released' }
  | { readonly kind: 'pending'; readonly uncapturedRuns: number }
  | Captured
  | { readonly kind: 'not-capturable'; readonly reason: string };

export interface CaptureStats {
  readonly captured: boolean;
  /** Runs so far, uncaptured, captured or replayed. */
  readonly runs: number;
  /** Why the graph is not replayed, when it is not. */
  readonly reason?: string;
  readonly dispatches: number;
  readonly replays: number;
  readonly arena?: ArenaStats;
}

export function captureEnabled(): boolean {
  return process.env.ALIGNC_CAPTURE !== '0';
}

let nextCaptureId = 1;

export interface CaptureOptions {
  /** Capture at all (default: `captureEnabled()`). */
  readonly capture?: boolean;
  /** Which run (1-based) is captured; earlier ones run uncaptured on the pool. Default 2. */
  readonly captureOnRun?: number;
}

const DEFAULT_CAPTURE_ON_RUN = 2;

export class CapturedGraph {
  readonly #ctx: GpuContext;
  readonly #graph: Graph;
  readonly #executor: GraphExecutor;
  readonly #label: string;
  readonly #captureOnRun: number;
  #state: CaptureState;
  #runs = 0;
  #replays = 0;

  private constructor(
    ctx: GpuContext,
    graph: Graph,
    executor: GraphExecutor,
    options: CaptureOptions,
  ) {
    this.#ctx = ctx;
    this.#graph = graph;
    this.#executor = executor;
    this.#label = `captured#${nextCaptureId++} (${graph.nodes.length} nodes)`;
    this.#captureOnRun = Math.max(1, options.captureOnRun ?? DEFAULT_CAPTURE_ON_RUN);
    this.#state =
      (options.capture ?? captureEnabled())
        ? { kind: 'pending', uncapturedRuns: 0 }
        : { kind: 'not-capturable', reason: 'capture is off (ALIGNC_CAPTURE=0)' };
  }

  static async compile(
    ctx: GpuContext,
    graph: Graph,
    options: CaptureOptions = {},
  ): Promise<CapturedGraph> {
    const executor = await GraphExecutor.compile(ctx, graph);
    const started = performance.now();
    const pipelines = await prefetchPipelines(ctx, async () => {
      const inputs = graph.inputs.map((id) =>
        ctx.buffers.acquire(bufferBytes(graph.nodes[id]), `%${id} prefetch`),
      );
      try {
        executor.releaseOutputs(await executor.enqueue(inputs));
      } finally {
        for (const buffer of inputs) ctx.buffers.release(buffer);
      }
    });
    debugLog(
      DebugLevel.timings,
      'capture',
      () =>
        `prefetched ${pipelines} pipelines of a ${graph.nodes.length}-node graph in ${(performance.now() - started).toFixed(0)} ms`,
    );
    return new CapturedGraph(ctx, graph, executor, options);
  }

  get executor(): GraphExecutor {
    return this.#executor;
  }

  async run(inputs: readonly TensorData[]): Promise<TensorData[]> {
    const state = this.#state;
    this.#runs++;
    switch (state.kind) {
      case 'not-capturable':
        return this.#executor.run(inputs);
      case 'pending':
        if (state.uncapturedRuns + 1 < this.#captureOnRun) {
          this.#state = { kind: 'pending', uncapturedRuns: state.uncapturedRuns + 1 };
          return this.#executor.run(inputs);
        }
        return this.#capture(inputs);
      case 'released':
        return this.#capture(inputs);
      case 'captured':
        this.#writeInputs(state.inputs, inputs);
        this.#ctx.queue.replay(state.commands);
        this.#replays++;
        return this.#readOutputs(state.outputs);
      default:
        return state satisfies never;
    }
  }

  stats(): CaptureStats {
    const state = this.#state;
    return {
      captured: state.kind === 'captured',
      runs: this.#runs,
      ...(state.kind === 'not-capturable' ? { reason: state.reason } : {}),
      dispatches: state.kind === 'captured' ? state.commands.dispatches : 0,
      replays: this.#replays,
      ...(state.kind === 'captured' ? { arena: state.arena.stats() } : {}),
    };
  }

  /** Bytes of the arena a captured graph holds (0 when it holds none). */
  arenaBytes(): number {
    return this.#state.kind === 'captured' ? this.#state.arena.stats().bytes : 0;
  }

  /** Gives the arena's memory back; a later run captures again. */
  release(): void {
    if (this.#state.kind !== 'captured') return;
    this.#ctx.buffers.destroyArena(this.#state.arena);
    this.#state = { kind: 'released' };
  }

  async #capture(inputs: readonly TensorData[]): Promise<TensorData[]> {
    const ctx = this.#ctx;
    const graph = this.#graph;
    const arena = ctx.buffers.createArena();
    const inputBuffers = graph.inputs.map((id) =>
      arena.acquire(bufferBytes(graph.nodes[id]), `%${id} input`, true),
    );
    this.#writeInputs(inputBuffers, inputs);
    let buffers: Map<NodeId, GPUBuffer>;
    ctx.queue.beginCapture(this.#label);
    ctx.buffers.redirectTo(arena);
    try {
      buffers = await this.#executor.enqueue(inputBuffers);
    } catch (error) {
      ctx.buffers.redirectTo(undefined);
      ctx.queue.endCapture();
      ctx.buffers.destroyArena(arena);
      throw error;
    }
    ctx.buffers.redirectTo(undefined);
    const recorded = ctx.queue.endCapture();
    const outputs = graph.outputs.map((id) => buffers.get(id)!);
    this.#state =
      'broken' in recorded
        ? { kind: 'not-capturable', reason: recorded.broken }
        : { kind: 'captured', commands: recorded, arena, inputs: inputBuffers, outputs };
    const state = this.#state;
    debugLog(DebugLevel.timings, 'capture', () =>
      state.kind === 'captured'
        ? `${this.#label}: ${state.commands.dispatches} dispatches, arena ${mib(state.arena.stats().bytes)} MiB (${mib(state.arena.stats().unplannedBytes)} MiB without lifetime reuse)`
        : `${this.#label}: not replayable — ${state.kind === 'not-capturable' ? state.reason : ''}`,
    );
    const result = await this.#readOutputs(outputs);
    if (state.kind !== 'captured') ctx.buffers.destroyArena(arena);
    return result;
  }

  #writeInputs(buffers: readonly GPUBuffer[], inputs: readonly TensorData[]): void {
    const graph = this.#graph;
    if (inputs.length !== graph.inputs.length) {
      throw new Error(`graph takes ${graph.inputs.length} inputs, got ${inputs.length}`);
    }
    // queue.writeBuffer overtakes encoded but unsubmitted work: submit that first.
    this.#ctx.queue.flush();
    graph.inputs.forEach((id, k) => {
      this.#ctx.device.queue.writeBuffer(
        buffers[k],
        0,
        toGpuArray(graph.nodes[id], inputs[k].data),
      );
    });
  }

  #readOutputs(buffers: readonly GPUBuffer[]): Promise<TensorData[]> {
    const graph = this.#graph;
    return readTensors(
      this.#ctx,
      graph.outputs.map((id) => graph.nodes[id]),
      buffers,
    );
  }
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
