// One stage of a plan as runtime objects: its data (dataset, proposals as pseudo boxes, views, the
// DataLoader with a fixed canvas), its detector(s) and its TrainableStep — runtime/train's
// BoxDomainStep for a box-domain stage, this folder's FinetuneStep for a supervised one — plus the
// weights an `init` clause carries over from an earlier stage's checkpoint.
// Flow: stage spec + declarations → **stage runtime** (loader, step) → runtime/train's loop.

import type { DeclarationPlan } from '../../compiler/lower/plan.js';
import type { TensorData } from '../cpu/tensor-data.js';
import type { Dataset } from '../data/dataset.js';
import type { Batch } from '../data/loader/batch.js';
import { DataLoader } from '../data/loader/loader.js';
import type { DataWarnings } from '../data/warnings.js';
import type { BboxEvalReport } from '../eval/coco-eval.js';
import type { Module } from '../nn/module.js';
import { Rng } from '../rng.js';
import type { Backend } from '../tensor/backend.js';
import {
  BoxDomainStep,
  GROUP_BACKBONE,
  GROUP_MOMENTUM,
  GROUP_ONLINE,
  LOSS_CONTRAST,
  LOSS_REGRESSION,
} from '../train/box-domain-step.js';
import { listCheckpoints, loadCheckpoint, type TensorGroups } from '../train/checkpoint.js';
import { LoweredLoss } from '../train/lowered-loss.js';
import { boxDomainDetectorOf } from '../train/module-detector.js';
import type { StepContext, StepResult, TrainableStep } from '../train/stage-loop.js';
import { boxDomainStagePlans } from './box-domain-stage.js';
import {
  canvasFor,
  openDeclaredDataset,
  proposalSourceOf,
  withProposals,
  type ViewPlan,
} from './build-data.js';
import { buildRetinaNet, emaPlanOf, retinaNetPlanOf } from './build-detector.js';
import { widenNarrowProjector } from './projector-widening.js';
import { RunPlanError, RunUnsupportedError } from './errors.js';
import { evaluateDetector } from './evaluate.js';
import { fcosBoxDomainRuntime, fcosFinetuneRuntime } from './fcos-stage-runtime.js';
import { finetuneStageData, finetuneStageRuntime } from './finetune-stage.js';
import { FinetuneStep, GROUP_DETECTOR, GROUP_DETECTOR_FROZEN } from './finetune-step.js';
import { imageDomainInitGroups, imageDomainRuntime } from './image-domain-runtime.js';
import type { InitClause } from './stage-clauses.js';
import {
  boxDomainSamplerOf,
  type BoxDomainStage,
  type FinetuneStage,
  type StageSpec,
} from './stage-spec.js';

/** The plan's declarations by name, with a typed lookup that names what was expected. */
export class Declarations {
  readonly byName: ReadonlyMap<string, DeclarationPlan>;
  constructor(decls: readonly DeclarationPlan[]) {
    this.byName = new Map(decls.map((d) => [d.name, d]));
  }

  get(name: string, kind: DeclarationPlan['kind'], at: string): DeclarationPlan {
    const d = this.byName.get(name);
    if (d === undefined || d.kind !== kind)
      throw new RunPlanError(`${name} is not a ${kind} declaration of this pipeline`, at);
    return d;
  }

  emaNames(): Set<string> {
    return new Set(
      [...this.byName.values()]
        .filter((d) => d.kind === 'detector' && emaPlanOf(d) !== undefined)
        .map((d) => d.name),
    );
  }
}

export interface StageRuntimeOptions {
  readonly runDir: string;
  readonly seed: number;
  readonly backend: Backend;
  readonly warnings: DataWarnings;
  readonly say: (line: string) => void;
  /** No proposal progress bar (tests). */
  readonly quiet?: boolean;
}

export interface StageRuntime {
  readonly step: TrainableStep<Batch>;
  readonly loader: DataLoader;
  readonly batchesPerEpoch: number;
  /** The fine-tuned detector's evaluation (current weights, its view's test scale), if supervised. */
  readonly finetune?: {
    readonly view: ViewPlan;
    evaluate(o: FinetuneEvaluation): Promise<BboxEvalReport>;
  };
}

/** What the run gives a fine-tuned detector's evaluation (the test split, seed and limits). */
export interface FinetuneEvaluation {
  readonly dataset: Dataset;
  readonly seed: number;
  readonly maxDets: number;
  readonly backend: Backend;
}

/** Renames the box-domain step's fixed loss names to the plan's loss names. */
export class RenamedLossStep<B> implements TrainableStep<B> {
  constructor(
    readonly inner: TrainableStep<B>,
    readonly names: ReadonlyMap<string, string>,
  ) {}
  get momentumBase(): number | null {
    return this.inner.momentumBase;
  }
  async run(batch: B, ctx: StepContext): Promise<StepResult> {
    const r = await this.inner.run(batch, ctx);
    const losses = Object.fromEntries(
      Object.entries(r.losses).map(([k, v]) => [this.names.get(k) ?? k, v]),
    );
    return { ...r, losses };
  }
  groups(): TensorGroups {
    return this.inner.groups();
  }
  restore(groups: TensorGroups): void {
    this.inner.restore(groups);
  }
  setup(): Record<string, unknown> {
    return this.inner.setup();
  }
  momentumAt(ctx: StepContext): number {
    return this.inner.momentumAt?.(ctx) ?? 0;
  }
}

export function sameNormalisation(a: ViewPlan, b: ViewPlan): boolean {
  return a.mean.join() === b.mean.join() && a.std.join() === b.std.join();
}

export function maxBoxesOf(dataset: Dataset): number {
  return Math.max(1, ...dataset.samples.map((s) => s.labels.length));
}

export function batchesPerEpoch(dataset: Dataset, batch: number): number {
  // The loader drops images without boxes (dropEmpty) and keeps a short last batch.
  const n = dataset.samples.filter((s) => s.labels.length > 0).length;
  if (n === 0)
    throw new RunPlanError(`dataset ${dataset.name} has no image with boxes to train on`);
  return Math.ceil(n / batch);
}

export async function stageDataset(
  stage: StageSpec,
  decls: Declarations,
  o: StageRuntimeOptions,
): Promise<Dataset> {
  const dataset = await openDeclaredDataset(
    decls.get(stage.data.dataset, 'dataset', stage.at),
    o.warnings,
  );
  if (stage.data.proposals === undefined) return dataset;
  const p = decls.get(stage.data.proposals, 'proposals', stage.at);
  const source = proposalSourceOf(p);
  if (source.dataset !== stage.data.dataset)
    throw new RunUnsupportedError(
      `stage ${stage.name}: proposals ${p.name} are computed on ${source.dataset}, but the stage trains on ${stage.data.dataset}`,
      p.at,
      'compute the proposals on the dataset the stage reads',
    );
  o.say(
    `${stage.name}: selective-search proposals of ${dataset.samples.length} images (cached in .cache/proposals)`,
  );
  return withProposals(dataset, source, {
    warnings: o.warnings,
    log: (line) => o.say(`${stage.name}: ${line}`),
    ...(o.quiet === true ? { quiet: true } : {}),
  });
}

/** The weights of `init.source` from the newest complete checkpoint of stage `init.fromStage`. */
export function initWeights(
  init: InitClause,
  from: StageSpec | undefined,
  runDir: string,
): Map<string, TensorData> {
  if (from === undefined)
    throw new RunPlanError(`init: the pipeline has no stage ${init.fromStage}`, init.at);
  let prefixes: string[];
  switch (from.kind) {
    case 'finetune':
    case 'fcos_finetune':
      if (init.source !== undefined && init.source !== from.detector)
        throw new RunPlanError(
          `init: stage ${from.name} trains ${from.detector}, not ${init.source}`,
          init.at,
        );
      prefixes = [GROUP_DETECTOR_FROZEN, GROUP_DETECTOR];
      break;
    case 'box_domain':
    case 'fcos_box_domain': {
      const source = init.source ?? from.online;
      if (source !== from.online && source !== from.momentum)
        throw new RunPlanError(
          `init: stage ${from.name} has detectors ${from.online} and ${from.momentum}, not ${source}`,
          init.at,
        );
      // The backbone is stored once and shared by both branches.
      prefixes = [GROUP_BACKBONE, source === from.online ? GROUP_ONLINE : GROUP_MOMENTUM];
      break;
    }
    case 'image_domain':
      prefixes = imageDomainInitGroups(init, from);
      break;
    default:
      return from satisfies never;
  }
  const done = listCheckpoints(runDir).filter((c) => c.meta.stage === from.name && c.meta.complete);
  const newest = done.sort((a, b) => b.meta.sequence - a.meta.sequence)[0];
  if (newest === undefined)
    throw new RunPlanError(
      `init: stage ${from.name} has no finished checkpoint in ${runDir}`,
      init.at,
      `run stage ${from.name} first (alignc run FILE --stage ${from.name}, same --out), or run every stage`,
    );
  const groups = loadCheckpoint(newest.path).groups;
  const out = new Map<string, TensorData>();
  for (const prefix of prefixes)
    for (const [name, t] of groups.get(prefix) ?? new Map<string, TensorData>()) out.set(name, t);
  return out;
}

/** Copies `weights` into the model by state name, except names containing a `drop` string. */
export function loadInitWeights(
  model: Module,
  weights: ReadonlyMap<string, TensorData>,
  drop: readonly string[],
): { loaded: number; dropped: number; fresh: number } {
  let loaded = 0;
  let dropped = 0;
  let fresh = 0;
  for (const { name, parameter } of model.state()) {
    const t = weights.get(name);
    if (drop.some((d) => name.includes(d))) dropped++;
    else if (t === undefined || t.shape.join(',') !== parameter.shape.join(',')) fresh++;
    else {
      parameter.value = Float32Array.from(t.data);
      loaded++;
    }
  }
  return { loaded, dropped, fresh };
}

async function boxDomainRuntime(
  stage: BoxDomainStage,
  decls: Declarations,
  o: StageRuntimeOptions,
  stages: ReadonlyMap<string, StageSpec>,
): Promise<StageRuntime> {
  const plan = retinaNetPlanOf(decls.get(stage.online, 'detector', stage.at));
  const { ema, views } = boxDomainStagePlans(stage, plan, decls);
  const dataset = await stageDataset(stage, decls, o);
  const model = await buildRetinaNet(plan, Rng.fromSeed(o.seed).child('init', stage.name));
  // E.g. the backbone of an image-domain stage's encoder (AlignDet's ImageNet stand-in).
  applyInit(stage, stage.online, model, o, stages, { frozenBackbone: true });
  widenNarrowProjector(model.head, 'retina_cls.', plan.headChannels);
  const parts = boxDomainDetectorOf(model);
  const inner = new BoxDomainStep(
    {
      detector: parts.detector,
      matching: {
        anchors: plan.anchors,
        assigner: stage.assigner,
        sampler: boxDomainSamplerOf(stage),
      },
      optimizer: stage.optimizer,
      ...(stage.clipNorm === undefined ? {} : { clipNorm: stage.clipNorm }),
      baseMomentum: ema.start,
      contrastive: LoweredLoss.fromStd('losses', 'box_infonce', new Map([['tau', stage.tau]])),
      regression: LoweredLoss.fromStd('losses', 'l1'),
      backend: o.backend,
    },
    parts.backbone,
    parts.online,
  );
  const step = new RenamedLossStep(
    inner,
    new Map([
      [LOSS_CONTRAST, stage.lossNames[0]],
      [LOSS_REGRESSION, stage.lossNames[1]],
    ]),
  );
  const loader = stageLoader(dataset, views, stage.data.batch, o);
  return { step, loader, batchesPerEpoch: batchesPerEpoch(dataset, stage.data.batch) };
}

/**
 * A stage's `init` clause applied to `detector`, the stage's freshly built detector `model` (if the
 * stage has one). With `frozenBackbone` (box-domain stages) an init that loads nothing is an error:
 * the backbone stays frozen, so the stage would pre-train on noise.
 */
export function applyInit(
  stage: { readonly name: string; readonly init: InitClause | undefined },
  detector: string,
  model: Module,
  o: StageRuntimeOptions,
  stages: ReadonlyMap<string, StageSpec>,
  options: { readonly frozenBackbone?: boolean } = {},
): void {
  if (stage.init === undefined) return;
  if (stage.init.detector !== detector)
    throw new RunUnsupportedError(
      `init ${stage.init.detector}: the stage trains ${detector}; init that detector`,
      stage.init.at,
    );
  const weights = initWeights(stage.init, stages.get(stage.init.fromStage), o.runDir);
  const r = loadInitWeights(model, weights, stage.init.drop);
  if (options.frozenBackbone === true && r.loaded === 0)
    throw new RunPlanError(
      `init ${detector}: no tensor of stage ${stage.init.fromStage}'s checkpoint fits (names or shapes differ)`,
      stage.init.at,
      'give both ResNets the same depth and width',
    );
  o.say(
    `${stage.name}: init ${detector} from stage ${stage.init.fromStage}: ${r.loaded} tensors loaded, ${r.dropped} dropped, ${r.fresh} freshly initialised`,
  );
}

/** The loader of a stage: its views of every sample (normalised with the first view's mean and std). */
export function stageLoader(
  dataset: Dataset,
  views: readonly ViewPlan[],
  batch: number,
  o: StageRuntimeOptions,
): DataLoader {
  return new DataLoader({
    dataset,
    views: views.map((v) => v.spec),
    batchSize: batch,
    maxBoxes: maxBoxesOf(dataset),
    seed: o.seed,
    mean: views[0].mean,
    std: views[0].std,
    canvas: canvasFor(dataset, views),
    warnings: o.warnings,
  });
}

async function finetuneRuntime(
  stage: FinetuneStage,
  decls: Declarations,
  o: StageRuntimeOptions,
  stages: ReadonlyMap<string, StageSpec>,
): Promise<StageRuntime> {
  const plan = retinaNetPlanOf(decls.get(stage.detector, 'detector', stage.at));
  const data = await finetuneStageData(stage, plan, decls, o);
  const model = await buildRetinaNet(plan, Rng.fromSeed(o.seed).child('init', stage.name));
  applyInit(stage, stage.detector, model, o, stages);
  const step = new FinetuneStep({
    model,
    anchors: plan.anchors,
    assigner: stage.assigner,
    numClasses: data.numClasses,
    classOf: data.classOf,
    alpha: stage.alpha,
    gamma: stage.gamma,
    regression: stage.regression,
    lossNames: stage.lossNames,
    lossWeights: stage.lossWeights,
    optimizer: stage.optimizer,
    ...(stage.clipNorm === undefined ? {} : { clipNorm: stage.clipNorm }),
    backend: o.backend,
  });
  const evaluate = (e: FinetuneEvaluation) =>
    evaluateDetector({
      ...e,
      model,
      weights: step.weights(),
      anchors: plan.anchors,
      view: data.view,
      canvas: canvasFor(e.dataset, [data.view]),
    });
  return finetuneStageRuntime(stage, data, step, evaluate, o);
}

/** Builds a stage's loader and step; `stages` are the plan's stages by name (for `init`). */
export function stageRuntime(
  stage: StageSpec,
  decls: Declarations,
  o: StageRuntimeOptions,
  stages: ReadonlyMap<string, StageSpec>,
): Promise<StageRuntime> {
  switch (stage.kind) {
    case 'box_domain':
      return boxDomainRuntime(stage, decls, o, stages);
    case 'image_domain':
      return imageDomainRuntime(stage, decls, o);
    case 'finetune':
      return finetuneRuntime(stage, decls, o, stages);
    case 'fcos_finetune':
      return fcosFinetuneRuntime(stage, decls, o, stages);
    case 'fcos_box_domain':
      return fcosBoxDomainRuntime(stage, decls, o, stages);
    default:
      return stage satisfies never;
  }
}
