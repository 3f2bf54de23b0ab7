// GPU argsort as a bitonic sorting network over index keys, for the `argsort` and `top_k`
// routines and the score order of `nms`. Each line (a 1-D slice along the sort axis) is copied into
// contiguous scratch rows padded to a power of two P — `keys` (element indices) and `vals` (their
// value bits) — and every pass (stage k, distance j) compares-and-swaps P/2 pairs per line: passes
// with j < 128 in workgroup memory (one dispatch per stage), longer ones over global memory. The
// comparison is a strict total order on (value, index) — NaN after every number, equal values by
// index — so the network gives exactly the CPU reference's stable order (runtime/cpu/routines.ts),
// ties and NaNs included. Sizes live in the parameter block: one pipeline per kernel kind, dtype
// and direction serves every pass and shape.
// Flow: compiler/fuse (a `routine` group) → **sort** → op program → executor.

import type { DType, Graph, NodeId } from '../ir/index.js';
import { sizeOf } from '../ir/index.js';
import type { LoadBinding } from './expression.js';
import { fnv1a, type FusedKernel } from './fused-kernels.js';
import { foldGrid, ParamBlock, type KernelTarget } from './kernel.js';
import {
  outBinding,
  PROGRAM_LANES,
  programKernel,
  scratchBinding,
  type OpProgram,
  type ScratchBuffer,
} from './op-program.js';

/** What to sort: `lines` lines of `len` values `inner` apart (line L starts at
 * (L / inner)·len·inner + L % inner), read from the load named `x`. */
export interface SortSpec {
  readonly values: LoadBinding;
  readonly lines: number;
  readonly len: number;
  readonly inner: number;
  readonly descending: boolean;
}

export interface SortKernels {
  /** `keys`: lines × padded words; after the kernels, line L's order is keys[L·padded …]. */
  readonly keys: ScratchBuffer;
  readonly vals: ScratchBuffer;
  readonly padded: number;
  readonly kernels: readonly FusedKernel[];
}

/** Elements one workgroup sorts in workgroup memory (two per lane). */
const BLOCK = 2 * PROGRAM_LANES;

/**
 * The index bit that gives a compare-and-swap's direction in stage k: blocks of k elements
 * alternate direction, except in the last stage (k = padded), where every line sorts up (lines are
 * consecutive blocks of `padded` elements, so bit `padded` would alternate them).
 */
function directionBit(k: number, padded: number): number {
  return k < padded ? k : 0;
}

/** The smallest power of two ≥ n (1 for n ≤ 1). */
export function paddedLength(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** `precedes(ka, va, kb, vb)`: element ka (value bits va) comes before kb (bits vb). */
function orderHelper(dtype: DType, descending: boolean): string {
  const type = dtype === 'i32' ? 'i32' : dtype === 'u32' ? 'u32' : 'f32';
  const nan = (v: string) => (type === 'f32' ? `((${v} & 0x7fffffffu) > 0x7f800000u)` : 'false');
  return `// Padding (index >= len) comes last; NaN after every number; equal values by index (stable).
fn precedes(ka: u32, bits_a: u32, kb: u32, bits_b: u32) -> bool {
  if (ka >= params.len || kb >= params.len) { return ka < kb; }
  let na = ${nan('bits_a')};
  let nb = ${nan('bits_b')};
  if (na != nb) { return nb; }
  let va = bitcast<${type}>(bits_a);
  let vb = bitcast<${type}>(bits_b);
  if (!na && va != vb) { return va ${descending ? '>' : '<'} vb; }
  return ka < kb;
}`;
}

/**
 * The kernels that leave each line's sorted element indices in the scratch buffer `keys` (and
 * their value bits in `vals`). The first copies every line into contiguous, padded scratch rows, so
 * the passes read neighbours without index division (which llvmpipe scalarises).
 */
export function sortKernels(spec: SortSpec, target: KernelTarget, label: string): SortKernels {
  if (spec.values.name !== 'x') throw new Error(`sortKernels: the values load must be named x`);
  const padded = paddedLength(spec.len);
  const logPadded = Math.log2(padded);
  const words = Math.max(spec.lines * padded, 1);
  const keys: ScratchBuffer = { name: 'keys', words };
  const vals: ScratchBuffer = { name: 'vals', words };
  const direction = spec.descending ? 'descending' : 'ascending';
  const kernels: FusedKernel[] = [
    programKernel({
      label: `${label} (sort init)`,
      kind: 'sort-init',
      comment: 'bitonic argsort: keys = element indices, vals = their value bits, lines padded',
      bindings: [scratchBinding('keys'), scratchBinding('vals')],
      loads: [spec.values],
      count: spec.lines * padded,
      params: [
        ['len', spec.len],
        ['inner', spec.inner],
        ['log_padded', logPadded],
      ],
      body: `  let line = i >> params.log_padded;
  let e = i & ((1u << params.log_padded) - 1u);
  keys[i] = e;
  vals[i] = 0u;
  if (e < params.len) {
    vals[i] = bitcast<u32>(x[(line / params.inner * params.len + e) * params.inner + line % params.inner]);
  }`,
      target,
    }),
  ];
  const order = orderHelper(spec.values.dtype, spec.descending);
  const pass = (k: number, j: number) =>
    programKernel({
      label: `${label} (bitonic ${k}/${j})`,
      kind: 'sort-pass',
      comment: `bitonic argsort pass, ${spec.values.dtype} ${direction}`,
      bindings: [scratchBinding('keys'), scratchBinding('vals')],
      loads: [],
      count: (spec.lines * padded) / 2,
      params: [
        ['len', spec.len],
        ['dir_bit', directionBit(k, padded)],
        ['j', j],
      ],
      helpers: order,
      // Pair t of a pass: a = 2t - t mod j (a has bit j clear), b = a + j; lines are
      // consecutive blocks of padded elements, so the global index works the same way.
      body: `  let a = 2u * i - (i & (params.j - 1u));
  let b = a + params.j;
  let ka = keys[a];
  let kb = keys[b];
  let va = vals[a];
  let vb = vals[b];
  // Ascending blocks swap when b's element belongs first, descending ones when a's does.
  let up = (a & params.dir_bit) == 0u;
  if (precedes(select(ka, kb, up), select(va, vb, up), select(kb, ka, up), select(vb, va, up))) {
    keys[a] = kb;
    keys[b] = ka;
    vals[a] = vb;
    vals[b] = va;
  }`,
      target,
    });
  const local = (kLo: number, kHi: number) =>
    localStagesKernel(
      spec,
      padded,
      kLo,
      kHi,
      order,
      target,
      `${label} (bitonic local ${kLo}–${kHi})`,
    );
  // Stages up to BLOCK run entirely in workgroup memory; later stages run their passes with
  // j ≥ BLOCK over global memory and finish (j < BLOCK) in workgroup memory.
  if (padded >= 2) kernels.push(local(2, Math.min(padded, BLOCK)));
  for (let k = 2 * BLOCK; k <= padded; k *= 2) {
    for (let j = k / 2; j >= BLOCK; j /= 2) kernels.push(pass(k, j));
    kernels.push(local(k, k));
  }
  return { keys, vals, padded, kernels };
}

/**
 * Stages kLo…kHi (powers of two) of the network over blocks of BLOCK consecutive elements held in
 * workgroup memory, each pass followed by a barrier; within stage k only distances j < BLOCK
 * (all of them when k ≤ BLOCK). A block is whole lines (padded < BLOCK) or part of one, and pairs
 * never leave their line, so a partly filled last block only skips pairs past the end.
 */
function localStagesKernel(
  spec: SortSpec,
  padded: number,
  kLo: number,
  kHi: number,
  order: string,
  target: KernelTarget,
  label: string,
): FusedKernel {
  const total = spec.lines * padded;
  const grid = foldGrid(Math.ceil(total / BLOCK), target.maxComputeWorkgroupsPerDimension);
  const block = new ParamBlock()
    .set('total', total)
    .set('grid_x', grid[0])
    .set('len', spec.len)
    .set('padded', padded)
    .set('k_lo', kLo)
    .set('k_hi', kHi);
  const wgsl = `// bitonic argsort stages in workgroup memory, ${spec.values.dtype} ${spec.descending ? 'descending' : 'ascending'}
@group(0) @binding(0) var<storage, read_write> keys: array<u32>;
@group(0) @binding(1) var<storage, read_write> vals: array<u32>;
${block.declare(2)}var<workgroup> block_keys: array<u32, ${BLOCK}>;
var<workgroup> block_vals: array<u32, ${BLOCK}>;

${order}

@compute @workgroup_size(${PROGRAM_LANES})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let base = (wid.y * params.grid_x + wid.x) * ${BLOCK}u;
  for (var h = 0u; h < 2u; h++) {
    let e = li + h * ${PROGRAM_LANES}u;
    if (base + e < params.total) {
      block_keys[e] = keys[base + e];
      block_vals[e] = vals[base + e];
    }
  }
  workgroupBarrier();
  for (var k = params.k_lo; k <= params.k_hi; k *= 2u) {
    let dir_bit = select(k, 0u, k >= params.padded);
    for (var j = min(k / 2u, ${BLOCK / 2}u); j >= 1u; j /= 2u) {
      let a = 2u * li - (li & (j - 1u));
      let b = a + j;
      let ka = block_keys[a];
      let kb = block_keys[b];
      let va = block_vals[a];
      let vb = block_vals[b];
      let up = ((base + a) & dir_bit) == 0u;
      if (base + a < params.total &&
          precedes(select(ka, kb, up), select(va, vb, up), select(kb, ka, up), select(vb, va, up))) {
        block_keys[a] = kb;
        block_keys[b] = ka;
        block_vals[a] = vb;
        block_vals[b] = va;
      }
      workgroupBarrier();
    }
  }
  for (var h = 0u; h < 2u; h++) {
    let e = li + h * ${PROGRAM_LANES}u;
    if (base + e < params.total) {
      keys[base + e] = block_keys[e];
      vals[base + e] = block_vals[e];
    }
  }
}
`;
  return {
    kernel: {
      key: `sort-local/${fnv1a(wgsl)}/${wgsl.length}`,
      label,
      wgsl,
      bindings: [
        { name: 'keys', kind: 'storage-read-write' },
        { name: 'vals', kind: 'storage-read-write' },
        { name: 'params', kind: 'uniform' },
      ],
      workgroups: grid,
      params: block.data(),
    },
    loads: [],
  };
}

/** Copies the first `take` sorted indices of every line into `out` (laid out like the input). */
function gatherSorted(
  spec: SortSpec,
  padded: number,
  take: number,
  target: KernelTarget,
  label: string,
): FusedKernel {
  return programKernel({
    label: `${label} (sorted indices)`,
    kind: 'sort-out',
    comment: 'argsort: the first indices of each sorted line into the output',
    bindings: [outBinding('i32'), scratchBinding('keys')],
    loads: [],
    count: spec.lines * take,
    params: [
      ['take', take],
      ['inner', spec.inner],
      ['padded', padded],
    ],
    body: `  let line = i / params.take;
  let e = i % params.take;
  out[(line / params.inner * params.take + e) * params.inner + line % params.inner] = i32(keys[line * params.padded + e]);`,
    target,
  });
}

/** argsort (any axis, stable) and top_k (last axis, largest first, ties by index). */
export function sortProgram(
  graph: Graph,
  id: NodeId,
  target: KernelTarget,
  label: string,
): OpProgram {
  const node = graph.nodes[id];
  if (node.op !== 'routine') throw new Error(`sortProgram on ${node.op}`);
  const routine = node.routine;
  if (routine.kind === 'nms') throw new Error(`sortProgram on nms`);
  const x = graph.nodes[node.inputs[0]];
  const axis = routine.kind === 'argsort' ? routine.axis : x.shape.length - 1;
  const len = x.shape[axis];
  const inner = sizeOf(x.shape.slice(axis + 1));
  const spec: SortSpec = {
    values: { node: x.id, name: 'x', dtype: x.dtype },
    lines: len === 0 ? 0 : sizeOf(x.shape) / len,
    len,
    inner,
    descending: routine.kind === 'top_k' || routine.descending,
  };
  const sorted = sortKernels(spec, target, label);
  const take = routine.kind === 'top_k' ? routine.k : len;
  return {
    scratch: [sorted.keys, sorted.vals],
    kernels: [...sorted.kernels, gatherSorted(spec, sorted.padded, take, target, label)],
  };
}
