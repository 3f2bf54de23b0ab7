// Golden WGSL snapshots of representative kernels (test/fixtures/wgsl/*.wgsl), compared byte for
// byte: a change in code generation shows up as a reviewed diff of these files. Regenerate with
// `ALIGNC_UPDATE_GOLDENS=1 npx vitest run test/wgsl/golden.test.ts` after checking the change.
// Also: a broken kernel fails with an error naming it, and over-limit requests are typed errors.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planFusion } from '../../compiler/fuse/plan.js';
import { GraphBuilder } from '../../compiler/ir/index.js';
import { biasActivation, IDENTITY_EPILOGUE } from '../../compiler/wgsl/epilogue.js';
import { KernelLimitError } from '../../compiler/wgsl/errors.js';
import { elementwiseKernel, reduceKernel } from '../../compiler/wgsl/fused-kernels.js';
import { gemmKernel, type GemmSpec } from '../../compiler/wgsl/gemm.js';
import { LAVAPIPE_TARGET, type Kernel } from '../../compiler/wgsl/kernel.js';
import { packKernel } from '../../compiler/wgsl/pack.js';
import { planTextureLayout } from '../../compiler/wgsl/texture-layout.js';
import {
  acquireGpu,
  KernelCompileError,
  releaseGpu,
  type GpuContext,
} from '../../runtime/gpu/index.js';
import { dispatchKernel } from '../../runtime/webgpu/dispatch.js';

const FIXTURES = new URL('../fixtures/wgsl/', import.meta.url);
const T = LAVAPIPE_TARGET;

function gemmSpec(overrides: Partial<GemmSpec>): GemmSpec {
  const layout = planTextureLayout('golden', 1, 64, 16, T.maxTextureDimension2D);
  return {
    label: 'golden gemm',
    batch: 1,
    M: 64,
    N: 64,
    k4: 16,
    a: { kind: 'matrix', batchDiv: 1, batchMod: 1 },
    aLayout: layout,
    bLayout: layout,
    bBatchDiv: 1,
    bBatchMod: 1,
    out: { offset: 0, batch: 4096, rowDiv: 64, rowOuter: 0, rowInner: 64, col: 1 },
    accumulate: false,
    epilogue: IDENTITY_EPILOGUE,
    tile: { rows: 16, vec4Cols: 2, lanes: 8, subgroup: 8 },
    ...overrides,
  };
}

function goldenKernels(): Record<string, Kernel> {
  const b = new GraphBuilder();
  const x = b.input('x', [6, 10]);
  const bias = b.input('bias', [1, 10]);
  const y = b.unary(
    'tanh',
    b.binary('add', b.binary('mul', x, b.fill(2, [6, 10])), b.broadcast(bias, [6, 10])),
  );
  const s = b.reduce('sum', b.unary('exp', b.permute(y, [1, 0])), [1]);
  const g = b.build([y, s]);
  const plan = planFusion(g);
  const group = (id: number) => plan.groups.find((k) => k.node === id)!;
  return {
    'gemm-matrix-subgroup': gemmKernel(gemmSpec({}), T),
    'gemm-matrix-no-subgroup': gemmKernel(
      gemmSpec({ tile: { rows: 4, vec4Cols: 1, lanes: 64, subgroup: 0 }, accumulate: true }),
      T,
    ),
    'gemm-matrix-shared-memory': gemmKernel(
      gemmSpec({ tile: { rows: 4, vec4Cols: 1, lanes: 256, subgroup: 0, shared: true } }),
      T,
    ),
    'gemm-conv-bias-relu': gemmKernel(
      gemmSpec({
        a: {
          kind: 'conv',
          outHeight: 8,
          outWidth: 8,
          groups: 1,
          kernelHeight: 3,
          kernelWidth: 3,
          strideH: 1,
          strideW: 1,
          dilationH: 1,
          dilationW: 1,
          channelTexels: 4,
        },
        epilogue: biasActivation('bn', 'relu'),
      }),
      T,
    ),
    'pack-matrix': packKernel(
      {
        label: 'golden pack',
        source: {
          kind: 'matrix',
          offset: 0,
          batchInner: 1,
          strideBatchOuter: 0,
          strideBatchInner: 0,
          strideRow: 1,
          strideCol: 7,
        },
        layout: planTextureLayout('golden', 2, 7, 3, T.maxTextureDimension2D),
        cols: 10,
        validRows: 7,
      },
      T,
    ),
    'fused-elementwise': elementwiseKernel(g, group(y), plan.materialized, T, 'golden elementwise')
      .kernel,
    'fused-reduction': reduceKernel(g, group(s), plan.materialized, T, 'golden reduction').kernel,
  };
}

describe('golden WGSL', () => {
  const update = process.env.ALIGNC_UPDATE_GOLDENS === '1';
  for (const [name, kernel] of Object.entries(goldenKernels())) {
    it(`${name}.wgsl is unchanged`, () => {
      const file = new URL(`${name}.wgsl`, FIXTURES);
      if (update || !existsSync(file)) writeFileSync(file, kernel.wgsl);
      expect(kernel.wgsl).toBe(readFileSync(file, 'utf8'));
    });
  }

  it('equal structure gives equal keys; different structure different keys', () => {
    const a = gemmKernel(gemmSpec({ M: 64 }), T);
    const b = gemmKernel(gemmSpec({ M: 100, N: 33 }), T);
    const c = gemmKernel(gemmSpec({ accumulate: true }), T);
    expect(a.key).toBe(b.key);
    expect(a.wgsl).toBe(b.wgsl);
    expect(a.params).not.toEqual(b.params);
    expect(c.key).not.toBe(a.key);
  });

  it('an operand too large for a texture is a KernelLimitError naming the kernel', () => {
    expect(() => planTextureLayout('big matmul', 1, 20000, 4, 8192)).toThrow(KernelLimitError);
    expect(() => planTextureLayout('big matmul', 1, 20000, 4, 8192)).toThrow(/big matmul/);
  });
});

describe('broken kernels', () => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await acquireGpu();
  });
  afterAll(async () => {
    if (ctx) await releaseGpu(ctx);
  });

  it('a WGSL error names the kernel and the line', async () => {
    const broken: Kernel = {
      key: 'test/broken',
      label: 'deliberately broken kernel',
      wgsl: '@compute @workgroup_size(1)\nfn main() {\n  let x: f32 = undefined_thing;\n}\n',
      bindings: [],
      workgroups: [1, 1, 1],
      params: undefined,
    };
    const failure = dispatchKernel(ctx, broken, {});
    await expect(failure).rejects.toThrow(KernelCompileError);
    await expect(dispatchKernel(ctx, { ...broken, key: 'test/broken2' }, {})).rejects.toThrow(
      /deliberately broken kernel[\s\S]*undefined_thing/,
    );
  });
});
