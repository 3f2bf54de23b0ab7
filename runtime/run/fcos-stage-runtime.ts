// An FCOS stage of a plan as runtime objects (the FCOS counterpart of stage-runtime.ts's RetinaNet
// stages): the data and loader, the FCOS detector (fcos-detector.ts) and the step — the FCOS
// fine-tuning step (fcos-finetune-step.ts, with `init` from an earlier stage and FCOS evaluation)
// or runtime/train's box-domain step with the FCOS objective (fcos-box-domain.ts).
// Flow: FCOS stage spec + declarations → **stage runtime** (loader, step) → runtime/train's loop.

import { FCOS_INF, FCOS_TARGETS, type FcosTargetConfig } from '../detect/fcos-targets.js';
import { Rng } from '../rng.js';
import { BoxDomainStep, LOSS_CONTRAST } from '../train/box-domain-step.js';
import {
  FcosBoxDomainObjective,
  LOSS_FCOS_BOX,
  LOSS_FCOS_CENTERNESS,
} from '../train/fcos-box-domain.js';
import { regressRangesOf } from '../train/fcos-point-targets.js';
import { LoweredLoss } from '../train/lowered-loss.js';
import { boxDomainDetectorOf } from '../train/module-detector.js';
import { boxDomainStagePlans } from './box-domain-stage.js';
import { canvasFor } from './build-data.js';
import { RunPlanError, RunUnsupportedError } from './errors.js';
import { buildFcos, fcosPlanOf, type FcosPlan } from './fcos-detector.js';
import { evaluateFcos } from './fcos-evaluate.js';
import { widenNarrowProjector } from './projector-widening.js';
import { FcosFinetuneStep } from './fcos-finetune-step.js';
import { finetuneStageData, finetuneStageRuntime } from './finetune-stage.js';
import type {
  FcosAssignSettings,
  FcosBoxDomainStage,
  FcosFinetuneStage,
} from './fcos-stage-spec.js';
import {
  applyInit,
  batchesPerEpoch,
  stageLoader,
  RenamedLossStep,
  stageDataset,
  type Declarations,
  type FinetuneEvaluation,
  type StageRuntime,
  type StageRuntimeOptions,
} from './stage-runtime.js';
import type { StageSpec } from './stage-spec.js';

/**
 * The FCOS assignment of a stage: its `ranges:` boundaries (or mmdet's) on the head's strides, and
 * its centre sampling (`center_sampling:`, `center_radius:`).
 */
export function fcosTargetConfigOf(
  assign: FcosAssignSettings,
  plan: FcosPlan,
  matchAt: string,
): FcosTargetConfig {
  const { ranges } = assign;
  const levels = plan.strides.length;
  const boundaries = ranges ?? FCOS_TARGETS.regressRanges.map(([low]) => low).slice(0, levels);
  if (boundaries.length !== levels)
    throw new RunPlanError(
      `fcos_assign: ranges has ${boundaries.length} level boundaries but detector ${plan.name} has ${levels} levels (strides ${plan.strides.join(', ')})`,
      matchAt,
      `give one lower bound per level, e.g. ranges: [${FCOS_TARGETS.regressRanges
        .slice(0, levels)
        .map(([low]) => low)
        .join(', ')}] (the last level is unbounded)`,
    );
  return {
    strides: plan.strides,
    regressRanges: regressRangesOf(boundaries, FCOS_INF),
    centerSampling: assign.centerSampling,
    centerSampleRadius: assign.centerRadius,
    normOnBbox: false,
  };
}

export async function fcosBoxDomainRuntime(
  stage: FcosBoxDomainStage,
  decls: Declarations,
  o: StageRuntimeOptions,
  stages: ReadonlyMap<string, StageSpec>,
): Promise<StageRuntime> {
  const plan = fcosPlanOf(decls.get(stage.online, 'detector', stage.at));
  if (stage.params !== stage.online)
    throw new RunUnsupportedError(
      `stage ${stage.name}: optimize params: ${stage.params}, but the online detector is ${stage.online}`,
      stage.at,
    );
  const { ema, views } = boxDomainStagePlans(stage, plan, decls);
  const targets = fcosTargetConfigOf(stage, plan, stage.matchAt);
  const dataset = await stageDataset(stage, decls, o);
  const model = await buildFcos(plan, Rng.fromSeed(o.seed).child('init', stage.name));
  // E.g. the backbone of an image-domain stage's encoder (AlignDet's ImageNet stand-in).
  applyInit(stage, stage.online, model, o, stages, { frozenBackbone: true });
  widenNarrowProjector(model.head, 'conv_cls.', plan.headChannels);
  const parts = boxDomainDetectorOf(model);
  const inner = new BoxDomainStep(
    {
      detector: parts.detector,
      objective: new FcosBoxDomainObjective(
        targets,
        stage.sample,
        LoweredLoss.fromStd('losses', 'box_infonce', new Map([['tau', stage.tau]])),
      ),
      optimizer: stage.optimizer,
      ...(stage.clipNorm === undefined ? {} : { clipNorm: stage.clipNorm }),
      baseMomentum: ema.start,
      backend: o.backend,
    },
    parts.backbone,
    parts.online,
  );
  const step = new RenamedLossStep(
    inner,
    new Map([
      [LOSS_CONTRAST, stage.lossNames[0]],
      [LOSS_FCOS_BOX, stage.lossNames[1]],
      [LOSS_FCOS_CENTERNESS, stage.lossNames[2]],
    ]),
  );
  const loader = stageLoader(dataset, views, stage.data.batch, o);
  return { step, loader, batchesPerEpoch: batchesPerEpoch(dataset, stage.data.batch) };
}

export async function fcosFinetuneRuntime(
  stage: FcosFinetuneStage,
  decls: Declarations,
  o: StageRuntimeOptions,
  stages: ReadonlyMap<string, StageSpec>,
): Promise<StageRuntime> {
  const plan = fcosPlanOf(decls.get(stage.detector, 'detector', stage.at));
  // The ranges are checked first: a plan error needs no dataset opened.
  const targets = fcosTargetConfigOf(stage, plan, stage.matchAt);
  const data = await finetuneStageData(stage, plan, decls, o);
  const model = await buildFcos(plan, Rng.fromSeed(o.seed).child('init', stage.name));
  applyInit(stage, stage.detector, model, o, stages);
  const step = new FcosFinetuneStep({
    model,
    targets,
    numClasses: data.numClasses,
    classOf: data.classOf,
    alpha: stage.alpha,
    gamma: stage.gamma,
    boxLoss: stage.boxLoss,
    lossNames: stage.lossNames,
    lossWeights: stage.lossWeights,
    optimizer: stage.optimizer,
    ...(stage.clipNorm === undefined ? {} : { clipNorm: stage.clipNorm }),
    backend: o.backend,
  });
  const evaluate = (e: FinetuneEvaluation) =>
    evaluateFcos({
      ...e,
      model,
      weights: step.weights(),
      view: data.view,
      canvas: canvasFor(e.dataset, [data.view]),
    });
  return finetuneStageRuntime(stage, data, step, evaluate, o);
}
