// A multi-dispatch lowering of one IR node: the kernels (in order) and the scratch buffers that
// roi_align(_grad), random_bits, wide concats and the routines (argsort, top_k, nms) run as. Every
// kernel writes or reads the node's `out` buffer, binds operands by name (`FusedKernel.loads`) and
// scratch buffers by name; the scratch buffers live only while the program is encoded. Also the
// shared kernel frame: one invocation per item, 64 lanes, the item count and the folded grid width
// in a `Params` uniform block, so one pipeline serves every dispatch of a structure (the bitonic
// passes differ only in parameters). Flow: compiler/fuse (a program group) → **op programs** →
// runtime/webgpu/op-program.ts (encodes the kernels on the command batcher).

import type { DType } from '../ir/index.js';
import { storageType, type LoadBinding } from './expression.js';
import { fnv1a, type FusedKernel } from './fused-kernels.js';
import { ceilDiv, foldGrid, ParamBlock, type KernelTarget } from './kernel.js';

/** Invocations per workgroup of every program kernel. */
export const PROGRAM_LANES = 64;

/** A read-write storage buffer private to one program run, of `words` 32-bit words. */
export interface ScratchBuffer {
  readonly name: string;
  readonly words: number;
}

export interface OpProgram {
  readonly scratch: readonly ScratchBuffer[];
  /** In dispatch order; each binds `out`, its loads and any scratch buffer by name. */
  readonly kernels: readonly FusedKernel[];
}

/** A storage binding of a program kernel other than its loads. */
export interface ProgramBinding {
  readonly name: string;
  /** The WGSL element type, e.g. `f32`, `atomic<u32>`. */
  readonly type: string;
  readonly access: 'read' | 'read_write';
}

/** `out` declared with the element type of `dtype` (bool as u32), or `type` when given. */
export function outBinding(dtype: DType, type?: string): ProgramBinding {
  return { name: 'out', type: type ?? storageType(dtype, false), access: 'read_write' };
}

export function scratchBinding(name: string, type = 'u32'): ProgramBinding {
  return { name, type, access: 'read_write' };
}

/**
 * One kernel of a program: `body` handles item `i` (< `params.count`; the prelude returns for the
 * rest of the last workgroup). `params` may carry more u32 fields (declared in `Params` in the
 * order set); the frame adds `count` and `grid_x` first. Equal structure gives equal WGSL and key.
 */
export function programKernel(opts: {
  readonly label: string;
  readonly kind: string;
  readonly comment: string;
  /** Bindings before the loads (usually `out` and scratch buffers). */
  readonly bindings: readonly ProgramBinding[];
  readonly loads: readonly LoadBinding[];
  readonly count: number;
  readonly params?: readonly (readonly [string, number])[];
  /** Module-scope declarations (helper functions, private variables). */
  readonly helpers?: string;
  readonly body: string;
  readonly target: KernelTarget;
}): FusedKernel {
  const grid = foldGrid(
    ceilDiv(opts.count, PROGRAM_LANES),
    opts.target.maxComputeWorkgroupsPerDimension,
  );
  const block = new ParamBlock().set('count', opts.count).set('grid_x', grid[0]);
  for (const [name, value] of opts.params ?? []) block.set(name, value);
  const all: ProgramBinding[] = [
    ...opts.bindings,
    ...opts.loads.map((l) => ({
      name: l.name,
      type: storageType(l.dtype, false),
      access: 'read' as const,
    })),
  ];
  const decls = all.map(
    (b, k) => `@group(0) @binding(${k}) var<storage, ${b.access}> ${b.name}: array<${b.type}>;`,
  );
  const wgsl = `// ${opts.comment}
${decls.join('\n')}
${block.declare(all.length)}${opts.helpers ? `\n${opts.helpers}\n` : ''}
@compute @workgroup_size(${PROGRAM_LANES})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wid.y * params.grid_x + wid.x) * ${PROGRAM_LANES}u + li;
  if (i >= params.count) { return; }
${opts.body}
}
`;
  return {
    kernel: {
      key: `${opts.kind}/${fnv1a(wgsl)}/${wgsl.length}`,
      label: opts.label,
      wgsl,
      bindings: [
        ...all.map((b) => ({
          name: b.name,
          kind: b.access === 'read' ? ('storage-read' as const) : ('storage-read-write' as const),
        })),
        { name: 'params', kind: 'uniform' },
      ],
      workgroups: grid,
      params: block.data(),
    },
    loads: opts.loads,
  };
}
