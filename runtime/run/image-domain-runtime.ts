// An image-domain (BYOL) stage as runtime objects: the dataset's images without pseudo boxes (every
// image counts, labelled or not), the two views on one canvas, the online `encoder(…)` and the
// ImageDomainStep (runtime/train) with the `ema(…)` target's schedule; plus which checkpoint groups
// a later stage's `init … from:` this stage reads. Flow: image-domain stage spec + declarations →
// **image-domain runtime** (loader, step) → runtime/train's stage loop.

import { DataLoader } from '../data/loader/loader.js';
import { Rng } from '../rng.js';
import {
  GROUP_ENCODER,
  GROUP_ENCODER_FROZEN,
  GROUP_TARGET,
  GROUP_TARGET_BUFFERS,
  ImageDomainStep,
} from '../train/image-domain-step.js';
import { LoweredLoss } from '../train/lowered-loss.js';
import { canvasFor, openDeclaredDataset, viewPlanOf } from './build-data.js';
import { emaPlanOf } from './build-detector.js';
import { RunPlanError, RunUnsupportedError } from './errors.js';
import { buildEncoder, encoderPlanOf } from './image-domain-encoder.js';
import type { ImageDomainStage } from './image-domain-spec.js';
import type { InitClause } from './stage-clauses.js';
import type { Declarations, StageRuntime, StageRuntimeOptions } from './stage-runtime.js';

/** Checkpoint groups holding the weights of `init.source` of an image-domain stage. */
export function imageDomainInitGroups(init: InitClause, from: ImageDomainStage): string[] {
  const source = init.source ?? from.online;
  if (source !== from.online && source !== from.target)
    throw new RunPlanError(
      `init: stage ${from.name} has networks ${from.online} and ${from.target}, not ${source}`,
      init.at,
    );
  // Frozen stages are shared by both networks; the target's own BN running statistics (a group
  // only when BN used batch statistics) replace the online ones read from the frozen group.
  return source === from.online
    ? [GROUP_ENCODER_FROZEN, GROUP_ENCODER]
    : [GROUP_ENCODER_FROZEN, GROUP_TARGET_BUFFERS, GROUP_TARGET];
}

export async function imageDomainRuntime(
  stage: ImageDomainStage,
  decls: Declarations,
  o: StageRuntimeOptions,
): Promise<StageRuntime> {
  if (stage.data.proposals !== undefined)
    throw new RunUnsupportedError(
      `stage ${stage.name}: an image-domain stage reads whole images; proposals: ${stage.data.proposals} would go unused`,
      stage.at,
      'remove proposals: from the data clause',
    );
  if (stage.init !== undefined)
    throw new RunUnsupportedError(
      `stage ${stage.name}: init in an image-domain stage is not supported yet`,
      stage.init.at,
      'start from backbone weights instead: resnet(…, weights: "file.safetensors")',
    );
  const plan = encoderPlanOf(decls.get(stage.online, 'detector', stage.at));
  const ema = emaPlanOf(decls.get(stage.target, 'detector', stage.at));
  if (ema === undefined || ema.online !== stage.online)
    throw new RunPlanError(`detector ${stage.target} must be ema(${stage.online}, …)`, stage.at);
  for (const t of stage.terms) {
    const needs = [t.online, t.target].find((r) => r.field === 'prediction');
    if (needs !== undefined && plan.predictor === undefined)
      throw new RunPlanError(
        `loss ${t.name} uses .prediction, but ${plan.name} has no predictor`,
        plan.at,
        'add predictor: mlp(hidden, out) to the encoder',
      );
  }
  // Image-only views: no boxes, so random_resized_crop(…) is allowed.
  const views = stage.views.map((v) =>
    viewPlanOf(decls.get(v, 'view', stage.at), { boxes: false }),
  );
  if (views[0].mean.join() !== views[1].mean.join() || views[0].std.join() !== views[1].std.join())
    throw new RunUnsupportedError(
      `stage ${stage.name}: both views must normalise with the same mean and std`,
      stage.at,
    );
  const dataset = await openDeclaredDataset(
    decls.get(stage.data.dataset, 'dataset', stage.at),
    o.warnings,
  );
  if (dataset.samples.length === 0)
    throw new RunPlanError(`dataset ${dataset.name} has no images`, stage.at);
  const encoder = await buildEncoder(plan, Rng.fromSeed(o.seed).child('init', stage.name));
  const step = new ImageDomainStep({
    network: encoder,
    terms: stage.terms,
    loss: LoweredLoss.fromStd('losses', 'byol'),
    optimizer: stage.optimizer,
    ...(stage.clipNorm === undefined ? {} : { clipNorm: stage.clipNorm }),
    baseMomentum: ema.start,
    backend: o.backend,
  });
  const loader = new DataLoader({
    dataset,
    views: views.map((v) => v.spec),
    batchSize: stage.data.batch,
    maxBoxes: Math.max(1, ...dataset.samples.map((s) => s.labels.length)),
    seed: o.seed,
    // Unlabelled images are the point of this stage.
    dropEmpty: false,
    mean: views[0].mean,
    std: views[0].std,
    canvas: canvasFor(dataset, views),
    warnings: o.warnings,
  });
  return {
    step,
    loader,
    batchesPerEpoch: Math.ceil(dataset.samples.length / stage.data.batch),
  };
}
