// Benchmark cases for the fused-kernel path of the executor (runtime/webgpu/executor.ts): an
// elementwise chain over 16M floats (one fused kernel, GB/s = bytes read + written) and a row
// reduction of a [4096, 4096] matrix with an inlined prologue. Inputs stay on the device; every
// round encodes the graph and reads a few bytes of the output back.

import { GraphBuilder, type Graph } from '../compiler/ir/index.js';
import type { GpuContext } from '../runtime/gpu/index.js';
import { GraphExecutor } from '../runtime/webgpu/executor.js';
import { result, seeded, timeRounds, type BenchCase } from './harness.js';

async function timeGraph(
  ctx: GpuContext,
  graph: Graph,
  inputCount: number,
  rounds: number,
): Promise<number[]> {
  const executor = await GraphExecutor.compile(ctx, graph);
  const inputs = graph.inputs.map((id, k) => {
    const n = graph.nodes[id].shape.reduce((a, b) => a * b, 1);
    return ctx.buffers.upload(seeded(n, k + 1));
  });
  if (inputs.length !== inputCount) throw new Error('bench graph inputs');
  const times = await timeRounds(rounds, async () => {
    const outs = await executor.enqueue(inputs);
    await ctx.queue.read(outs.get(graph.outputs[0])!, 16);
    executor.releaseOutputs(outs);
  });
  for (const b of inputs) ctx.buffers.release(b);
  return times;
}

export function elementwiseChainCase(n = 16 * 1024 * 1024): BenchCase {
  return {
    name: 'elementwise-chain',
    group: 'elementwise',
    async run(ctx, rounds) {
      const b = new GraphBuilder();
      const x = b.input('x', [n]);
      const y = b.input('y', [n]);
      const t = b.binary('sub', b.binary('mul', x, b.fill(2.5, [n])), b.fill(1, [n]));
      const u = b.binary(
        'add',
        b.binary('max', t, b.fill(0, [n])),
        b.binary('mul', y, b.fill(0.5, [n])),
      );
      const times = await timeGraph(ctx, b.build([u]), 2, rounds);
      const bytes = 3 * n * 4;
      return result(
        `elementwise chain y = max(2.5x-1, 0) + 0.5y, ${n / (1024 * 1024)}M f32 (5 ops fused)`,
        times,
        1,
        'GB/s',
        (ms) => bytes / (ms * 1e6),
      );
    },
  };
}

export function reductionCase(rows = 4096, cols = 4096): BenchCase {
  return {
    name: 'reduction',
    group: 'reduction',
    async run(ctx, rounds) {
      const b = new GraphBuilder();
      const x = b.input('x', [rows, cols]);
      const s = b.reduce('sum', b.binary('mul', x, x), [1]);
      const times = await timeGraph(ctx, b.build([s]), 1, rounds);
      return result(
        `row sum of squares [${rows},${cols}] -> [${rows},1]`,
        times,
        1,
        'GB/s',
        (ms) => (rows * cols * 4) / (ms * 1e6),
      );
    },
  };
}
