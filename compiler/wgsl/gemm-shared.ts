// The GPU-style GEMM variant for real GPUs (compiler/wgsl/gemm.ts picks it when the adapter is not
// software and A is a packed matrix): a 64x64 output tile per workgroup of 16x16 invocations, each
// owning 4x4 outputs; per step the workgroup stages 64 rows x 16 k of A and 16 k x 64 columns of B
// from the operand textures into workgroup memory (one texel per invocation each), then every
// invocation runs 16 k of FMAs from there. On lavapipe this shape is measured 1.6–2.6x slower than
// register blocking (lavapipe-performance.md), so it is only tested for correctness here.

import { emitStores, gemmBindings, gemmDeclarations, gemmParams, type GemmSpec } from './gemm.js';
import type { Kernel, KernelTarget } from './kernel.js';

const TILE = 64;

export function gemmSharedKernel(spec: GemmSpec, target: KernelTarget): Kernel {
  if (spec.a.kind !== 'matrix')
    throw new Error(`${spec.label}: the shared-memory GEMM takes matrix A only`);
  const { params, grid } = gemmParams(spec, TILE, TILE, target);
  const lines: string[] = [];
  const emit = (s: string) => lines.push(s);
  emit(
    '// gemm: matrix A, 64x64 workgroup tile through workgroup memory, 16x16 invocations of 4x4',
  );
  emit(gemmDeclarations(spec, params));
  emit('var<workgroup> As: array<vec4f, 256>; // [64 rows][4 texels of k]');
  emit('var<workgroup> Bs: array<vec4f, 256>; // [16 k][16 texels of columns]');
  emit('');
  emit('@compute @workgroup_size(16, 16)');
  emit(
    'fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {',
  );
  emit('  let t = wid.y * params.gridX + wid.x;');
  emit('  if (t >= params.tiles) { return; }');
  emit('  let tn = t % params.tilesN;');
  emit('  let tmb = t / params.tilesN;');
  emit('  let b = tmb / params.tilesM;');
  emit(`  let tileRow = (tmb % params.tilesM) * ${TILE}u;`);
  emit('  let tileCol4 = tn * 16u;');
  emit('  let k4 = params.k4;');
  emit('  let aBlk = (b / params.aDiv) % params.aMod;');
  emit('  let ax = (aBlk / params.aBpc) * params.aQ;');
  emit('  let ay = (aBlk % params.aBpc) * params.aRows;');
  emit('  let bB = (b / params.bDiv) % params.bMod;');
  emit('  let bx = (bB / params.bBpc) * params.bQ;');
  emit('  let by = (bB % params.bBpc) * params.bRows;');
  emit(
    '  // What this invocation stages: A row li / 4, texel li % 4; B k-row li / 16, texel li % 16.',
  );
  emit('  let aRow = min(tileRow + li / 4u, params.M - 1u);');
  emit('  let aTex = li % 4u;');
  emit('  let bK = li / 16u;');
  emit('  let bTex = tileCol4 + li % 16u;');
  for (let i = 0; i < 4; i++) emit(`  var c${i}_0 = vec4f(0.0);`);
  emit('  for (var k = 0u; k < k4; k += 4u) {');
  emit('    let aq = k + aTex;');
  emit('    As[li] = select(vec4f(0.0), textureLoad(At, vec2u(ax + aq, ay + aRow), 0), aq < k4);');
  emit('    let bk = k * 4u + bK;');
  emit(
    '    Bs[li] = select(vec4f(0.0), textureLoad(Bt, vec2u(bx + bTex, by + bk), 0), bk < k4 * 4u);',
  );
  emit('    workgroupBarrier();');
  emit('    for (var kk = 0u; kk < 16u; kk++) {');
  emit('      let bv = Bs[kk * 16u + lid.x];');
  for (let i = 0; i < 4; i++) {
    emit(`      let a${i} = As[(lid.y * 4u + ${i}u) * 4u + kk / 4u][kk % 4u];`);
    emit(`      c${i}_0 = fma(vec4f(a${i}), bv, c${i}_0);`);
  }
  emit('    }');
  emit('    workgroupBarrier();');
  emit('  }');
  emit('  let row0 = tileRow + lid.y * 4u;');
  emit('  let col4 = tileCol4 + lid.x;');
  emitStores(emit, spec, 4, 1);
  emit('}');
  return {
    key: ['gemm-shared', spec.accumulate ? 'acc' : 'set', spec.epilogue.key].join('/'),
    label: spec.label,
    wgsl: lines.join('\n') + '\n',
    bindings: gemmBindings(spec),
    workgroups: grid,
    params: params.data(),
  };
}
