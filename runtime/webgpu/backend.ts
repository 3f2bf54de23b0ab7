// The WebGPU executor as a Backend of the Tensor front end (runtime/tensor/backend.ts): the same
// interface as the CPU reference, so training steps, evaluation and benches run on the GPU by
// swapping one object. Graphs are compiled once (fusion plan, WGSL, pipelines) and the compiled
// executor is reused for every later graph with the same structure — a traced training step is
// compiled on its first call and replayed after. Flow: Tensor API → IR graph → **this backend** →
// runtime/webgpu executor → runtime/gpu.

import { printGraph, type Graph } from '../../compiler/ir/index.js';
import type { TensorData } from '../cpu/tensor-data.js';
import { debugLog, DebugLevel } from '../debug.js';
import type { GpuContext } from '../gpu/index.js';
import type { Backend } from '../tensor/backend.js';
import { GraphExecutor } from './executor.js';

const MAX_CACHED_GRAPHS = 64;

export interface WebGpuBackend extends Backend {
  /** Compiled graphs so far, and how many runs reused one. */
  stats(): { readonly compiled: number; readonly reused: number };
}

export function webgpuBackend(ctx: GpuContext): WebGpuBackend {
  const byGraph = new WeakMap<Graph, GraphExecutor>();
  const byStructure = new Map<string, Promise<GraphExecutor>>();
  let compiled = 0;
  let reused = 0;
  const executorFor = async (graph: Graph): Promise<GraphExecutor> => {
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
      pending = GraphExecutor.compile(ctx, graph).then((executor) => {
        debugLog(
          DebugLevel.timings,
          'webgpu',
          () =>
            `compiled a ${graph.nodes.length}-node graph in ${(performance.now() - started).toFixed(0)} ms`,
        );
        return executor;
      });
      if (byStructure.size >= MAX_CACHED_GRAPHS) {
        byStructure.delete(byStructure.keys().next().value as string);
      }
      byStructure.set(key, pending);
    }
    const executor = await pending;
    byGraph.set(graph, executor);
    return executor;
  };
  return {
    name: 'webgpu',
    async run(graph: Graph, inputs: readonly TensorData[]): Promise<TensorData[]> {
      const executor = await executorFor(graph);
      return executor.run(inputs);
    },
    stats: () => ({ compiled, reused }),
  };
}
