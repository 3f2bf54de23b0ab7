// Golden WGSL snapshots of the op-program kernels (compiler/wgsl/roi-align.ts, sort.ts, nms.ts,
// random-bits.ts), byte for byte in test/fixtures/wgsl/op-*.wgsl: a change in their code
// generation shows up as a reviewed diff. Regenerate with
// `ALIGNC_UPDATE_GOLDENS=1 npx vitest run test/wgsl/op-program-golden.test.ts` after checking it.
// Also: the parameterised kernels (bitonic passes, concat copies) share one pipeline key across
// shapes, and an nms too large for workgroup memory is a KernelLimitError naming the kernel.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/index.js';
import { concatProgram } from '../../compiler/wgsl/concat.js';
import { KernelLimitError } from '../../compiler/wgsl/errors.js';
import { LAVAPIPE_TARGET, type Kernel } from '../../compiler/wgsl/kernel.js';
import { nmsProgram } from '../../compiler/wgsl/nms.js';
import { randomBitsProgram } from '../../compiler/wgsl/random-bits.js';
import { roiAlignGradProgram, roiAlignProgram } from '../../compiler/wgsl/roi-align.js';
import { sortProgram } from '../../compiler/wgsl/sort.js';

const FIXTURES = new URL('../fixtures/wgsl/', import.meta.url);
const T = LAVAPIPE_TARGET;

function goldenKernels(): Record<string, Kernel> {
  const b = new GraphBuilder();
  const feat = b.input('feat', [2, 3, 11, 13]);
  const rois = b.input('rois', [5, 5]);
  const params = { outputSize: [7, 7] as [number, number], spatialScale: 0.25, samplingRatio: 0 };
  const roi = b.add({ op: 'roi_align', inputs: [feat, rois], ...params, aligned: true });
  const grad = b.add({
    op: 'roi_align_grad',
    inputs: [rois, b.input('dy', [5, 3, 7, 7])],
    shape: [2, 3, 11, 13],
    dtype: 'f32',
    ...params,
    samplingRatio: 2,
    aligned: false,
  });
  const sort = b.add({
    op: 'routine',
    routine: { kind: 'argsort', axis: 1, descending: true },
    inputs: [b.input('x', [4, 9, 3])],
  });
  const longSort = b.add({
    op: 'routine',
    routine: { kind: 'top_k', k: 10 },
    inputs: [b.input('long', [2, 300])],
  });
  const nms = b.add({
    op: 'routine',
    routine: { kind: 'nms', iouThreshold: 0.5, maxOutput: 10 },
    inputs: [b.input('boxes', [40, 4]), b.input('scores', [40])],
  });
  const bits = b.add({
    op: 'random_bits',
    inputs: [b.input('key', [2], 'u32')],
    shape: [3, 5],
    dtype: 'u32',
  });
  const g = b.build([roi, grad, sort, longSort, nms, bits]);
  const sorted = sortProgram(g, sort, T, 'golden argsort').kernels;
  const long = sortProgram(g, longSort, T, 'golden top_k').kernels;
  const nmsKernels = nmsProgram(g, nms, T, 'golden nms').kernels;
  return {
    'op-roi-align': roiAlignProgram(g, roi, T, 'golden roi_align').kernels[0].kernel,
    'op-roi-align-grad': roiAlignGradProgram(g, grad, T, 'golden roi_align_grad').kernels[1].kernel,
    'op-sort-init': sorted[0].kernel,
    'op-sort-local': sorted[1].kernel,
    'op-sort-pass': long[2].kernel,
    'op-sort-out': sorted[sorted.length - 1].kernel,
    'op-nms-mask': nmsKernels[nmsKernels.length - 2].kernel,
    'op-nms-sweep': nmsKernels[nmsKernels.length - 1].kernel,
    'op-random-bits': randomBitsProgram(g, bits, T, 'golden random_bits').kernels[0].kernel,
  };
}

describe('golden WGSL of the op programs', () => {
  const update = process.env.ALIGNC_UPDATE_GOLDENS === '1';
  for (const [name, kernel] of Object.entries(goldenKernels())) {
    it(`${name}.wgsl is unchanged`, () => {
      const file = new URL(`${name}.wgsl`, FIXTURES);
      if (update || !existsSync(file)) writeFileSync(file, kernel.wgsl);
      expect(kernel.wgsl).toBe(readFileSync(file, 'utf8'));
    });
  }

  it('bitonic passes and concat copies share one pipeline per structure, across shapes', () => {
    const b = new GraphBuilder();
    const sorts = [
      [5, 7],
      [1000, 2],
    ].map(([n, m]) =>
      b.add({
        op: 'routine',
        routine: { kind: 'argsort', axis: 0, descending: false },
        inputs: [b.input(`x${n}`, [n, m])],
      }),
    );
    const parts = [1, 2, 3, 4, 5, 6, 7].map((k) => b.input(`c${k}`, [2, k], 'i32'));
    const cat = b.add({ op: 'concat', inputs: parts, axis: 1 });
    const g = b.build([...sorts, cat]);
    const keys = (ks: readonly { kernel: Kernel }[]) => new Set(ks.map((k) => k.kernel.key));
    const small = sortProgram(g, sorts[0], T, 's').kernels;
    const large = sortProgram(g, sorts[1], T, 'l').kernels;
    // Padded 8: init, one workgroup-memory kernel for all stages, output. Padded 1024: stages up
    // to 128 in one kernel, then stages 256, 512, 1024 with 1, 2, 3 global passes (j ≥ 128) and a
    // workgroup-memory kernel each — 12 dispatches instead of 1 + 55 + 1.
    expect([small.length, large.length]).toEqual([3, 12]);
    expect(keys(large)).toEqual(new Set([...keys(small), large[2].kernel.key]));
    expect(keys(large).size).toBe(4);
    const copies = concatProgram(g, cat, T, 'c').kernels;
    expect(copies.length).toBe(7);
    expect(keys(copies).size).toBe(1);
    expect(new Set(copies.map((k) => k.loads[0].node))).toEqual(new Set(parts));
  });

  it('an nms whose bitset does not fit workgroup memory is a KernelLimitError naming it', () => {
    const b = new GraphBuilder();
    const n = 300_000;
    const nms = b.add({
      op: 'routine',
      routine: { kind: 'nms', iouThreshold: 0.5, maxOutput: 100 },
      inputs: [b.input('boxes', [n, 4]), b.input('scores', [n])],
    });
    const g = b.build([nms]);
    expect(() => nmsProgram(g, nms, T, 'big nms')).toThrow(KernelLimitError);
    expect(() => nmsProgram(g, nms, T, 'big nms')).toThrow(/big nms/);
  });
});
