// The Backend interface the Tensor front end (runtime/tensor) runs graphs on: given an IR graph and
// the values of its inputs, the values of its outputs. The CPU reference implements it here; the
// WebGPU executor (compiler/wgsl + runtime/gpu) implements the same interface.
import type { Graph } from '../../compiler/ir/index.js';
import { printGraph } from '../../compiler/ir/index.js';
import { DebugLevel, debugLog } from '../debug.js';
import { interpret } from '../cpu/interpret.js';
import type { TensorData } from '../cpu/tensor-data.js';

export interface Backend {
  readonly name: string;
  /** Runs `graph` with `inputs[k]` bound to `graph.inputs[k]`; resolves to the outputs in order. */
  run(graph: Graph, inputs: readonly TensorData[]): Promise<TensorData[]>;
}

/** The CPU reference interpreter as a Backend (`--backend cpu-reference`). */
export function cpuReferenceBackend(options: { float64?: boolean } = {}): Backend {
  return {
    name: options.float64 ? 'cpu-reference-f64' : 'cpu-reference',
    run: async (graph, inputs) => {
      debugLog(DebugLevel.ir, 'ir', () => `cpu-reference graph:\n${printGraph(graph)}`);
      return interpret(graph, inputs, options);
    },
  };
}
