// What the two supervised stage kinds (RetinaNet `finetune`, FCOS `fcos_finetune`) share when they
// become runtime objects: the checks of the detector against the stage (a `classes: K` head,
// `optimize params:` naming the detector, K equal to the dataset's categories), the stage's view
// and dataset, the category → logit map, and the StageRuntime around the family's step.
// Flow: stage spec + declarations → **fine-tuning stage data** → stage-runtime.ts /
// fcos-stage-runtime.ts (step, evaluation) → runtime/train's loop.

import type { Dataset } from '../data/dataset.js';
import type { Batch } from '../data/loader/batch.js';
import type { BboxEvalReport } from '../eval/coco-eval.js';
import type { DenseClassifier } from '../models/head-classifier.js';
import type { TrainableStep } from '../train/stage-loop.js';
import { viewPlanOf, type ViewPlan } from './build-data.js';
import { RunPlanError, RunUnsupportedError } from './errors.js';
import type { FcosFinetuneStage } from './fcos-stage-spec.js';
import {
  batchesPerEpoch,
  stageDataset,
  stageLoader,
  type Declarations,
  type FinetuneEvaluation,
  type StageRuntime,
  type StageRuntimeOptions,
} from './stage-runtime.js';
import type { FinetuneStage } from './stage-spec.js';

/** The data a fine-tuning stage trains and evaluates on, checked against its detector. */
export interface FinetuneStageData {
  readonly view: ViewPlan;
  readonly dataset: Dataset;
  readonly numClasses: number;
  /** Dataset category id → logit channel. */
  readonly classOf: Map<number, number>;
}

/** Checks `plan` (the stage's detector) against `stage`, then opens the stage's view and dataset. */
export async function finetuneStageData(
  stage: FinetuneStage | FcosFinetuneStage,
  plan: { readonly name: string; readonly at: string; readonly classifier: DenseClassifier },
  decls: Declarations,
  o: StageRuntimeOptions,
): Promise<FinetuneStageData> {
  if (plan.classifier.kind !== 'logits')
    throw new RunPlanError(
      `detector ${plan.name}: fine-tuning needs classes: K in its head`,
      plan.at,
    );
  if (stage.params !== stage.detector)
    throw new RunUnsupportedError(
      `stage ${stage.name}: optimize params: ${stage.params}, but the stage runs ${stage.detector}`,
      stage.at,
    );
  const view = viewPlanOf(decls.get(stage.view, 'view', stage.at));
  const dataset = await stageDataset(stage, decls, o);
  const numClasses = plan.classifier.numClasses;
  if (numClasses !== dataset.categories.length)
    throw new RunPlanError(
      `detector ${plan.name} has ${numClasses} classes but dataset ${stage.data.dataset} has ${dataset.categories.length} (${dataset.categories.map((c) => c.name).join(', ')})`,
      plan.at,
    );
  return {
    view,
    dataset,
    numClasses,
    classOf: new Map(dataset.categories.map((c, i) => [c.id, i])),
  };
}

/** The runtime of a fine-tuning stage: its step, a loader of its one view, its evaluation. */
export function finetuneStageRuntime(
  stage: FinetuneStage | FcosFinetuneStage,
  data: FinetuneStageData,
  step: TrainableStep<Batch>,
  evaluate: (e: FinetuneEvaluation) => Promise<BboxEvalReport>,
  o: StageRuntimeOptions,
): StageRuntime {
  return {
    step,
    loader: stageLoader(data.dataset, [data.view], stage.data.batch, o),
    batchesPerEpoch: batchesPerEpoch(data.dataset, stage.data.batch),
    finetune: { view: data.view, evaluate },
  };
}
