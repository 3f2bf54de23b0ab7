// The random_bits kernel: element i of the node is word 0 of Threefry-2x32-20 under the key
// operand (u32[2]) with counter (i, 0) — the CPU reference's definition (runtime/cpu/random.ts)
// written with u32 add/xor/rotate only, so both backends draw bit-identical numbers.
// Flow: compiler/fuse (a `random_bits` group) → **random-bits** → op program → executor.

import type { Graph, NodeId } from '../ir/index.js';
import { sizeOf } from '../ir/index.js';
import type { KernelTarget } from './kernel.js';
import { outBinding, programKernel, type OpProgram } from './op-program.js';
import { operandLoads } from './op-kernel.js';

/** Threefry-2x32's rotation constants (Random123), by round modulo 8. */
const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24];
const PARITY = '0x1bd11bdau';

/** The 20 rounds fully unrolled, with the key injections after every fourth round. */
function threefryRounds(): string {
  const lines: string[] = [];
  for (let round = 0; round < 20; round++) {
    const r = ROTATIONS[round % 8];
    lines.push(`  x0 = x0 + x1; x1 = ((x1 << ${r}u) | (x1 >> ${32 - r}u)) ^ x0;`);
    if (round % 4 === 3) {
      const inject = (round + 1) / 4;
      lines.push(`  x0 = x0 + ks${inject % 3}; x1 = x1 + ks${(inject + 1) % 3} + ${inject}u;`);
    }
  }
  return lines.join('\n');
}

export function randomBitsProgram(
  graph: Graph,
  id: NodeId,
  target: KernelTarget,
  label: string,
): OpProgram {
  const node = graph.nodes[id];
  if (node.op !== 'random_bits') throw new Error(`randomBitsProgram on ${node.op}`);
  const kernel = programKernel({
    label,
    kind: 'random-bits',
    comment: `random_bits: Threefry-2x32-20 word 0 of counter (i, 0)`,
    bindings: [outBinding('u32')],
    loads: operandLoads(graph, node),
    count: sizeOf(node.shape),
    body: `  let ks0 = in0[0];
  let ks1 = in0[1];
  let ks2 = ${PARITY} ^ ks0 ^ ks1;
  var x0 = i + ks0;
  var x1 = ks1;
${threefryRounds()}
  out[i] = x0;`,
    target,
  });
  return { scratch: [], kernels: [kernel] };
}
