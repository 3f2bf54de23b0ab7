// GPU non-maximum suppression (the `nms` routine), reproducing the CPU reference's greedy keep set
// (runtime/cpu/routines.ts): (1) the bitonic argsort of compiler/wgsl/sort.ts orders the boxes by
// descending score (stable); (2) one invocation per (sorted box a, 32-box word) sets bit c of row
// a when the IoU of boxes a and c > a exceeds the threshold (an N × ⌈N/32⌉ bitmask); (3) one
// invocation sweeps the sorted boxes in order, keeping a box unless a kept box's row has marked it,
// and OR-ing each kept row into a `removed` bitset in workgroup memory — exactly the greedy rule,
// stopping at `maxOutput` keeps. IoU is computed in f32 with the reference's formula (which uses
// doubles), so a pair whose IoU is within f32 rounding of the threshold may decide differently.
// Flow: compiler/fuse (a `routine` group) → **nms** → op program → executor.

import type { Graph, NodeId } from '../ir/index.js';
import { KernelLimitError } from './errors.js';
import { scalarLiteral } from './expression.js';
import { fnv1a, type FusedKernel } from './fused-kernels.js';
import type { KernelTarget } from './kernel.js';
import { programKernel, scratchBinding, type OpProgram } from './op-program.js';
import { sortKernels } from './sort.js';

export function nmsProgram(
  graph: Graph,
  id: NodeId,
  target: KernelTarget,
  label: string,
): OpProgram {
  const node = graph.nodes[id];
  if (node.op !== 'routine' || node.routine.kind !== 'nms') {
    throw new Error(`nmsProgram on ${node.op}`);
  }
  const { iouThreshold, maxOutput } = node.routine;
  const [boxesId, scoresId] = node.inputs;
  const n = graph.nodes[boxesId].shape[0];
  const words = Math.max(Math.ceil(n / 32), 1);
  if (words * 4 > target.maxComputeWorkgroupStorageSize) {
    throw new KernelLimitError(
      label,
      `nms over ${n} boxes needs a ${words * 4}-byte bitset in workgroup memory; the adapter allows ${target.maxComputeWorkgroupStorageSize}`,
      { hint: 'pre-filter the boxes (e.g. top-k by score) before nms' },
    );
  }
  const sorted = sortKernels(
    {
      values: { node: scoresId, name: 'x', dtype: 'f32' },
      lines: 1,
      len: n,
      inner: 1,
      descending: true,
    },
    target,
    label,
  );
  const mask = programKernel({
    label: `${label} (iou mask)`,
    kind: 'nms-mask',
    comment: `nms: IoU > ${iouThreshold} bitmask of ${n} sorted boxes (${words} words per row)`,
    bindings: [scratchBinding('mask'), scratchBinding('keys')],
    loads: [{ node: boxesId, name: 'boxes', dtype: 'f32' }],
    count: n * words,
    helpers: `fn box(k: u32) -> vec4f {
  return vec4f(boxes[k * 4u], boxes[k * 4u + 1u], boxes[k * 4u + 2u], boxes[k * 4u + 3u]);
}

// The reference's IoU (runtime/cpu/routines.ts), same operation order, in f32.
fn iou(bi: vec4f, bj: vec4f) -> f32 {
  let area_i = (bi.z - bi.x) * (bi.w - bi.y);
  let area_j = (bj.z - bj.x) * (bj.w - bj.y);
  let w = max(0.0, min(bi.z, bj.z) - max(bi.x, bj.x));
  let h = max(0.0, min(bi.w, bj.w) - max(bi.y, bj.y));
  let inter = w * h;
  return inter / (area_i + area_j - inter);
}`,
    body: `  let a = i / ${words}u;
  let word = i % ${words}u;
  // Row a marks only boxes after a (the lower triangle stays zero).
  if (word * 32u + 31u <= a) {
    mask[i] = 0u;
    return;
  }
  let box_a = box(keys[a]);
  var bits = 0u;
  for (var t = 0u; t < 32u; t++) {
    let c = word * 32u + t;
    if (c > a && c < ${n}u && iou(box_a, box(keys[c])) > ${scalarLiteral('f32', iouThreshold)}) {
      bits |= 1u << t;
    }
  }
  mask[i] = bits;`,
    target,
  });
  return {
    scratch: [sorted.keys, sorted.vals, { name: 'mask', words: Math.max(n * words, 1) }],
    kernels: [...sorted.kernels, mask, sweepKernel(n, words, maxOutput, label)],
  };
}

/**
 * The greedy sweep, one invocation: visiting the sorted boxes costs a bit test each, and only kept
 * rows (at most maxOutput) are OR-ed into `removed` — cheaper on lavapipe than a workgroup that
 * meets at a barrier for every box.
 */
function sweepKernel(n: number, words: number, maxOutput: number, label: string): FusedKernel {
  const wgsl = `// nms sweep: greedy keep over ${n} sorted boxes, at most ${maxOutput} kept
@group(0) @binding(0) var<storage, read_write> out: array<i32>;
@group(0) @binding(1) var<storage, read_write> keys: array<u32>;
@group(0) @binding(2) var<storage, read_write> mask: array<u32>;
var<workgroup> removed: array<u32, ${words}>;

@compute @workgroup_size(1)
fn main() {
  for (var w = 0u; w < ${words}u; w++) { removed[w] = 0u; }
  for (var o = 0u; o < ${maxOutput}u; o++) { out[o] = -1i; }
  var kept = 0u;
  for (var a = 0u; a < ${n}u && kept < ${maxOutput}u; a++) {
    if (((removed[a / 32u] >> (a % 32u)) & 1u) == 0u) {
      out[kept] = i32(keys[a]);
      kept++;
      // Row a marks only boxes after a: words before a's own are zero.
      for (var w = a / 32u; w < ${words}u; w++) { removed[w] |= mask[a * ${words}u + w]; }
    }
  }
}
`;
  return {
    kernel: {
      key: `nms-sweep/${fnv1a(wgsl)}/${wgsl.length}`,
      label: `${label} (sweep)`,
      wgsl,
      bindings: [
        { name: 'out', kind: 'storage-read-write' },
        { name: 'keys', kind: 'storage-read-write' },
        { name: 'mask', kind: 'storage-read-write' },
      ],
      workgroups: [1, 1, 1],
      params: undefined,
    },
    loads: [],
  };
}
