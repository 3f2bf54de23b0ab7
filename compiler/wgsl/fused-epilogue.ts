// The GEMM epilogue made from a fused elementwise group (compiler/fuse/epilogue-fusion.ts): maps the
// GEMM's (batch, row, column) back to the output tensor's multi-index — [..batch, m, n] for a
// matmul, [n, channel, y, x] for an implicit-GEMM conv2d — and evaluates the group there with the
// accumulator standing in for the contraction's value. Flow: compiler/fuse → **fused-epilogue** →
// compiler/wgsl/gemm.ts (its `epilogue(v, b, m, n)` hook).

import type { Graph, NodeId } from '../ir/index.js';
import type { KernelGroup } from '../fuse/plan.js';
import type { Epilogue } from './epilogue.js';
import {
  ExpressionBuilder,
  SPECIAL_FLOATS,
  storageType,
  unflatten,
  type LoadBinding,
} from './expression.js';
import { fnv1a } from './fused-kernels.js';

export interface FusedEpilogue {
  readonly epilogue: Epilogue;
  /** Epilogue binding `loads[k].name` reads materialised node `loads[k].node`. */
  readonly loads: readonly LoadBinding[];
}

export function fusedEpilogue(
  graph: Graph,
  contraction: NodeId,
  group: KernelGroup,
  materialized: ReadonlySet<NodeId>,
): FusedEpilogue {
  const node = graph.nodes[contraction];
  const shape = node.shape;
  const index: string[] = [];
  const prologue: string[] = [];
  if (node.op === 'matmul') {
    const r = shape.length;
    unflatten('b', shape.slice(0, r - 2)).forEach((e, k) => {
      prologue.push(`  let o${k} = ${e};`);
      index.push(`o${k}`);
    });
    index.push('m', 'n');
  } else if (node.op === 'conv2d') {
    const [, channels, oh, ow] = shape;
    const perGroup = channels / node.groups;
    prologue.push(
      `  let o0 = m / ${oh * ow}u;`,
      `  let o1 = b * ${perGroup}u + n;`,
      `  let o2 = (m % ${oh * ow}u) / ${ow}u;`,
      `  let o3 = m % ${ow}u;`,
    );
    index.push('o0', 'o1', 'o2', 'o3');
  } else {
    throw new Error(`fusedEpilogue: ${node.op} has no epilogue`);
  }
  const builder = new ExpressionBuilder(graph, materialized, {
    substitute: new Map([[contraction, 'v']]),
    bufferPrefix: 'epi',
  });
  const value = builder.value(group.node, index);
  const loads = builder.loads;
  const body = builder.lines.join('\n');
  const fn = `fn epilogue(v: f32, b: u32, m: u32, n: u32) -> f32 {\n${prologue.join('\n')}\n${body}\n  return ${value};\n}\n`;
  const key = `fx-${fnv1a(fn)}`;
  return {
    loads,
    epilogue: {
      key,
      bindings: loads.map((l) => ({ name: l.name, kind: 'storage-read' as const })),
      wgsl: (first) =>
        loads
          .map(
            (l, k) =>
              `@group(0) @binding(${first + k}) var<storage, read> ${l.name}: array<${storageType(l.dtype, false)}>;\n`,
          )
          .join('') +
        SPECIAL_FLOATS +
        '\n' +
        fn,
    },
  };
}
