// The runner's box-domain training step (runtime/train/box-domain-step.ts, the tiny detector of
// test/train) on the WebGPU backend against the CPU reference backend: two steps on different
// batches give the same losses and the same online, momentum and optimizer tensors — with the
// step's graphs compiled once, captured on their first run (`captureOnRun: 1`; the backend's default
// waits for a second run) and replayed after (runtime/webgpu/captured-graph.ts), so the second step
// checks the replay path. Slow for its size
// (~20–60 s here): lavapipe JIT-compiles each of the step's ~200 kernels on its first dispatch.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TensorData } from '../../runtime/cpu/tensor-data.js';
import { acquireGpu, releaseGpu, type GpuContext } from '../../runtime/gpu/index.js';
import { Rng } from '../../runtime/rng.js';
import { cpuReferenceBackend, type Backend } from '../../runtime/tensor/backend.js';
import {
  BoxDomainStep,
  LOSS_CONTRAST,
  LOSS_REGRESSION,
} from '../../runtime/train/box-domain-step.js';
import { LoweredLoss } from '../../runtime/train/lowered-loss.js';
import type { StepContext } from '../../runtime/train/stage-loop.js';
import { webgpuBackend } from '../../runtime/webgpu/backend.js';
import {
  initHead,
  initParams,
  syntheticBatch,
  tinyBackboneShapes,
  tinyDetector,
  TINY_MATCHING,
} from '../train/tiny-detector.js';

let gpu: GpuContext;
beforeAll(async () => {
  gpu = await acquireGpu();
});
afterAll(async () => {
  if (gpu) await releaseGpu(gpu);
}, 60_000);

function step(backend: Backend): BoxDomainStep {
  return new BoxDomainStep(
    {
      detector: tinyDetector,
      matching: TINY_MATCHING,
      optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 1e-4 },
      baseMomentum: 0.996,
      contrastive: LoweredLoss.fromStd('losses', 'box_infonce', new Map([['tau', 0.5]])),
      regression: LoweredLoss.fromStd('losses', 'l1'),
      backend,
    },
    initParams(tinyBackboneShapes(), 11, 0.3),
    initHead(12),
  );
}

function context(s: number): StepContext {
  return {
    stage: 'box_domain',
    step: s,
    totalSteps: 2,
    epoch: 0,
    lr: 0.02,
    rng: Rng.fromSeed(5).child('step', s),
  };
}

function expectSameTensors(
  gpuSide: ReadonlyMap<string, TensorData>,
  cpuSide: ReadonlyMap<string, TensorData>,
  what: string,
): void {
  expect([...gpuSide.keys()]).toEqual([...cpuSide.keys()]);
  for (const [name, want] of cpuSide) {
    const got = gpuSide.get(name)!;
    let worst = 0;
    for (let i = 0; i < want.data.length; i++)
      worst = Math.max(
        worst,
        Math.abs(got.data[i] - want.data[i]) / Math.max(1, Math.abs(want.data[i])),
      );
    expect(worst, `${what} ${name}`).toBeLessThan(1e-4);
  }
}

describe('box-domain step on WebGPU', () => {
  it('two steps match the CPU reference, the second replayed', { timeout: 180_000 }, async () => {
    const backend = webgpuBackend(gpu, { captureOnRun: 1 });
    const onGpu = step(backend);
    const onCpu = step(cpuReferenceBackend());
    for (let s = 1; s <= 2; s++) {
      const batch = syntheticBatch(30 + s, 0);
      const got = await onGpu.run(batch, context(s));
      const want = await onCpu.run(batch, context(s));
      expect(got.losses[LOSS_CONTRAST]).toBeCloseTo(want.losses[LOSS_CONTRAST], 4);
      expect(got.losses[LOSS_REGRESSION]).toBeCloseTo(want.losses[LOSS_REGRESSION], 4);
      expectSameTensors(onGpu.online, onCpu.online, `step ${s} online`);
      expectSameTensors(onGpu.momentum, onCpu.momentum, `step ${s} momentum`);
      expectSameTensors(onGpu.optimizerState, onCpu.optimizerState, `step ${s} optimizer`);
    }
    const stats = backend.stats();
    expect(stats.captured).toBeGreaterThan(0);
    expect(stats.replays).toBeGreaterThan(0);
  });
});
