// Evaluation of a trained checkpoint outside a run (`alignc eval RUN_DIR|CHECKPOINT --data …`):
// finds the checkpoint (a file, or a run directory's newest finished fine-tuning checkpoint), reads
// the run's log header for the pipeline, its `--set` overrides and the seed, rebuilds the plan and
// the stage's detector (RetinaNet for a `finetune` stage, FCOS for an `fcos_finetune` one) and
// evaluation view exactly as `alignc run` did, loads the weights, and runs the same inference + COCO
// scoring as the stage's `evaluate` clause (./evaluate.ts, ./fcos-evaluate.ts).
// Flow: run directory → plan → **detector + weights** → ./evaluate.ts | ./fcos-evaluate.ts → COCO
// report.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { checkFilesOrThrow } from '../../compiler/check/index.js';
import { planProgram } from '../../compiler/lower/plan.js';
import type { TensorData } from '../cpu/tensor-data.js';
import { BCCD_SPLITS } from '../data/bccd.js';
import type { Dataset } from '../data/dataset.js';
import { openDataset } from '../data/open.js';
import type { DataWarnings } from '../data/warnings.js';
import { AlignError } from '../errors.js';
import { evaluateBbox, type BboxEvalReport } from '../eval/coco-eval.js';
import type { CocoResultJson } from '../eval/coco-format.js';
import { readRunLog } from '../io/run-log-reader.js';
import { RUN_LOG_FILE, type RunHeader } from '../io/run-log.js';
import type { DenseDetector } from '../models/detector.js';
import type { FcosHead } from '../models/fcos-head.js';
import type { RetinaHead } from '../models/retina-head.js';
import { Rng } from '../rng.js';
import type { Backend } from '../tensor/backend.js';
import { CHECKPOINT_DIR, listCheckpoints, loadCheckpoint } from '../train/checkpoint.js';
import { canvasFor, openDeclaredDataset, viewPlanOf, type ViewPlan } from './build-data.js';
import { buildRetinaNet, retinaNetPlanOf, type RetinaNetPlan } from './build-detector.js';
import { detect, groundTruthOf } from './evaluate.js';
import { stageSpecsOf } from './executor.js';
import { buildFcos, fcosPlanOf, type FcosPlan } from './fcos-detector.js';
import { detectFcos } from './fcos-evaluate.js';
import type { FcosFinetuneStage } from './fcos-stage-spec.js';
import { GROUP_DETECTOR, GROUP_DETECTOR_FROZEN } from './finetune-step.js';
import { applyOverrides } from './overrides.js';
import { Declarations } from './stage-runtime.js';
import type { FinetuneStage, StageSpec } from './stage-spec.js';

/** A checkpoint or run directory that cannot be evaluated, or evaluation data that does not fit. */
export class EvalCheckpointError extends AlignError {
  readonly code = 'E_EVAL_CHECKPOINT';
}

/** What a fine-tuned detector rebuilt from a run's checkpoint has, whatever its family. */
interface CheckpointCommon {
  readonly checkpoint: string;
  readonly runDir: string;
  readonly header: RunHeader;
  /** The pipeline file read, and whether its text still has the run's SHA-256. */
  readonly pipeline: string;
  readonly pipelineChanged: boolean;
  readonly overrides: readonly string[];
  readonly step: number;
  readonly declarations: Declarations;
  readonly view: ViewPlan;
  /** Every tensor of the detector by state name (trainable and frozen). */
  readonly weights: ReadonlyMap<string, TensorData>;
}

/** A RetinaNet of a `finetune` stage. */
export interface RetinaNetCheckpoint extends CheckpointCommon {
  readonly family: 'retinanet';
  readonly stage: FinetuneStage;
  readonly plan: RetinaNetPlan;
  readonly model: DenseDetector<RetinaHead>;
}

/** An FCOS of an `fcos_finetune` stage. */
export interface FcosCheckpoint extends CheckpointCommon {
  readonly family: 'fcos';
  readonly stage: FcosFinetuneStage;
  readonly plan: FcosPlan;
  readonly model: DenseDetector<FcosHead>;
}

/** A fine-tuned detector rebuilt from a run's checkpoint, by detector family. */
export type CheckpointDetector = RetinaNetCheckpoint | FcosCheckpoint;

/** The `--set` values of a recorded `alignc run` command line, in order. */
export function overridesOfCommand(command: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < command.length; i++) {
    const a = command[i];
    if (a === '--') break;
    if (a === '--set' && i + 1 < command.length) out.push(command[++i]);
    else if (a.startsWith('--set=')) out.push(a.slice('--set='.length));
  }
  return out;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    throw new EvalCheckpointError(`${path} does not exist`, {
      hint: 'give a run directory (runs/NAME), its checkpoints/ folder or a .safetensors checkpoint',
    });
  }
}

/** The checkpoint file and run directory of `alignc eval PATH`. */
export function locateCheckpoint(path: string): { checkpoint: string; runDir: string } {
  if (isFile(path)) return { checkpoint: path, runDir: dirname(dirname(path)) };
  const runDir = basename(path) === CHECKPOINT_DIR ? dirname(path) : path;
  const finished = listCheckpoints(runDir).filter(
    (c) => c.meta.complete && c.meta.groups[GROUP_DETECTOR] !== undefined,
  );
  const newest = finished[finished.length - 1];
  if (newest === undefined)
    throw new EvalCheckpointError(
      `${path} has no finished fine-tuning checkpoint in ${join(runDir, CHECKPOINT_DIR)}`,
      { hint: 'run the pipeline to the end of a fine-tuning stage, or give a checkpoint file' },
    );
  return { checkpoint: newest.path, runDir };
}

function pipelinePath(header: RunHeader, runDir: string): string {
  if (existsSync(header.pipeline)) return header.pipeline;
  throw new EvalCheckpointError(
    `the run in ${runDir} was made from ${header.pipeline}, which is not there from this directory`,
    { hint: 'run alignc eval from the directory alignc run was started in' },
  );
}

/** Rebuilds the fine-tuned detector of a checkpoint (a file or a run directory) with its weights. */
export async function loadCheckpointDetector(path: string): Promise<CheckpointDetector> {
  const { checkpoint, runDir } = locateCheckpoint(path);
  const logPath = join(runDir, RUN_LOG_FILE);
  if (!existsSync(logPath))
    throw new EvalCheckpointError(
      `${checkpoint}: no run log ${logPath} next to it, so its pipeline is unknown`,
      { hint: 'keep checkpoints in their run directory (RUN/checkpoints/) to evaluate them' },
    );
  const header = readRunLog(logPath).header;
  const pipeline = pipelinePath(header, runDir);
  const text = readFileSync(pipeline, 'utf8');
  const pipelineChanged = createHash('sha256').update(text).digest('hex') !== header.pipelineSha256;
  const overrides = overridesOfCommand(header.command);
  const program = applyOverrides(planProgram(checkFilesOrThrow([pipeline])), overrides);
  const loaded = loadCheckpoint(checkpoint);
  const spec = stageSpecsOf(program).find((s) => s.name === loaded.meta.stage);
  if (spec === undefined)
    throw new EvalCheckpointError(
      `${checkpoint} is of stage ${loaded.meta.stage}, which ${pipeline} no longer has`,
    );
  const declarations = new Declarations(program.declarations);
  const weights = new Map<string, TensorData>([
    ...(loaded.groups.get(GROUP_DETECTOR_FROZEN) ?? []),
    ...(loaded.groups.get(GROUP_DETECTOR) ?? []),
  ]);
  const common = {
    checkpoint,
    runDir,
    header,
    pipeline,
    pipelineChanged,
    overrides,
    step: loaded.meta.step,
    declarations,
    weights,
  };
  const d = await rebuildDetector(spec, common, Rng.fromSeed(header.seed).child('init', spec.name));
  for (const { name, parameter } of d.model.state()) {
    const t = weights.get(name);
    if (t === undefined || t.shape.join() !== parameter.shape.join())
      throw new EvalCheckpointError(
        `${checkpoint}: tensor ${name} ${t === undefined ? 'is missing' : `has shape [${t.shape.join(', ')}]`}; detector ${d.plan.name} of ${pipeline} needs [${parameter.shape.join(', ')}]`,
        {
          hint: 'the pipeline file changed since the run; evaluate with the pipeline it was made from',
        },
      );
  }
  return d;
}

/** The untrained detector and evaluation view of a fine-tuning stage, as its stage runtime does. */
async function rebuildDetector(
  spec: StageSpec,
  common: Omit<CheckpointCommon, 'view'>,
  rng: Rng,
): Promise<CheckpointDetector> {
  const { checkpoint, declarations } = common;
  switch (spec.kind) {
    case 'finetune': {
      const plan = retinaNetPlanOf(declarations.get(spec.detector, 'detector', spec.at));
      const view = viewPlanOf(declarations.get(spec.view, 'view', spec.at));
      const model = await buildRetinaNet(plan, rng);
      return { ...common, family: 'retinanet', stage: spec, plan, view, model };
    }
    case 'fcos_finetune': {
      const plan = fcosPlanOf(declarations.get(spec.detector, 'detector', spec.at));
      const view = viewPlanOf(declarations.get(spec.view, 'view', spec.at));
      const model = await buildFcos(plan, rng);
      return { ...common, family: 'fcos', stage: spec, plan, view, model };
    }
    case 'box_domain':
    case 'fcos_box_domain':
      throw new EvalCheckpointError(
        `${checkpoint} is of the ${spec.kind.replaceAll('_', '-')} stage ${spec.name}: its detector has a projector, not class logits`,
        { hint: FINETUNE_HINT },
      );
    case 'image_domain':
      throw new EvalCheckpointError(
        `${checkpoint} is of the image-domain stage ${spec.name}: it trains a backbone encoder, not a detector`,
        { hint: FINETUNE_HINT },
      );
    default:
      return spec satisfies never;
  }
}

const FINETUNE_HINT = 'evaluate a fine-tuning checkpoint (or the run directory: its newest one)';

/**
 * The evaluation dataset of `--data NAME`: a dataset declaration of the run's pipeline, or a split
 * of the shipped BCCD (`bccd:val`, or just `val`); without NAME, the stage's `evaluate` dataset.
 */
export async function evaluationDataset(
  d: CheckpointDetector,
  name: string | undefined,
  warnings?: DataWarnings,
): Promise<Dataset> {
  const declared = name ?? d.stage.evaluate?.dataset;
  if (declared === undefined)
    throw new EvalCheckpointError(
      `stage ${d.stage.name} of ${d.pipeline} has no evaluate clause: say which data with --data`,
      {
        hint: `--data takes a dataset of the pipeline or a BCCD split (bccd:${BCCD_SPLITS.join(', bccd:')})`,
      },
    );
  const decl = d.declarations.byName.get(declared);
  let dataset: Dataset;
  if (decl !== undefined && decl.kind === 'dataset')
    dataset = await openDeclaredDataset(decl, warnings);
  else {
    const split = declared.startsWith('bccd:') ? declared.slice('bccd:'.length) : declared;
    if (!(BCCD_SPLITS as readonly string[]).includes(split)) {
      const names = [...d.declarations.byName.values()]
        .filter((x) => x.kind === 'dataset')
        .map((x) => x.name);
      throw new EvalCheckpointError(
        `--data ${declared} is neither a dataset of ${d.pipeline} nor a BCCD split`,
        { hint: `datasets: ${names.join(', ') || 'none'}; BCCD splits: ${BCCD_SPLITS.join(', ')}` },
      );
    }
    dataset = {
      ...(await openDataset({ format: 'bccd', split }, warnings)),
      name: `bccd:${split}`,
    };
  }
  const numClasses = d.model.head.clsWidth;
  if (!dataset.labelled || dataset.categories.length !== numClasses)
    throw new EvalCheckpointError(
      `--data ${declared}: ${dataset.labelled ? `${dataset.categories.length} categories` : 'no labels'}, but detector ${d.plan.name} predicts ${numClasses} classes`,
      { hint: 'evaluate on a labelled dataset with the categories the detector was fine-tuned on' },
    );
  return dataset;
}

/** A rebuilt detector's detections on the dataset, as the stage's `evaluate` clause makes them. */
export function detectCheckpointDetector(
  d: CheckpointDetector,
  dataset: Dataset,
  backend: Backend,
): Promise<CocoResultJson[]> {
  const common = {
    weights: d.weights,
    dataset,
    view: d.view,
    canvas: canvasFor(dataset, [d.view]),
    seed: d.header.seed,
    maxDets: d.stage.evaluate?.maxDets ?? 100,
    backend,
  };
  switch (d.family) {
    case 'retinanet':
      return detect({ ...common, model: d.model, anchors: d.plan.anchors });
    case 'fcos':
      return detectFcos({ ...common, model: d.model });
    default:
      return d satisfies never;
  }
}

/** Inference and COCO scoring of a rebuilt detector, as the stage's `evaluate` clause does it. */
export async function evaluateCheckpointDetector(
  d: CheckpointDetector,
  dataset: Dataset,
  backend: Backend,
): Promise<BboxEvalReport> {
  const results = await detectCheckpointDetector(d, dataset, backend);
  return evaluateBbox(groundTruthOf(dataset), results, { groundTruth: dataset.name });
}
