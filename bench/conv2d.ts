// Benchmark cases: 3x3 convolutions on ResNet-like shapes through the runtime path (pack, implicit
// GEMM, read back), forward, input gradient and filter gradient. FLOPs = 2·N·O·OH·OW·C·KH·KW / groups.

import type { GpuContext } from '../runtime/gpu/index.js';
import {
  contiguous4,
  conv2d,
  conv2dFilterGrad,
  conv2dInputGrad,
  convGeometry,
} from '../runtime/webgpu/conv2d.js';
import { result, seeded, timeRounds, type BenchCase } from './harness.js';

export type ConvPass = 'fwd' | 'bwd-input' | 'bwd-filter';

export function conv2dCase(
  n: number,
  c: number,
  hw: number,
  o: number,
  pass: ConvPass,
  stride = 1,
): BenchCase {
  const name = `conv3x3 [${n},${c},${hw},${hw}]->${o}${stride > 1 ? ` s${stride}` : ''} ${pass}`;
  return {
    name: `conv-${n}x${c}x${hw}-${o}${stride > 1 ? `-s${stride}` : ''}-${pass}`,
    group: 'conv2d',
    async run(ctx: GpuContext, rounds: number) {
      const xShape = [n, c, hw, hw] as const;
      const wShape = [o, c, 3, 3] as const;
      const g = convGeometry(xShape, wShape, { stride: [stride, stride], padding: [1, 1] });
      const yShape = [n, o, g.outHeight, g.outWidth] as const;
      const count = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
      const x = ctx.buffers.upload(seeded(count(xShape), 1));
      const w = ctx.buffers.upload(seeded(count(wShape), 2));
      const dy = ctx.buffers.upload(seeded(count(yShape), 3));
      const outShape = pass === 'fwd' ? yShape : pass === 'bwd-input' ? xShape : wShape;
      const out = ctx.buffers.acquire(count(outShape) * 4);
      const input = { buffer: x, strides: contiguous4(xShape) };
      const weight = { buffer: w, strides: contiguous4(wShape) };
      const gradOut = { buffer: dy, strides: contiguous4(yShape) };
      const op = async () => {
        if (pass === 'fwd')
          await conv2d(ctx, {
            geometry: g,
            input,
            weight,
            out: { buffer: out, strides: contiguous4(yShape) },
          });
        else if (pass === 'bwd-input')
          await conv2dInputGrad(ctx, {
            geometry: g,
            gradOut,
            weight,
            out: { buffer: out, strides: contiguous4(xShape) },
          });
        else await conv2dFilterGrad(ctx, { geometry: g, input, gradOut, out });
        await ctx.queue.read(out, 64);
      };
      const times = await timeRounds(rounds, op);
      for (const buffer of [x, w, dy, out]) ctx.buffers.release(buffer);
      const flops = 2 * n * o * g.outHeight * g.outWidth * c * 9;
      return result(name, times, 1, 'GFLOP/s', (ms) => flops / (ms * 1e6));
    },
  };
}
