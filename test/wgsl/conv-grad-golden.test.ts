// Golden WGSL snapshots of the direct convolution-gradient kernels (compiler/wgsl/conv-input-grad.ts,
// conv-filter-grad.ts), the pack source they add and the GEMM's vec4 row stores of a convolution
// output, compared byte for byte with test/fixtures/wgsl/. Regenerate with
// `ALIGNC_UPDATE_GOLDENS=1 npx vitest run test/wgsl/conv-grad-golden.test.ts` after checking the change.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  chooseFilterGradTile,
  convFilterGradKernel,
  convFilterGradSumKernel,
} from '../../compiler/wgsl/conv-filter-grad.js';
import { convInputGradKernel, phaseGrid } from '../../compiler/wgsl/conv-input-grad.js';
import { biasActivation } from '../../compiler/wgsl/epilogue.js';
import { gemmKernel, rowVec4Stores, type GemmSpec } from '../../compiler/wgsl/gemm.js';
import { LAVAPIPE_TARGET, type Kernel } from '../../compiler/wgsl/kernel.js';
import { packKernel } from '../../compiler/wgsl/pack.js';
import { planTextureLayout } from '../../compiler/wgsl/texture-layout.js';
import { contiguous4, convGeometry } from '../../runtime/webgpu/conv2d.js';

const FIXTURES = new URL('../fixtures/wgsl/', import.meta.url);
const T = LAVAPIPE_TARGET;
const D = T.maxTextureDimension2D;
// The second layer of the benchmark CNN: [8, 32, 64, 64] -> 64, 3x3, stride 2, padding 1.
const g = convGeometry([8, 32, 64, 64], [64, 32, 3, 3], { stride: [2, 2], padding: [1, 1] });

function goldenKernels(): Record<string, Kernel> {
  const grid = phaseGrid(g);
  const inputGrad = convInputGradKernel(
    {
      label: 'golden conv input grad',
      geometry: g,
      grid,
      channelTexels: 16,
      aLayout: planTextureLayout('golden', 8, grid.height, grid.width * 16, D),
      bLayout: planTextureLayout('golden', 1, 9 * 64, 8, D),
      out: contiguous4([8, 32, 64, 64]),
      accumulate: false,
      tile: { rows: 16, vec4Cols: 2, lanes: 8, subgroup: 8 },
    },
    T,
  );
  const filterGrad = convFilterGradKernel(
    {
      label: 'golden conv filter grad',
      geometry: g,
      rowsPerChunk: 64,
      chunks: 4,
      paddedOutWidth: 32,
      channelTexels: 8,
      aLayout: planTextureLayout('golden', 4, 64, 512, D),
      bLayout: planTextureLayout('golden', 8, 65, 65 * 8, D),
      tile: chooseFilterGradTile(T, 64, 9 * 32, 8192),
    },
    T,
  );
  const sum = convFilterGradSumKernel(
    {
      label: 'golden conv filter grad sum',
      geometry: g,
      chunks: 4,
      channelTexels: 8,
      accumulate: true,
    },
    T,
  );
  const pack = packKernel(
    {
      label: 'golden pack',
      source: {
        kind: 'conv-grad-rows',
        tensor: contiguous4([8, 64, 32, 32]),
        groups: 1,
        outPerGroup: 64,
        outHeight: 32,
        outWidth: 32,
        paddedWidth: 32,
        rowsPerChunk: 64,
        totalRows: 256,
      },
      layout: planTextureLayout('golden', 4, 64, 512, D),
      cols: 2048,
      validRows: 64,
    },
    T,
  );
  // The forward of the same layer: NCHW output, 1024 pixels per image → vec4 row stores.
  const forwardSpec: GemmSpec = {
    label: 'golden conv forward',
    batch: 1,
    M: 8 * 32 * 32,
    N: 64,
    k4: 9 * 8,
    a: {
      kind: 'conv',
      outHeight: 32,
      outWidth: 32,
      groups: 1,
      kernelHeight: 3,
      kernelWidth: 3,
      strideH: 2,
      strideW: 2,
      dilationH: 1,
      dilationW: 1,
      channelTexels: 8,
    },
    aLayout: planTextureLayout('golden', 8, 65, 65 * 8, D),
    bLayout: planTextureLayout('golden', 1, 9 * 32, 16, D),
    bBatchDiv: 1,
    bBatchMod: 1,
    out: { offset: 0, batch: 64 * 1024, rowDiv: 1024, rowOuter: 64 * 1024, rowInner: 1, col: 1024 },
    accumulate: true,
    epilogue: biasActivation('bn', 'relu'),
    tile: { rows: 16, vec4Cols: 2, lanes: 8, subgroup: 8 },
  };
  expect(rowVec4Stores(forwardSpec, 16)).toBe(true);
  return {
    'gemm-conv-vec4-rows': gemmKernel(forwardSpec, T),
    'conv-input-grad-phased': inputGrad,
    'conv-filter-grad-implicit': filterGrad,
    'conv-filter-grad-sum': sum,
    'pack-conv-grad-rows': pack,
  };
}

describe('golden WGSL of the convolution-gradient kernels', () => {
  const update = process.env.ALIGNC_UPDATE_GOLDENS === '1';
  for (const [name, kernel] of Object.entries(goldenKernels())) {
    it(`${name}.wgsl is unchanged`, () => {
      const file = new URL(`${name}.wgsl`, FIXTURES);
      if (update || !existsSync(file)) writeFileSync(file, kernel.wgsl);
      expect(kernel.wgsl).toBe(readFileSync(file, 'utf8'));
    });
  }

  it('the phase grid of a 3x3 stride-2 padding-1 convolution', () => {
    // 64 input rows = 2 phases of 32 rows. Phase 0 reads dY row ry (ky = 1); phase 1 rows ry + 1
    // (ky = 0) and ry (ky = 2): no zero rows above, one below (dY has 32 rows).
    expect(phaseGrid(g)).toEqual({
      rows: 32,
      cols: 32,
      padTop: 0,
      padLeft: 0,
      height: 33,
      width: 33,
    });
  });

  it('vec4 row stores only where rows are contiguous and 16-byte aligned', () => {
    const out = { offset: 0, batch: 64, rowDiv: 16, rowOuter: 256, rowInner: 1, col: 16 };
    const spec = { M: 32, out } as GemmSpec;
    expect(rowVec4Stores(spec, 8)).toBe(true);
    expect(rowVec4Stores({ ...spec, out: { ...out, rowDiv: 30 } }, 8)).toBe(false);
    expect(rowVec4Stores({ ...spec, out: { ...out, offset: 2 } }, 8)).toBe(false);
    expect(rowVec4Stores({ ...spec, out: { ...out, rowInner: 64, col: 1 } }, 8)).toBe(false);
    expect(rowVec4Stores(spec, 2)).toBe(false);
  });

  it('the filter-gradient tile covers 72 column texels with little padding', () => {
    const tile = chooseFilterGradTile(T, 64, 9 * 32, 8192);
    const perTile = tile.lanes * tile.vec4Cols;
    expect(Math.ceil(72 / perTile) * perTile).toBeLessThanOrEqual(80);
    expect(tile.rows % 8).toBe(0);
  });
});
