// Benchmark case: one training step of the small CNN (bench/cnn-graph.ts) through the executor —
// forward, backward, SGD update, all fused and batched — with data and parameters on the device and
// the loss read back each step. GFLOP/s counts 3x the forward FLOPs.

import { GraphExecutor } from '../runtime/webgpu/executor.js';
import { BENCH_CNN, cnnForwardFlops, cnnTrainingStep } from './cnn-graph.js';
import { result, seeded, timeRounds, type BenchCase } from './harness.js';

export function cnnStepCase(): BenchCase {
  return {
    name: 'cnn-train-step',
    group: 'cnn',
    async run(ctx, rounds) {
      const { graph } = cnnTrainingStep(BENCH_CNN);
      const executor = await GraphExecutor.compile(ctx, graph);
      const inputs = graph.inputs.map((id, k) => {
        const node = graph.nodes[id];
        const n = node.shape.reduce((a, b) => a * b, 1);
        const scale = node.op === 'input' && node.name.startsWith('w') ? 0.1 : 1;
        return ctx.buffers.upload(seeded(n, k + 1).map((v) => v * scale));
      });
      const times = await timeRounds(rounds, async () => {
        const outs = await executor.enqueue(inputs);
        await ctx.queue.read(outs.get(graph.outputs[0])!, 4);
        executor.releaseOutputs(outs);
      });
      for (const buffer of inputs) ctx.buffers.release(buffer);
      const flops = 3 * cnnForwardFlops(BENCH_CNN);
      return result(
        `small CNN training step (batch 8, 64x64x3, fwd+bwd+SGD)`,
        times,
        1,
        'GFLOP/s',
        (ms) => flops / (ms * 1e6),
      );
    },
  };
}
