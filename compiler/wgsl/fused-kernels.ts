// Kernels for the fused groups of compiler/fuse: an elementwise group (one output element — or a
// vec4 of 4 when every load is contiguous and aligned — per invocation, movement ops as index
// arithmetic) and a reduction group (its operand expression inlined; one invocation per output for
// short reductions, one 64-lane workgroup with a tree in workgroup memory for long ones). Shapes are
// baked in as constants here; the key is the WGSL text itself, so equal structure+shape share one
// pipeline. Flow: compiler/fuse plan → **fused-kernels** → runtime/webgpu executor.

import type { Graph, NodeId, ReduceFn } from '../ir/index.js';
import { ELEMENTWISE_OPS, sizeOf } from '../ir/index.js';
import type { KernelGroup } from '../fuse/plan.js';
import {
  ExpressionBuilder,
  scalarLiteral,
  SPECIAL_FLOATS,
  storageType,
  unflatten,
  type LoadBinding,
} from './expression.js';
import { ceilDiv, foldGrid, type Kernel, type KernelTarget } from './kernel.js';

export interface FusedKernel {
  readonly kernel: Kernel;
  /** Binding `out` is the group's node; `loads[k]` are the materialised nodes it reads. */
  readonly loads: readonly LoadBinding[];
}

const ELEMENTWISE_LANES = 256;
const REDUCE_LANES = 64;
/** Reductions at least this long get a workgroup per output. */
const WIDE_REDUCTION = 512;

/** 32-bit FNV-1a of a string, hex; kernel keys for generated-per-shape WGSL. */
export function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

function declarations(
  graph: Graph,
  outNode: NodeId,
  loads: readonly LoadBinding[],
  vec4: boolean,
): string {
  const out = `@group(0) @binding(0) var<storage, read_write> out: array<${storageType(graph.nodes[outNode].dtype, vec4)}>;`;
  const ins = loads.map(
    (l, k) =>
      `@group(0) @binding(${k + 1}) var<storage, read> ${l.name}: array<${storageType(l.dtype, vec4)}>;`,
  );
  return [out, ...ins, SPECIAL_FLOATS].join('\n');
}

function storeValue(dtype: string, value: string, vec4: boolean): string {
  return dtype === 'bool' ? `select(${vec4 ? 'vec4u(0u), vec4u(1u)' : '0u, 1u'}, ${value})` : value;
}

function finish(
  label: string,
  kind: string,
  wgsl: string,
  loads: readonly LoadBinding[],
  workgroups: Kernel['workgroups'],
): FusedKernel {
  return {
    kernel: {
      key: `${kind}/${fnv1a(wgsl)}/${wgsl.length}`,
      label,
      wgsl,
      bindings: [
        { name: 'out', kind: 'storage-read-write' },
        ...loads.map((l) => ({ name: l.name, kind: 'storage-read' as const })),
      ],
      workgroups,
      params: undefined,
    },
    loads,
  };
}

/** Can the group run on vec4s: plain elementwise ops over same-shape, contiguous operands? */
function vectorizable(
  graph: Graph,
  group: KernelGroup,
  materialized: ReadonlySet<NodeId>,
): boolean {
  const root = graph.nodes[group.node];
  if (sizeOf(root.shape) % 4 !== 0 || !ELEMENTWISE_OPS.has(root.op)) return false;
  for (const id of group.inlined) {
    const node = graph.nodes[id];
    if (node.op === 'fill') continue;
    if (!ELEMENTWISE_OPS.has(node.op)) return false;
  }
  for (const id of [group.node, ...group.inlined]) {
    for (const input of graph.nodes[id].inputs) {
      const node = graph.nodes[input];
      if (node.op === 'iota') return false;
      if (materialized.has(input) && node.op !== 'fill') {
        if (
          node.shape.length !== root.shape.length ||
          node.shape.some((d, i) => d !== root.shape[i])
        )
          return false;
      }
    }
  }
  return true;
}

export function elementwiseKernel(
  graph: Graph,
  group: KernelGroup,
  materialized: ReadonlySet<NodeId>,
  target: KernelTarget,
  label: string,
): FusedKernel {
  const root = graph.nodes[group.node];
  const vec4 = vectorizable(graph, group, materialized);
  const count = vec4 ? sizeOf(root.shape) / 4 : sizeOf(root.shape);
  const grid = foldGrid(ceilDiv(count, ELEMENTWISE_LANES), target.maxComputeWorkgroupsPerDimension);
  const b = new ExpressionBuilder(graph, materialized, { vec4 });
  const index = vec4
    ? root.shape.map(() => 'i')
    : unflatten('i', root.shape).map((e, k) => {
        b.lines.push(`  let o${k} = ${e};`);
        return `o${k}`;
      });
  const value = b.value(group.node, index);
  const wgsl = `// fused elementwise: %${group.node} = ${root.op}${vec4 ? ' (vec4)' : ''}, ${group.inlined.length} inlined nodes
${declarations(graph, group.node, b.loads, vec4)}

@compute @workgroup_size(${ELEMENTWISE_LANES})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wid.y * ${grid[0]}u + wid.x) * ${ELEMENTWISE_LANES}u + li;
  if (i >= ${count}u) { return; }
${b.lines.join('\n')}
  out[i] = ${storeValue(root.dtype, value, vec4)};
}
`;
  return finish(label, 'ew', wgsl, b.loads, grid);
}

function reduceIdentity(fn: ReduceFn, dtype: string): string {
  const big =
    dtype === 'f32'
      ? scalarLiteral('f32', Infinity)
      : dtype === 'i32'
        ? 'i32(2147483647)'
        : '4294967295u';
  const small =
    dtype === 'f32'
      ? scalarLiteral('f32', -Infinity)
      : dtype === 'i32'
        ? 'i32(-2147483647 - 1)'
        : '0u';
  switch (fn) {
    case 'sum':
      return dtype === 'f32' ? '0.0' : dtype === 'i32' ? '0i' : '0u';
    case 'max':
      return small;
    case 'min':
      return big;
    default:
      return fn satisfies never;
  }
}

function combine(fn: ReduceFn, a: string, b: string): string {
  switch (fn) {
    case 'sum':
      return `${a} + ${b}`;
    case 'max':
      return `max(${a}, ${b})`;
    case 'min':
      return `min(${a}, ${b})`;
    default:
      return fn satisfies never;
  }
}

export function reduceKernel(
  graph: Graph,
  group: KernelGroup,
  materialized: ReadonlySet<NodeId>,
  target: KernelTarget,
  label: string,
): FusedKernel {
  const node = graph.nodes[group.node];
  if (node.op !== 'reduce') throw new Error(`reduceKernel on ${node.op}`);
  const input = graph.nodes[node.inputs[0]];
  if (input.dtype === 'bool') throw new Error(`${label}: reduce over bool`);
  const axes = new Set(node.axes);
  const reducedShape = input.shape.filter((_, i) => axes.has(i));
  const R = sizeOf(reducedShape);
  const outputs = sizeOf(node.shape);
  const wide = R >= WIDE_REDUCTION;
  const ty = storageType(node.dtype, false);
  const b = new ExpressionBuilder(graph, materialized);
  const outIndex = unflatten('o', node.shape);
  const redIndex = unflatten('r', reducedShape);
  const header = (indent: string) => {
    const lines: string[] = [];
    let red = 0;
    const index = input.shape.map((_, k) => {
      const e = axes.has(k) ? redIndex[red++] : outIndex[k];
      lines.push(`${indent}let x${k} = ${e};`);
      return `x${k}`;
    });
    return { lines, index };
  };
  const { lines: idxLines, index } = header('    ');
  const saved = b.lines.length;
  const value = b.value(node.inputs[0], index, false);
  const body = b.lines.splice(saved).map((l) => `  ${l}`);
  const acc = combine(node.fn, 'acc', value);
  let main: string;
  let grid: Kernel['workgroups'];
  if (!wide) {
    const lanes = 64;
    grid = foldGrid(ceilDiv(outputs, lanes), target.maxComputeWorkgroupsPerDimension);
    main = `@compute @workgroup_size(${lanes})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let o = (wid.y * ${grid[0]}u + wid.x) * ${lanes}u + li;
  if (o >= ${outputs}u) { return; }
  var acc: ${ty} = ${reduceIdentity(node.fn, node.dtype)};
  for (var r = 0u; r < ${R}u; r++) {
${idxLines.join('\n')}
${body.join('\n')}
    acc = ${acc};
  }
  out[o] = acc;
}`;
  } else {
    grid = foldGrid(outputs, target.maxComputeWorkgroupsPerDimension);
    main = `var<workgroup> partial: array<${ty}, ${REDUCE_LANES}>;

@compute @workgroup_size(${REDUCE_LANES})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let o = wid.y * ${grid[0]}u + wid.x;
  let live = o < ${outputs}u;
  var acc: ${ty} = ${reduceIdentity(node.fn, node.dtype)};
  if (live) {
    for (var r = li; r < ${R}u; r += ${REDUCE_LANES}u) {
${idxLines.map((l) => `  ${l}`).join('\n')}
${body.map((l) => `  ${l}`).join('\n')}
      acc = ${acc};
    }
  }
  partial[li] = acc;
  workgroupBarrier();
  for (var step = ${REDUCE_LANES / 2}u; step > 0u; step = step / 2u) {
    if (li < step) { partial[li] = ${combine(node.fn, 'partial[li]', 'partial[li + step]')}; }
    workgroupBarrier();
  }
  if (live && li == 0u) { out[o] = partial[0]; }
}`;
  }
  const wgsl = `// fused reduction: %${group.node} = ${node.fn} over axes [${node.axes.join(',')}] of ${R} elements, ${group.inlined.length} inlined nodes
${declarations(graph, group.node, b.loads, false)}

${main}
`;
  return finish(label, 'red', wgsl, b.loads, grid);
}
