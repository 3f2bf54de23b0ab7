// The WebGPU executor as a Backend of the Tensor front end (runtime/tensor/backend.ts): the same
// interface as the CPU reference, so training steps, evaluation and benches run on the GPU by
// swapping one object. Graphs are compiled once (fusion plan, WGSL, pipelines) and the compiled
// graph is reused for every later graph with the same structure — a traced training step is
// compiled on its first call, captured on its first run and replayed after (captured-graph.ts).
// Flow: Tensor API → IR graph → **this backend** → captured graph / executor → runtime/gpu.

import { printGraph, type Graph } from '../../compiler/ir/index.js';
import type { TensorData } from '../cpu/tensor-data.js';
import { debugLog, DebugLevel } from '../debug.js';
import type { GpuContext } from '../gpu/index.js';
import type { Backend } from '../tensor/backend.js';
import { CapturedGraph } from './captured-graph.js';

const MAX_CACHED_GRAPHS = 64;

export interface WebGpuBackendStats {
  /** Graph structures compiled so far. */
  readonly compiled: number;
  /** Runs that reused a compiled graph. */
  readonly reused: number;
  /** Cached graphs that replay a captured step. */
  readonly captured: number;
  /** Runs served by replaying a captured step. */
  readonly replays: number;
  /** Wall-clock milliseconds spent compiling graphs (fusion, WGSL, pipelines), all graphs. */
  readonly compileMs: number;
}

export interface WebGpuBackend extends Backend {
  stats(): WebGpuBackendStats;
}

export function webgpuBackend(ctx: GpuContext): WebGpuBackend {
  const byGraph = new WeakMap<Graph, CapturedGraph>();
  const byStructure = new Map<string, Promise<CapturedGraph>>();
  const live = new Set<CapturedGraph>();
  let compiled = 0;
  let reused = 0;
  let compileMs = 0;
  const compiledFor = async (graph: Graph): Promise<CapturedGraph> => {
    const known = byGraph.get(graph);
    if (known) {
      reused++;
      return known;
    }
    // Equal printed graphs are equal graphs: same ops, attributes, shapes and wiring.
    const key = printGraph(graph);
    let pending = byStructure.get(key);
    if (pending) reused++;
    else {
      compiled++;
      const started = performance.now();
      pending = CapturedGraph.compile(ctx, graph).then((result) => {
        compileMs += performance.now() - started;
        debugLog(
          DebugLevel.timings,
          'webgpu',
          () =>
            `compiled a ${graph.nodes.length}-node graph in ${(performance.now() - started).toFixed(0)} ms`,
        );
        live.add(result);
        return result;
      });
      if (byStructure.size >= MAX_CACHED_GRAPHS) {
        const [oldKey, old] = byStructure.entries().next().value as [
          string,
          Promise<CapturedGraph>,
        ];
        byStructure.delete(oldKey);
        // Its arena goes back; should the same Graph object come again, it captures anew.
        void old
          .then((evicted) => {
            evicted.release();
            live.delete(evicted);
          })
          .catch(() => {});
      }
      byStructure.set(key, pending);
    }
    const result = await pending;
    byGraph.set(graph, result);
    return result;
  };
  // One graph at a time: capture and prefetch put the device layer in a mode (recording, dry run)
  // that a concurrent run would corrupt, and evaluation runs graphs under Promise.all. The GPU
  // queue runs one thing at a time anyway; what is lost is only host overlap between graphs.
  let tail: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const result = tail.then(work, work);
    tail = result.catch(() => undefined);
    return result;
  };
  return {
    name: 'webgpu',
    run(graph: Graph, inputs: readonly TensorData[]): Promise<TensorData[]> {
      return exclusive(async () => (await compiledFor(graph)).run(inputs));
    },
    stats: () => {
      const all = [...live].map((g) => g.stats());
      return {
        compiled,
        reused,
        captured: all.filter((s) => s.captured).length,
        replays: all.reduce((n, s) => n + s.replays, 0),
        compileMs,
      };
    },
  };
}
