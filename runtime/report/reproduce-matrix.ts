// The matrix of the BCCD reproduction (issue #9, docs/results.md): detectors × settings × seeds ×
// labelled fractions, as a list of stage runs — one `alignc run PIPELINE --stage S --seed N --set …`
// each — with their run directories and what each must wait for. Pre-training runs once per
// detector and seed (its stages one after another in one run directory); every fine-tuning stage
// runs in its own directory per labelled fraction, starting from a link to the pre-training
// checkpoint its `init` names, so both fractions share one pre-training.
// Flow: pipelines/reproduce/*.align + budget → **stage runs** → reproduce-execute.ts → run logs.

import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { checkFilesOrThrow } from '../../compiler/check/index.js';
import { planProgram, type StagePlan } from '../../compiler/lower/plan.js';
import { AlignError } from '../errors.js';
import type { Budget } from './reproduce-budgets.js';

export class ReproduceError extends AlignError {
  readonly code = 'E_REPRODUCE';
}

/** The three initialisations of issue #9, each a fine-tuning stage of the detector's pipeline. */
export const SETTINGS = [
  { id: 'scratch', stage: 'finetune_scratch', label: '(a) random init' },
  { id: 'image', stage: 'finetune_image', label: '(b) image-domain only' },
  { id: 'aligndet', stage: 'finetune_aligndet', label: '(c) image + box domain (AlignDet)' },
] as const;
export type SettingId = (typeof SETTINGS)[number]['id'];

export const DETECTORS = ['retinanet', 'fcos'] as const;
export type DetectorId = (typeof DETECTORS)[number];

/** `pipelines/reproduce/<detector>.align` under the package root, relative to the working folder. */
export function reproducePipeline(root: string, detector: DetectorId): string {
  const file = join(root, 'pipelines', 'reproduce', `${detector}.align`);
  return relative(process.cwd(), file) || file;
}

/** What the reproduction needs to know of one stage of a pipeline. */
export interface StageOutline {
  readonly name: string;
  /** The stage its `init … from:` names, if any. */
  readonly initFrom: string | undefined;
  readonly hasCheckpoint: boolean;
  readonly hasEvaluate: boolean;
}

export interface PipelineOutline {
  readonly file: string;
  readonly stages: readonly StageOutline[];
}

function clauseOf(stage: StagePlan, clause: string) {
  for (const s of stage.steps) if (s.op === 'clause' && s.clause === clause) return s;
  return undefined;
}

/** The stages of a reproduction pipeline (checked and planned as `alignc run` does). */
export function outlinePipeline(file: string): PipelineOutline {
  const plan = planProgram(checkFilesOrThrow([file]));
  const stages = plan.stages.map((s): StageOutline => {
    const init = clauseOf(s, 'init')?.args;
    const from =
      typeof init === 'object' && init !== null && 'from' in init ? init.from : undefined;
    const initFrom =
      typeof from === 'object' && from !== null && 'ref' in from && typeof from.ref === 'string'
        ? from.ref
        : undefined;
    return {
      name: s.name,
      initFrom,
      hasCheckpoint: clauseOf(s, 'checkpoint') !== undefined,
      hasEvaluate: clauseOf(s, 'evaluate') !== undefined,
    };
  });
  return { file, stages };
}

export interface StageRun {
  /** e.g. `retinanet/seed-0/pretrain_box`, `retinanet/seed-0/10pct/aligndet`. */
  readonly id: string;
  readonly detector: DetectorId;
  readonly pipeline: string;
  readonly stage: string;
  readonly kind: 'pretrain' | 'finetune';
  readonly seed: number;
  readonly runDir: string;
  /** The `--set` values of this run. */
  readonly overrides: readonly string[];
  /** Ids of the runs that must be done before this one starts. */
  readonly after: readonly string[];
  readonly setting?: SettingId;
  readonly fraction?: number;
  /** A fine-tuning run starts from the complete checkpoint of this stage in this run directory. */
  readonly init?: { readonly runDir: string; readonly stage: string };
}

export interface Matrix {
  readonly budget: Budget;
  readonly outDir: string;
  readonly detectors: readonly {
    readonly detector: DetectorId;
    readonly outline: PipelineOutline;
    readonly settings: readonly SettingId[];
    /** Whether setting (c)'s box-domain stage starts from an image-domain stage. */
    readonly boxFromImage: boolean;
  }[];
  readonly runs: readonly StageRun[];
}

const isFinetune = (stage: string) => SETTINGS.some((s) => s.stage === stage);

/** The `--set` overrides of the budget for a pipeline (only for stages and clauses it has). */
export function budgetOverrides(outline: PipelineOutline, budget: Budget): string[] {
  const out = [...budget.declarations];
  for (const s of outline.stages) {
    if (isFinetune(s.name)) {
      out.push(`${s.name}.train.length=${budget.finetuneIterations}iters`);
      if (s.hasEvaluate) out.push(`${s.name}.evaluate.every=${budget.evaluateEvery}iters`);
    } else {
      out.push(`${s.name}.train.length=${budget.pretrainIterations}iters`);
      if (s.hasCheckpoint)
        out.push(
          `${s.name}.checkpoint.every=${Math.max(1, Math.floor(budget.pretrainIterations / 2))}iters`,
        );
    }
  }
  return out;
}

/** The pre-training stages a stage needs, in the order they must run (its `init` chain). */
function initChain(outline: PipelineOutline, stage: string): string[] {
  const byName = new Map(outline.stages.map((s) => [s.name, s]));
  const chain: string[] = [];
  for (let s = byName.get(stage)?.initFrom; s !== undefined; s = byName.get(s)?.initFrom) {
    if (chain.includes(s))
      throw new ReproduceError(`${outline.file}: stage ${s} inits from itself`);
    chain.unshift(s);
  }
  return chain;
}

export interface MatrixOptions {
  readonly root: string;
  readonly outDir: string;
  readonly budget: Budget;
  readonly detectors: readonly DetectorId[];
  readonly seeds?: readonly number[];
  readonly fractions?: readonly number[];
  /** Only these settings (default: every setting the pipeline has a stage for). */
  readonly settings?: readonly SettingId[];
}

export function buildMatrix(o: MatrixOptions): Matrix {
  const seeds = o.seeds ?? o.budget.seeds;
  const fractions = o.fractions ?? o.budget.fractions;
  const runs: StageRun[] = [];
  const detectors: Matrix['detectors'][number][] = [];
  for (const detector of o.detectors) {
    const file = reproducePipeline(o.root, detector);
    if (!existsSync(file))
      throw new ReproduceError(`no reproduction pipeline for ${detector}: ${file} does not exist`);
    const outline = outlinePipeline(file);
    const settings = SETTINGS.filter(
      (s) =>
        outline.stages.some((t) => t.name === s.stage) &&
        (o.settings === undefined || o.settings.includes(s.id)),
    );
    if (settings.length === 0)
      throw new ReproduceError(
        `${file} has none of the stages ${SETTINGS.map((s) => s.stage).join(', ')}`,
      );
    const overrides = budgetOverrides(outline, o.budget);
    const chains = new Map(settings.map((s) => [s.id, initChain(outline, s.stage)]));
    const pretrainStages = outline.stages
      .map((s) => s.name)
      .filter((name) => [...chains.values()].some((c) => c.includes(name)));
    detectors.push({
      detector,
      outline,
      settings: settings.map((s) => s.id),
      boxFromImage: (chains.get('aligndet') ?? []).length > 1,
    });
    for (const seed of seeds) {
      const seedDir = join(o.outDir, detector, `seed-${seed}`);
      const pretrainDir = join(seedDir, 'pretrain');
      const pretrainId = (stage: string) => `${detector}/seed-${seed}/${stage}`;
      pretrainStages.forEach((stage, i) => {
        const chain = initChain(outline, stage);
        runs.push({
          id: pretrainId(stage),
          detector,
          pipeline: file,
          stage,
          kind: 'pretrain',
          seed,
          runDir: pretrainDir,
          overrides,
          // One run directory: its stages run one after another (the log files are numbered).
          after: [...new Set([...chain, ...pretrainStages.slice(0, i)])].map(pretrainId),
        });
      });
      for (const fraction of fractions)
        for (const s of settings) {
          const chain = chains.get(s.id) ?? [];
          const from = chain.at(-1);
          runs.push({
            id: `${detector}/seed-${seed}/${fraction}pct/${s.id}`,
            detector,
            pipeline: file,
            stage: s.stage,
            kind: 'finetune',
            seed,
            runDir: join(seedDir, `labelled-${fraction}pct`, s.id),
            overrides: [...overrides, `labelled.fraction=${fraction}%`, `labelled.seed=${seed}`],
            after: chain.map(pretrainId),
            setting: s.id,
            fraction,
            ...(from === undefined ? {} : { init: { runDir: pretrainDir, stage: from } }),
          });
        }
    }
  }
  return { budget: o.budget, outDir: o.outDir, detectors, runs };
}
