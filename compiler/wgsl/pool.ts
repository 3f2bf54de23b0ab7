// Pooling kernels in NCHW: `pool2d` (max or avg over zero-padded windows, floor mode; padding never
// wins a max, avg divides by the full window — count_include_pad) with one invocation per output
// element, and `max_pool2d_grad` written in gather form — one invocation per input element sums
// the output gradients of the windows whose first maximal element it is, so no atomics are needed
// and the sum runs in a fixed order. Flow: compiler/fuse (a pooling group) → **pool** → executor.

import type { Graph, NodeId, NodeOf } from '../ir/index.js';
import { sizeOf } from '../ir/index.js';
import type { FusedKernel } from './fused-kernels.js';
import type { KernelTarget } from './kernel.js';
import { opKernel, operandLoads } from './op-kernel.js';

type PoolNode = NodeOf<'pool2d'> | NodeOf<'max_pool2d_grad'>;

/**
 * WGSL that visits the in-bounds positions of output window (`oy`, `ox`) of plane `plane` in
 * row-major order, with `hy`, `wx` and the flat input offset `xi` in scope of `visit`.
 */
function forWindow(node: PoolNode, h: number, w: number, visit: string, indent: string): string {
  const [kh, kw] = node.kernel;
  const [sh, sw] = node.stride;
  const [ph, pw] = node.padding;
  return `${indent}for (var ky = 0u; ky < ${kh}u; ky++) {
${indent}  let hy = i32(oy * ${sh}u + ky) - ${ph}i;
${indent}  if (hy < 0i || hy >= ${h}i) { continue; }
${indent}  for (var kx = 0u; kx < ${kw}u; kx++) {
${indent}    let wx = i32(ox * ${sw}u + kx) - ${pw}i;
${indent}    if (wx < 0i || wx >= ${w}i) { continue; }
${indent}    let xi = (plane * ${h}u + u32(hy)) * ${w}u + u32(wx);
${visit}
${indent}  }
${indent}}`;
}

export function pool2dKernel(
  graph: Graph,
  id: NodeId,
  target: KernelTarget,
  label: string,
): FusedKernel {
  const node = graph.nodes[id];
  if (node.op !== 'pool2d') throw new Error(`pool2dKernel on ${node.op}`);
  const [, , h, w] = graph.nodes[node.inputs[0]].shape;
  const [, , ho, wo] = node.shape;
  const isMax = node.fn === 'max';
  const visit = isMax
    ? '        let v = in0[xi];\n        if (v > acc || v != v) { acc = v; }'
    : '        acc += in0[xi];';
  const result = isMax ? 'acc' : `acc / ${node.kernel[0] * node.kernel[1]}.0`;
  const body = `  let plane = i / ${ho * wo}u;
  let oy = (i / ${wo}u) % ${ho}u;
  let ox = i % ${wo}u;
  var acc = ${isMax ? 'NEG_INF' : '0.0'};
${forWindow(node, h, w, visit, '  ')}
  out[i] = ${result};`;
  return opKernel({
    label,
    kind: 'pool',
    comment: `pool2d: %${id} ${node.fn} ${node.kernel.join('x')} stride ${node.stride.join(',')} padding ${node.padding.join(',')}`,
    outDtype: 'f32',
    loads: operandLoads(graph, node),
    count: sizeOf(node.shape),
    body,
    target,
  });
}

export function maxPool2dGradKernel(
  graph: Graph,
  id: NodeId,
  target: KernelTarget,
  label: string,
): FusedKernel {
  const node = graph.nodes[id];
  if (node.op !== 'max_pool2d_grad') throw new Error(`maxPool2dGradKernel on ${node.op}`);
  const [, , h, w] = node.shape;
  const [, , ho, wo] = graph.nodes[node.inputs[1]].shape;
  const [kh, kw] = node.kernel;
  const [sh, sw] = node.stride;
  const [ph, pw] = node.padding;
  // Output rows whose window covers input row y: oy·s − p ≤ y ≤ oy·s − p + k − 1.
  const range = (axis: string, k: number, s: number, p: number, n: number) =>
    `  let ${axis}T = ${axis}In + ${p - k + 1}i;
  let ${axis}Lo = select(0u, u32(${axis}T + ${s - 1}i) / ${s}u, ${axis}T > 0i);
  let ${axis}Hi = min(u32(${axis}In + ${p}i) / ${s}u + 1u, ${n}u);`;
  // The first maximal element of the window (in row-major order) takes the window's gradient.
  const visit = `          let v = in0[xi];
          if (at < 0i || v > best) {
            best = v;
            at = i32(xi);
          }`;
  const body = `  let plane = i / ${h * w}u;
  let yIn = i32((i / ${w}u) % ${h}u);
  let xIn = i32(i % ${w}u);
${range('y', kh, sh, ph, ho)}
${range('x', kw, sw, pw, wo)}
  var acc = 0.0;
  for (var oy = yLo; oy < yHi; oy++) {
    for (var ox = xLo; ox < xHi; ox++) {
      var best = NEG_INF;
      var at = -1i;
${forWindow(node, h, w, visit, '      ')}
      if (at == i32(i)) { acc += in1[(plane * ${ho}u + oy) * ${wo}u + ox]; }
    }
  }
  out[i] = acc;`;
  return opKernel({
    label,
    kind: 'pool-grad',
    comment: `max_pool2d_grad: %${id} ${kh}x${kw} stride ${sh},${sw} padding ${ph},${pw}`,
    outDtype: 'f32',
    loads: operandLoads(graph, node),
    count: sizeOf(node.shape),
    body,
    target,
  });
}
