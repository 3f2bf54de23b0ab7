// Benchmark cases: the three passes (forward, input gradient, filter gradient) of each convolution
// of the small CNN (bench/cnn-graph.ts) alone, through the runtime path (pack, kernel, read back) —
// the per-layer break-down of the `cnn-train-step` case. The first layer's input gradient is not
// part of a training step (autodiff drops it), so it is left out.

import { BENCH_CNN } from './cnn-graph.js';
import { conv2dCase, type ConvPass } from './conv2d.js';
import type { BenchCase } from './harness.js';

export function cnnLayerCases(): BenchCase[] {
  const { batch, size, channels } = BENCH_CNN;
  const cases: BenchCase[] = [];
  let hw = size;
  for (let i = 1; i < channels.length; i++) {
    const stride = i === 1 ? 1 : 2;
    const passes: ConvPass[] = i === 1 ? ['fwd', 'bwd-filter'] : ['fwd', 'bwd-input', 'bwd-filter'];
    for (const pass of passes)
      cases.push({
        ...conv2dCase(batch, channels[i - 1], hw, channels[i], pass, stride),
        group: 'cnn-layers',
      });
    hw = Math.floor((hw + 2 - 3) / stride) + 1;
  }
  return cases;
}
