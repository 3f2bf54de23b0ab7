// Evaluation of a trained checkpoint outside a run (`alignc eval RUN_DIR|CHECKPOINT --data …`):
// finds the checkpoint (a file, or a run directory's newest finished fine-tuning checkpoint), reads
// the run's log header for the pipeline, its `--set` overrides and the seed, rebuilds the plan and
// the stage's detector and evaluation view exactly as `alignc run` did, loads the weights, and runs
// the same inference + COCO scoring as the stage's `evaluate` clause (./evaluate.ts).
// Flow: run directory → plan → **detector + weights** → ./evaluate.ts → COCO report.

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
import type { BboxEvalReport } from '../eval/coco-eval.js';
import { readRunLog } from '../io/run-log-reader.js';
import { RUN_LOG_FILE, type RunHeader } from '../io/run-log.js';
import type { DenseDetector } from '../models/detector.js';
import type { RetinaHead } from '../models/retina-head.js';
import { Rng } from '../rng.js';
import type { Backend } from '../tensor/backend.js';
import { CHECKPOINT_DIR, listCheckpoints, loadCheckpoint } from '../train/checkpoint.js';
import { canvasFor, openDeclaredDataset, viewPlanOf, type ViewPlan } from './build-data.js';
import { buildRetinaNet, retinaNetPlanOf, type RetinaNetPlan } from './build-detector.js';
import { evaluateDetector } from './evaluate.js';
import { stageSpecsOf } from './executor.js';
import { GROUP_DETECTOR, GROUP_DETECTOR_FROZEN } from './finetune-step.js';
import { applyOverrides } from './overrides.js';
import { Declarations } from './stage-runtime.js';
import type { FinetuneStage } from './stage-spec.js';

/** A checkpoint or run directory that cannot be evaluated, or evaluation data that does not fit. */
export class EvalCheckpointError extends AlignError {
  readonly code = 'E_EVAL_CHECKPOINT';
}

/** A fine-tuned detector rebuilt from a run's checkpoint. */
export interface CheckpointDetector {
  readonly checkpoint: string;
  readonly runDir: string;
  readonly header: RunHeader;
  /** The pipeline file read, and whether its text still has the run's SHA-256. */
  readonly pipeline: string;
  readonly pipelineChanged: boolean;
  readonly overrides: readonly string[];
  readonly stage: FinetuneStage;
  readonly step: number;
  readonly declarations: Declarations;
  readonly plan: RetinaNetPlan;
  readonly view: ViewPlan;
  readonly model: DenseDetector<RetinaHead>;
  readonly weights: ReadonlyMap<string, TensorData>;
}

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
  if (spec.kind === 'fcos_finetune')
    throw new EvalCheckpointError(
      `${checkpoint} is of the FCOS fine-tuning stage ${spec.name}: alignc eval rebuilds RetinaNet detectors only so far`,
      {
        hint: `the stage's evaluate clause scored it during the run: the eval records of ${runDir}/log.jsonl, or alignc report ${runDir}`,
      },
    );
  if (spec.kind !== 'finetune')
    throw new EvalCheckpointError(
      `${checkpoint} is of the ${spec.kind.replace('_', '-')} stage ${spec.name}: its detector has a projector, not class logits`,
      { hint: 'evaluate a fine-tuning checkpoint (or the run directory: its newest one)' },
    );
  const declarations = new Declarations(program.declarations);
  const plan = retinaNetPlanOf(declarations.get(spec.detector, 'detector', spec.at));
  const view = viewPlanOf(declarations.get(spec.view, 'view', spec.at));
  const model = await buildRetinaNet(plan, Rng.fromSeed(header.seed).child('init', spec.name));
  const weights = new Map<string, TensorData>([
    ...(loaded.groups.get(GROUP_DETECTOR_FROZEN) ?? []),
    ...(loaded.groups.get(GROUP_DETECTOR) ?? []),
  ]);
  for (const { name, parameter } of model.state()) {
    const t = weights.get(name);
    if (t === undefined || t.shape.join() !== parameter.shape.join())
      throw new EvalCheckpointError(
        `${checkpoint}: tensor ${name} ${t === undefined ? 'is missing' : `has shape [${t.shape.join(', ')}]`}; detector ${plan.name} of ${pipeline} needs [${parameter.shape.join(', ')}]`,
        {
          hint: 'the pipeline file changed since the run; evaluate with the pipeline it was made from',
        },
      );
  }
  return {
    checkpoint,
    runDir,
    header,
    pipeline,
    pipelineChanged,
    overrides,
    stage: spec,
    step: loaded.meta.step,
    declarations,
    plan,
    view,
    model,
    weights,
  };
}

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

/** Inference and COCO scoring of a rebuilt detector, as the stage's `evaluate` clause does it. */
export function evaluateCheckpointDetector(
  d: CheckpointDetector,
  dataset: Dataset,
  backend: Backend,
): Promise<BboxEvalReport> {
  return evaluateDetector({
    model: d.model,
    weights: d.weights,
    anchors: d.plan.anchors,
    dataset,
    view: d.view,
    canvas: canvasFor(dataset, [d.view]),
    seed: d.header.seed,
    maxDets: d.stage.evaluate?.maxDets ?? 100,
    backend,
  });
}
