// Benchmark case `box-step`: the step time of the default pipeline's box-domain pre-training
// (pipelines/bccd-default.align, stage `pretrain`: RetinaNet with ResNet-18 at 1/8 width, FPN
// P3–P5 32 channels, projector head; batch 2 at its two views' canvas) on the runner's backend (the
// CPU reference), built and run exactly as `alignc run` does — runtime/run's stage runtime (data,
// cached selective-search proposals, BoxDomainStep) in runtime/train's stage loop — with the time
// shares of data, forward, backward and optimizer the loop logs for every step (its step records are
// the source of every number here). Beside the flow: plan → runtime/run → runtime/train → timing.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataWarnings } from '../runtime/data/warnings.js';
import type { StepRecord } from '../runtime/io/run-log.js';
import { canvasFor, openDeclaredDataset, viewPlanOf } from '../runtime/run/build-data.js';
import { stageSpecsOf } from '../runtime/run/executor.js';
import { stageRuntime } from '../runtime/run/stage-runtime.js';
import { iterationsOf, lrScheduleOf } from '../runtime/run/stage-spec.js';
import { cpuReferenceBackend } from '../runtime/tensor/backend.js';
import { runStage } from '../runtime/train/stage-loop.js';
import { result, type BenchCase } from './harness.js';
import { defaultPipelineStage } from './inference.js';

/** Steps run before the timed ones: the first traces the step, the second warms caches. */
const WARMUP_STEPS = 2;

function percent(x: number): string {
  return `${Math.round(x * 100)}%`;
}

export function boxStepCase(): BenchCase {
  return {
    name: 'box-step',
    group: 'runner',
    async run(_ctx, rounds) {
      const { plan, decls, stage } = defaultPipelineStage('box_domain');
      const runDir = mkdtempSync(join(tmpdir(), 'alignc-bench-box-step-'));
      const records: Omit<StepRecord, 'kind'>[] = [];
      let canvas: readonly number[] = [];
      try {
        const runtime = await stageRuntime(
          stage,
          decls,
          {
            runDir,
            seed: 0,
            backend: cpuReferenceBackend(),
            warnings: new DataWarnings(() => {}),
            say: () => {},
            quiet: true,
          },
          new Map(stageSpecsOf(plan).map((s) => [s.name, s])),
        );
        const images = await openDeclaredDataset(
          decls.get(stage.data.dataset, 'dataset', stage.at),
          new DataWarnings(() => {}),
        );
        canvas = canvasFor(
          images,
          stage.views.map((v) => viewPlanOf(decls.get(v, 'view', stage.at))),
        );
        const totalSteps = WARMUP_STEPS + rounds;
        try {
          await runStage(runtime.step, runtime.loader, {
            runDir,
            stage: stage.name,
            totalSteps,
            checkpointEvery: 0,
            seed: 0,
            lr: lrScheduleOf(
              stage.lr,
              iterationsOf(stage.length, runtime.batchesPerEpoch),
              runtime.batchesPerEpoch,
            ),
            log: { step: (r) => records.push(r), checkpoint: () => {} },
          });
        } finally {
          await runtime.loader.close();
        }
      } finally {
        rmSync(runDir, { recursive: true, force: true });
      }
      const timed = records.slice(WARMUP_STEPS);
      const images = stage.data.batch;
      // The loop logs images/s and each part's share of the step's wall time (data incl. fetch).
      const seconds = timed.map((r) => images / r.imagesPerSecond);
      const total = seconds.reduce((a, b) => a + b, 0);
      const share = (k: 'data' | 'forward' | 'backward' | 'optimizer') =>
        timed.reduce((a, r, i) => a + r.timeShare[k] * seconds[i], 0) / total;
      const shares = `data ${percent(share('data'))} fwd ${percent(share('forward'))} bwd ${percent(share('backward'))} opt ${percent(share('optimizer'))}`;
      return result(
        `box-step retinanet b${images} ${canvas.join('x')} (${shares})`,
        seconds.map((s) => s * 1000),
        1,
        'images/s',
        (ms) => (images * 1000) / ms,
        `stage ${stage.name} of the default pipeline, ${timed.length} timed steps after ${WARMUP_STEPS}; time shares of the summed step time: ${shares}`,
      );
    },
  };
}
