// The roi_align kernels (torchvision semantics, as the CPU reference runtime/cpu/roi-align.ts):
// forward — one invocation per output element (roi, channel, bin) averaging the bilinear samples of
// its bin; gradient — the output zeroed, then one invocation per dy element scattering its
// weighted value onto the 4 taps of every sample with an f32 atomic add (compare-and-swap on the
// bits, as compiler/wgsl/scatter-add.ts). Both walk the same sample points, so the gradient is the
// transpose of the forward. `aligned` shifts by half a pixel; `samplingRatio` ≤ 0 samples
// ceil(roi size / bins) points per bin, computed per ROI in the kernel. Arithmetic is f32 (the
// reference uses doubles), so results agree to rounding; the order of the atomic adds is not fixed.
// Flow: compiler/fuse (`roi_align` / `roi_align_grad` groups) → **roi-align** → op program → executor.

import { atomicAddF32 } from './atomic-f32.js';
import type { Graph, NodeId, NodeOf } from '../ir/index.js';
import { sizeOf } from '../ir/index.js';
import { scalarLiteral } from './expression.js';
import type { KernelTarget } from './kernel.js';
import { operandLoads } from './op-kernel.js';
import { outBinding, programKernel, type OpProgram } from './op-program.js';

type RoiNode = NodeOf<'roi_align'> | NodeOf<'roi_align_grad'>;

interface RoiGeometry {
  readonly batch: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly rois: number;
}

/**
 * Statements that walk the samples of output bin (roi `k`, bin `ph`, `pw`) and run `tap` with
 * `b` (the ROI's batch index, i32), `off` (the h·W + w offset of the tap in a channel plane) and
 * `wt` (its weight, already divided by the sample count) in scope. `rois` is the ROI binding.
 */
function sampleLoop(node: RoiNode, g: RoiGeometry, rois: string, tap: string): string {
  const [pooledH, pooledW] = node.outputSize;
  const f = (v: number) => scalarLiteral('f32', v);
  const clampRoi = node.aligned
    ? ''
    : `
  roi_w = max(roi_w, 1.0);
  roi_h = max(roi_h, 1.0);`;
  const grid = (axis: 'h' | 'w', pooled: number) =>
    node.samplingRatio > 0 ? `${node.samplingRatio}i` : `i32(ceil(roi_${axis} / ${f(pooled)}))`;
  return `  let r = k * 5u;
  // i32() truncates toward zero, as Math.trunc in the reference.
  let b = i32(${rois}[r]);
  if (b < 0i || b >= ${g.batch}i) { return; }
  let x1 = ${rois}[r + 1u] * ${f(node.spatialScale)} - ${f(node.aligned ? 0.5 : 0)};
  let y1 = ${rois}[r + 2u] * ${f(node.spatialScale)} - ${f(node.aligned ? 0.5 : 0)};
  let x2 = ${rois}[r + 3u] * ${f(node.spatialScale)} - ${f(node.aligned ? 0.5 : 0)};
  let y2 = ${rois}[r + 4u] * ${f(node.spatialScale)} - ${f(node.aligned ? 0.5 : 0)};
  var roi_w = x2 - x1;
  var roi_h = y2 - y1;${clampRoi}
  let bin_h = roi_h / ${f(pooledH)};
  let bin_w = roi_w / ${f(pooledW)};
  let grid_h = ${grid('h', pooledH)};
  let grid_w = ${grid('w', pooledW)};
  let samples = f32(max(grid_h * grid_w, 1i));
  for (var iy = 0i; iy < grid_h; iy++) {
    let y = y1 + f32(ph) * bin_h + ((f32(iy) + 0.5) * bin_h) / f32(grid_h);
    for (var ix = 0i; ix < grid_w; ix++) {
      let x = x1 + f32(pw) * bin_w + ((f32(ix) + 0.5) * bin_w) / f32(grid_w);
      if (y < -1.0 || y > ${f(g.height)} || x < -1.0 || x > ${f(g.width)}) { continue; }
      var yy = max(y, 0.0);
      var xx = max(x, 0.0);
      var y_low = i32(floor(yy));
      var x_low = i32(floor(xx));
      var y_high = y_low + 1i;
      var x_high = x_low + 1i;
      if (y_low >= ${g.height - 1}i) {
        y_low = ${g.height - 1}i;
        y_high = y_low;
        yy = f32(y_low);
      }
      if (x_low >= ${g.width - 1}i) {
        x_low = ${g.width - 1}i;
        x_high = x_low;
        xx = f32(x_low);
      }
      let ly = yy - f32(y_low);
      let lx = xx - f32(x_low);
      let hy = 1.0 - ly;
      let hx = 1.0 - lx;
      for (var t = 0u; t < 4u; t++) {
        let ty = select(y_low, y_high, t >= 2u);
        let tx = select(x_low, x_high, (t & 1u) == 1u);
        let off = u32(ty * ${g.width}i + tx);
        let wt = (select(hy, ly, t >= 2u) * select(hx, lx, (t & 1u) == 1u)) / samples;
${tap}
      }
    }
  }`;
}

function roiGeometry(graph: Graph, node: RoiNode): RoiGeometry {
  const feat = node.op === 'roi_align' ? graph.nodes[node.inputs[0]].shape : node.shape;
  const rois = graph.nodes[node.inputs[node.op === 'roi_align' ? 1 : 0]].shape;
  return {
    batch: feat[0],
    channels: feat[1],
    height: feat[2],
    width: feat[3],
    rois: rois[0],
  };
}

function describeRoi(node: RoiNode): string {
  const [ph, pw] = node.outputSize;
  return `${ph}x${pw} bins, scale ${node.spatialScale}, sampling ${node.samplingRatio > 0 ? node.samplingRatio : 'adaptive'}, ${node.aligned ? 'aligned' : 'legacy'}`;
}

/** Invocation i of a [K, C, PH, PW] grid as its ROI `k`, channel `c` and bin `ph`, `pw`. */
function binOfInvocation(node: RoiNode, g: RoiGeometry): string {
  const [pooledH, pooledW] = node.outputSize;
  return `  let pw = i % ${pooledW}u;
  let ph = i / ${pooledW}u % ${pooledH}u;
  let c = i / ${pooledH * pooledW}u % ${g.channels}u;
  let k = i / ${pooledH * pooledW * g.channels}u;`;
}

/** out[k, c, ph, pw] = mean over the bin's samples of the bilinear feature value. */
export function roiAlignProgram(
  graph: Graph,
  id: NodeId,
  target: KernelTarget,
  label: string,
): OpProgram {
  const node = graph.nodes[id];
  if (node.op !== 'roi_align') throw new Error(`roiAlignProgram on ${node.op}`);
  const g = roiGeometry(graph, node);
  const plane = g.height * g.width;
  const kernel = programKernel({
    label,
    kind: 'roi-align',
    comment: `roi_align [${node.shape.join(', ')}] from features [${g.batch}, ${g.channels}, ${g.height}, ${g.width}], ${describeRoi(node)}`,
    bindings: [outBinding('f32')],
    loads: operandLoads(graph, node),
    count: sizeOf(node.shape),
    body: `${binOfInvocation(node, g)}
  out[i] = 0.0;
  var acc = 0.0;
${sampleLoop(node, g, 'in1', `        acc += wt * in0[(u32(b) * ${g.channels}u + c) * ${plane}u + off];`)}
  out[i] = acc;`,
    target,
  });
  return { scratch: [], kernels: [kernel] };
}

/** d feat: zeroed, then every dy element added onto the taps of its bin's samples (atomic). */
export function roiAlignGradProgram(
  graph: Graph,
  id: NodeId,
  target: KernelTarget,
  label: string,
): OpProgram {
  const node = graph.nodes[id];
  if (node.op !== 'roi_align_grad') throw new Error(`roiAlignGradProgram on ${node.op}`);
  const g = roiGeometry(graph, node);
  const [pooledH, pooledW] = node.outputSize;
  const plane = g.height * g.width;
  const [rois, dy] = operandLoads(graph, node);
  const zero = programKernel({
    label: `${label} (zero)`,
    kind: 'fill-zero',
    comment: 'zero the output',
    bindings: [outBinding('u32')],
    loads: [],
    count: sizeOf(node.shape),
    body: '  out[i] = 0u;',
    target,
  });
  const scatter = programKernel({
    label,
    kind: 'roi-align-grad',
    comment: `roi_align_grad [${node.shape.join(', ')}] from dy of ${g.rois} rois, ${describeRoi(node)}`,
    bindings: [outBinding('f32', 'atomic<u32>')],
    loads: [rois, dy],
    count: g.rois * g.channels * pooledH * pooledW,
    body: `${binOfInvocation(node, g)}
  let grad = ${dy.name}[i];
  if (grad == 0.0) { return; }
${sampleLoop(
  node,
  g,
  rois.name,
  `        let add = wt * grad;
        if (add == 0.0) { continue; }
        let dst = (u32(b) * ${g.channels}u + c) * ${plane}u + off;
${atomicAddF32('out', 'dst', 'add', '        ')}`,
)}`,
    target,
  });
  return { scratch: [], kernels: [zero, scatter] };
}
