// Benchmark case `inference`: images per second of the default pipeline's fine-tuned detector
// (pipelines/bccd-default.align: RetinaNet, ResNet-18 at 1/8 width, FPN P3–P5 with 32 channels) at
// the pipeline's evaluation view, as `alignc run`'s `evaluate` clause and `alignc eval` run it:
// data loading and the test view, the forward pass on one of the runner's backends (case
// `inference`: the CPU reference, `alignc run`'s default; `inference-webgpu`: the WebGPU executor
// on the adapter `alignc bench` acquired, as `alignc run --backend webgpu`), sigmoid scores and
// RetinaNet post-processing (decode + per-class NMS), detections back in image coordinates
// (runtime/run/evaluate.ts `detect`). The weights are those of `runs/bccd-default` when
// that run has a finished fine-tuning checkpoint (trained weights give the NMS real work), else the
// fresh initialisation (the note says which). Beside the flow: plan → runtime/run → this timing.

import { join } from 'node:path';
import { checkFilesOrThrow } from '../compiler/check/index.js';
import { planProgram, type ProgramPlan } from '../compiler/lower/plan.js';
import type { TensorData } from '../runtime/cpu/tensor-data.js';
import type { Dataset } from '../runtime/data/dataset.js';
import { DataWarnings } from '../runtime/data/warnings.js';
import { packageRoot } from '../runtime/package-root.js';
import { Rng } from '../runtime/rng.js';
import { canvasFor, openDeclaredDataset, viewPlanOf } from '../runtime/run/build-data.js';
import { buildRetinaNet, retinaNetPlanOf } from '../runtime/run/build-detector.js';
import { detect } from '../runtime/run/evaluate.js';
import { loadCheckpointDetector } from '../runtime/run/evaluate-checkpoint.js';
import { stageSpecsOf } from '../runtime/run/executor.js';
import { Declarations } from '../runtime/run/stage-runtime.js';
import type { StageSpec } from '../runtime/run/stage-spec.js';
import { cpuReferenceBackend, type Backend } from '../runtime/tensor/backend.js';
import { webgpuBackend } from '../runtime/webgpu/backend.js';
import { result, timeRounds, type BenchCase } from './harness.js';

/** The repository-relative path of the pipeline the runner benchmarks describe. */
export const DEFAULT_PIPELINE = join('pipelines', 'bccd-default.align');

/** The default pipeline's plan, its declarations and the stage of the given kind. */
export function defaultPipelineStage<K extends StageSpec['kind']>(
  kind: K,
): { plan: ProgramPlan; decls: Declarations; stage: Extract<StageSpec, { kind: K }> } {
  const plan = planProgram(checkFilesOrThrow([join(packageRoot(), DEFAULT_PIPELINE)]));
  const stage = stageSpecsOf(plan).find(
    (s): s is Extract<StageSpec, { kind: K }> => s.kind === kind,
  );
  if (stage === undefined) throw new Error(`${DEFAULT_PIPELINE} has no ${kind} stage`);
  return { plan, decls: new Declarations(plan.declarations), stage };
}

/** The first `n` images of a dataset. */
function firstImages(dataset: Dataset, n: number): Dataset {
  return { ...dataset, samples: dataset.samples.slice(0, n) };
}

/** Trained weights of `runs/bccd-default` if it has a finished fine-tuning checkpoint. */
async function trainedWeights(): Promise<ReadonlyMap<string, TensorData> | undefined> {
  try {
    return (await loadCheckpointDetector(join(packageRoot(), 'runs', 'bccd-default'))).weights;
  } catch {
    return undefined;
  }
}

/** The backends `alignc run --backend` offers. */
export type InferenceBackend = 'cpu-reference' | 'webgpu';

export function inferenceCase(
  backendName: InferenceBackend = 'cpu-reference',
  imagesPerRound = 4,
): BenchCase {
  return {
    name: backendName === 'webgpu' ? 'inference-webgpu' : 'inference',
    group: 'runner',
    async run(ctx, rounds) {
      const { decls, stage } = defaultPipelineStage('finetune');
      const plan = retinaNetPlanOf(decls.get(stage.detector, 'detector', stage.at));
      const view = viewPlanOf(decls.get(stage.view, 'view', stage.at));
      const evalData = stage.evaluate?.dataset ?? stage.data.dataset;
      const warnings = new DataWarnings(() => {});
      const all = await openDeclaredDataset(decls.get(evalData, 'dataset', stage.at), warnings);
      const dataset = firstImages(all, imagesPerRound);
      const model = await buildRetinaNet(plan, Rng.fromSeed(0).child('init', stage.name));
      const trained = await trainedWeights();
      const weights =
        trained ??
        new Map(
          model.state().map(({ name, parameter }): [string, TensorData] => [
            name,
            {
              shape: parameter.shape,
              dtype: 'f32',
              data: parameter.value ?? new Float32Array(0),
            },
          ]),
        );
      // The two warm-up rounds of timeRounds trace and compile (WebGPU: the second run of a graph
      // captures it); the timed rounds replay, as every batch after the first of an evaluation.
      const backend: Backend =
        backendName === 'webgpu' ? webgpuBackend(ctx) : cpuReferenceBackend();
      let detections = 0;
      let firstRoundMs: number | undefined;
      const times = await timeRounds(rounds, async () => {
        const t0 = performance.now();
        const found = await detect({
          model,
          weights,
          anchors: plan.anchors,
          dataset,
          view,
          canvas: canvasFor(all, [view]),
          seed: 0,
          maxDets: stage.evaluate?.maxDets ?? 100,
          backend,
        });
        detections = found.length;
        firstRoundMs ??= performance.now() - t0;
      });
      const [w, h] = canvasFor(all, [view]);
      return result(
        `inference ${plan.name} r${plan.depth}x${plan.widthMultiplier} fpn${plan.channels} ${w}x${h} +nms (${backendName})`,
        times,
        imagesPerRound,
        'images/s',
        (ms) => 1000 / ms,
        `${imagesPerRound} images of ${evalData} per round in batches of 2, ${trained === undefined ? 'freshly initialised weights' : 'weights of runs/bccd-default'}, ${detections} detections per round; includes image decode and resize; first (tracing${backendName === 'webgpu' ? ' and compiling' : ''}) round ${Math.round(firstRoundMs ?? 0)} ms`,
      );
    },
  };
}
