// What the two box-domain stage kinds (RetinaNet `box_domain`, FCOS `fcos_box_domain`) check and
// read before they build their detector: a projector head (`embed: mlp(…)`) on a frozen backbone,
// the momentum detector declared as `ema(online, …)`, and two views that normalise alike (the
// loader normalises every view with the first one's mean and std).
// Flow: stage spec + declarations → **box-domain stage checks** → stage-runtime.ts /
// fcos-stage-runtime.ts (detector, BoxDomainStep) → runtime/train's loop.

import type { DenseClassifier } from '../models/head-classifier.js';
import { viewPlanOf, type ViewPlan } from './build-data.js';
import { emaPlanOf, type EmaPlan } from './build-detector.js';
import { RunPlanError, RunUnsupportedError } from './errors.js';
import type { FcosBoxDomainStage } from './fcos-stage-spec.js';
import { sameNormalisation, type Declarations } from './stage-runtime.js';
import type { BoxDomainStage } from './stage-spec.js';

/** Checks `plan` (the online detector) and the stage's EMA and views; returns the latter two. */
export function boxDomainStagePlans(
  stage: BoxDomainStage | FcosBoxDomainStage,
  plan: {
    readonly name: string;
    readonly at: string;
    readonly classifier: DenseClassifier;
    readonly frozenBackbone: boolean;
  },
  decls: Declarations,
): { ema: EmaPlan; views: ViewPlan[] } {
  if (plan.classifier.kind !== 'projector')
    throw new RunPlanError(
      `detector ${plan.name}: box-domain pre-training needs a projector head (embed: mlp(…))`,
      plan.at,
    );
  if (!plan.frozenBackbone)
    throw new RunUnsupportedError(
      `detector ${plan.name}: the box-domain step keeps the backbone frozen; write resnet(…, frozen: true)`,
      plan.at,
    );
  const ema = emaPlanOf(decls.get(stage.momentum, 'detector', stage.at));
  if (ema === undefined || ema.online !== stage.online)
    throw new RunPlanError(`detector ${stage.momentum} must be ema(${stage.online}, …)`, stage.at);
  const views = stage.views.map((v) => viewPlanOf(decls.get(v, 'view', stage.at)));
  if (!sameNormalisation(views[0], views[1]))
    throw new RunUnsupportedError(
      `stage ${stage.name}: both views must normalise with the same mean and std`,
      stage.at,
    );
  return { ema, views };
}
