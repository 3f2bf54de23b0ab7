// The WebGPU executor as a Backend of the Tensor front end (runtime/tensor/backend.ts): the same
// interface as the CPU reference, so training steps, evaluation and benches run on the GPU by
// swapping one object. Graphs are compiled once (fusion plan, WGSL, pipelines) and the compiled
// graph is reused for every later graph with the same structure (least recently used structures
// dropped past MAX_CACHED_GRAPHS) — a traced training step is compiled on its first call, runs
// uncaptured once, is captured on its second run and replayed after (captured-graph.ts); a graph
// that runs once (evaluation of a size seen once) never captures. At most a bounded number of
// captured graphs keep their arenas (arena-budget.ts).
// Flow: Tensor API → IR graph → **this backend** → captured graph / executor → runtime/gpu.

import { printGraph, type Graph } from '../../compiler/ir/index.js';
import type { TensorData } from '../cpu/tensor-data.js';
import { debugLog, DebugLevel } from '../debug.js';
import type { GpuContext } from '../gpu/index.js';
import type { Backend } from '../tensor/backend.js';
import { ArenaBudget, type ArenaBudgetLimits } from './arena-budget.js';
import { CapturedGraph, type CaptureOptions } from './captured-graph.js';

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
  /** Captured graphs holding an arena now, and those arenas' bytes. */
  readonly arenas: number;
  readonly arenaBytes: number;
  /** Arenas given back to stay within the budget. */
  readonly arenaEvictions: number;
}

export interface WebGpuBackendOptions extends CaptureOptions {
  readonly arenas?: ArenaBudgetLimits;
  /** Compiled graph structures kept (default 64). */
  readonly maxCachedGraphs?: number;
}

export interface WebGpuBackend extends Backend {
  stats(): WebGpuBackendStats;
}

export function webgpuBackend(ctx: GpuContext, options: WebGpuBackendOptions = {}): WebGpuBackend {
  const maxCached = options.maxCachedGraphs ?? MAX_CACHED_GRAPHS;
  const budget = new ArenaBudget(options.arenas);
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
    if (pending) {
      reused++;
      // Most recently used last: eviction takes the first entry.
      byStructure.delete(key);
      byStructure.set(key, pending);
    } else {
      compiled++;
      const started = performance.now();
      pending = CapturedGraph.compile(ctx, graph, options).then((result) => {
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
      if (byStructure.size >= maxCached) {
        const [oldKey, old] = byStructure.entries().next().value as [
          string,
          Promise<CapturedGraph>,
        ];
        byStructure.delete(oldKey);
        // Its arena goes back; should the same Graph object come again, it captures anew.
        void old
          .then((evicted) => {
            budget.drop(evicted);
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
      return exclusive(async () => {
        const compiledGraph = await compiledFor(graph);
        try {
          return await compiledGraph.run(inputs);
        } finally {
          budget.touched(compiledGraph);
        }
      });
    },
    stats: () => {
      const all = [...live].map((g) => g.stats());
      const arenas = budget.stats();
      return {
        arenas: arenas.arenas,
        arenaBytes: arenas.bytes,
        arenaEvictions: arenas.evictions,
        compiled,
        reused,
        captured: all.filter((s) => s.captured).length,
        replays: all.reduce((n, s) => n + s.replays, 0),
        compileMs,
      };
    },
  };
}
