// The input gradient of a 2-D convolution on the GPU by stride phase (PyTorch semantics): packs the
// output gradient as zero-padded NHWC4 texels (not zero-upsampled) and the weights as [tap, out
// channel] × in channel, then runs compiler/wgsl/conv-input-grad.ts, which visits only the taps
// that contribute to each stride phase. conv2d.ts routes strided convolutions here. Flow: executor /
// ops → conv2d → **conv2d input grad** → pack + conv-input-grad kernels → command batcher.

import { phaseGrid, convInputGradKernel } from '../../compiler/wgsl/conv-input-grad.js';
import { chooseGemmTile, type GemmTile } from '../../compiler/wgsl/gemm.js';
import type { ConvGeometry, Strides4 } from '../../compiler/wgsl/pack-sources.js';
import { planTextureLayout } from '../../compiler/wgsl/texture-layout.js';
import type { GpuContext } from '../gpu/index.js';
import { dispatchKernel } from './dispatch.js';
import { memoKernel } from './kernel-memo.js';
import { packOperand } from './matmul.js';
import { kernelTarget } from './target.js';
import { texturePool } from './texture-pool.js';

export interface PhasedInputGradCall {
  readonly label: string;
  readonly geometry: ConvGeometry;
  readonly gradOut: { readonly buffer: GPUBuffer; readonly strides: Strides4 };
  readonly weight: { readonly buffer: GPUBuffer; readonly strides: Strides4 };
  readonly out: { readonly buffer: GPUBuffer; readonly strides: Strides4 };
  readonly accumulate: boolean;
  readonly tile: GemmTile | undefined;
}

/** out (+)= d(loss)/d(input) of the convolution `geometry`, from its output gradient. */
export async function conv2dInputGradPhased(
  ctx: GpuContext,
  call: PhasedInputGradCall,
): Promise<void> {
  const g = call.geometry;
  const { label } = call;
  const target = kernelTarget(ctx);
  const maxDim = target.maxTextureDimension2D;
  const pool = texturePool(ctx.device);
  const outPerGroup = g.outChannels / g.groups;
  const inPerGroup = g.inChannels / g.groups;
  const cq = Math.ceil(outPerGroup / 4);
  const grid = phaseGrid(g);
  const aLayout = planTextureLayout(
    label,
    g.batch * g.groups,
    grid.height,
    grid.width * cq,
    maxDim,
  );
  const kRows = g.kernelHeight * g.kernelWidth * cq * 4;
  const bLayout = planTextureLayout(label, g.groups, kRows, Math.ceil(inPerGroup / 4), maxDim);
  const at = await packOperand(
    ctx,
    target,
    `${label}/pack grad`,
    {
      kind: 'conv-input',
      tensor: call.gradOut.strides,
      channelsPerGroup: outPerGroup,
      channels4: cq * 4,
      groups: g.groups,
      height: g.outHeight,
      width: g.outWidth,
      padTop: grid.padTop,
      padLeft: grid.padLeft,
    },
    call.gradOut.buffer,
    aLayout,
    grid.width * cq * 4,
    grid.height,
  );
  const bt = await packOperand(
    ctx,
    target,
    `${label}/pack weight`,
    {
      kind: 'conv-weight',
      weight: call.weight.strides,
      reduceAxis: 0,
      reduceChannels: outPerGroup,
      channels4: cq * 4,
      outPerGroup: inPerGroup,
      kernelHeight: g.kernelHeight,
      kernelWidth: g.kernelWidth,
      flip: false,
    },
    call.weight.buffer,
    bLayout,
    inPerGroup,
    kRows,
  );
  // Each phase does about 1/(sh·sw) of the taps: K as the tile chooser sees it.
  const M = g.batch * grid.rows * grid.cols;
  const kPerPhase = Math.ceil(kRows / (g.strideH * g.strideW));
  const kernel = memoKernel(
    'conv-input-grad',
    {
      label,
      geometry: g,
      grid,
      channelTexels: cq,
      aLayout,
      bLayout,
      out: call.out.strides,
      accumulate: call.accumulate,
      tile: call.tile ?? chooseGemmTile(target, M, inPerGroup, 'conv', kPerPhase),
    },
    target,
    convInputGradKernel,
  );
  await dispatchKernel(ctx, kernel, {
    At: pool.view(at),
    Bt: pool.view(bt),
    out: call.out.buffer,
  });
  pool.release(at);
  pool.release(bt);
}
