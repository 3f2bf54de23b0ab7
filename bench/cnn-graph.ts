// The small CNN training step of lavapipe-performance.md as one IR graph: four 3x3 conv + bias +
// ReLU layers (3→32 s1, →64 s2, →128 s2, →256 s2), global average pool, a dense layer to 10
// classes, softmax cross-entropy against one-hot labels, the backward pass (runtime/autodiff) and
// an SGD update (lr 0.01). Outputs: [loss, updated parameters…]. Used by the benchmark
// (bench/cnn.ts) and, at a tiny size, by the executor test against the CPU reference.

import { GraphBuilder, type Graph, type NodeId, type Shape } from '../compiler/ir/index.js';
import { buildBackward } from '../runtime/autodiff/backward.js';

export interface CnnSpec {
  readonly batch: number;
  readonly size: number;
  readonly channels: readonly number[];
  readonly classes: number;
  readonly learningRate: number;
}

export const BENCH_CNN: CnnSpec = {
  batch: 8,
  size: 64,
  channels: [3, 32, 64, 128, 256],
  classes: 10,
  learningRate: 0.01,
};

/** Forward FLOPs of the convolutions and the dense layer (the 3x-forward convention gives a step). */
export function cnnForwardFlops(spec: CnnSpec): number {
  let flops = 0;
  let hw = spec.size;
  spec.channels.slice(1).forEach((out, i) => {
    if (i > 0) hw = Math.floor((hw + 2 - 3) / 2) + 1;
    flops += 2 * spec.batch * out * hw * hw * spec.channels[i] * 9;
  });
  return flops + 2 * spec.batch * spec.channels.at(-1)! * spec.classes;
}

export function cnnTrainingStep(spec: CnnSpec): { graph: Graph; paramShapes: Shape[] } {
  const b = new GraphBuilder();
  const x = b.input('x', [spec.batch, spec.channels[0], spec.size, spec.size]);
  const labels = b.input('labels', [spec.batch, spec.classes]);
  const params: NodeId[] = [];
  let h = x;
  for (let i = 1; i < spec.channels.length; i++) {
    const w = b.input(`w${i}`, [spec.channels[i], spec.channels[i - 1], 3, 3]);
    const bias = b.input(`b${i}`, [1, spec.channels[i], 1, 1]);
    params.push(w, bias);
    const stride = i === 1 ? 1 : 2;
    const y = b.add({
      op: 'conv2d',
      inputs: [h, w],
      stride: [stride, stride],
      padding: [1, 1],
      dilation: [1, 1],
      groups: 1,
    });
    const shape = b.shape(y);
    h = b.binary('max', b.binary('add', y, b.broadcast(bias, shape)), b.fill(0, shape));
  }
  const [n, c, hh, ww] = b.shape(h);
  const pooled = b.reshape(
    b.binary('mul', b.reduce('sum', h, [2, 3]), b.fill(1 / (hh * ww), [n, c, 1, 1])),
    [n, c],
  );
  const wd = b.input('wd', [c, spec.classes]);
  const bd = b.input('bd', [1, spec.classes]);
  params.push(wd, bd);
  const z = b.binary(
    'add',
    b.add({ op: 'matmul', inputs: [pooled, wd] }),
    b.broadcast(bd, [n, spec.classes]),
  );
  const shifted = b.binary('sub', z, b.broadcast(b.reduce('max', z, [1]), [n, spec.classes]));
  const lse = b.unary('log', b.reduce('sum', b.unary('exp', shifted), [1]));
  const picked = b.reduce('sum', b.binary('mul', labels, shifted), [1]);
  const perExample = b.binary('sub', lse, picked);
  const loss = b.binary('mul', b.reduce('sum', perExample, [0, 1]), b.fill(1 / n, [1, 1]));
  const grads = buildBackward(b, loss, params);
  const updated = params.map((p, k) =>
    b.binary('sub', p, b.binary('mul', grads[k], b.fill(spec.learningRate, b.shape(p)))),
  );
  return { graph: b.build([loss, ...updated]), paramShapes: params.map((p) => b.shape(p)) };
}
