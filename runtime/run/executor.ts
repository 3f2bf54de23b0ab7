// The plan executor behind `alignc run`: takes a program plan (compiler/lower/plan.ts, overrides
// applied), reads every stage into a stage spec up front (so a block the runner cannot execute is
// reported, with its file:line:col, before any work), then runs the stages in order on the runtime
// — data and proposals, detectors, the box-domain or fine-tuning step in runtime/train's stage loop
// (checkpoints, NaN/Inf guard, progress, Ctrl-C) — with one JSONL run log for the whole run, and
// runs each `evaluate` clause (COCO mAP) on the stage's detector, printing the result on stdout.
// `stage` runs one stage (an `init` from an earlier stage reads that stage's checkpoint in the run
// directory); `resume` continues a run from its newest checkpoint, skipping finished stages.
// Flow: plan → **executor** → runtime/train loop + runtime/eval → run directory.

import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { ProgramPlan } from '../../compiler/lower/plan.js';
import { DataWarnings } from '../data/warnings.js';
import { formatPerCategory } from '../eval/report-text.js';
import type { BboxEvalReport } from '../eval/coco-eval.js';
import { evalNumbersOf, RUN_LOG_FILE } from '../io/run-log.js';
import { describeMachine, newRunId, sha256Hex } from '../io/run-log-writer.js';
import type { Backend } from '../tensor/backend.js';
import {
  CHECKPOINT_DIR,
  findResumeCheckpoint,
  loadCheckpoint,
  type LoadedCheckpoint,
} from '../train/checkpoint.js';
import { ProgressReporter, type ProgressSink } from '../train/progress.js';
import { openRunLog } from '../train/run-log-files.js';
import { runStage } from '../train/stage-loop.js';
import { StopSignal } from '../train/stop-signal.js';
import {
  datasetSourceOf,
  openDeclaredDataset,
  proposalSourceOf,
  viewPlanOf,
} from './build-data.js';
import { emaPlanOf, retinaNetPlanOf } from './build-detector.js';
import { RunPlanError } from './errors.js';
import { fcosPlanOf } from './fcos-detector.js';
import { encoderPlanOf } from './image-domain-encoder.js';
import { Declarations, stageRuntime, type StageRuntime } from './stage-runtime.js';
import { iterationsOf, lrScheduleOf, stageSpecOf, type StageSpec } from './stage-spec.js';

export interface RunOptions {
  readonly plan: ProgramPlan;
  readonly pipelineText: string;
  readonly runDir: string;
  readonly seed: number;
  /** Run only this stage. */
  readonly stage?: string;
  /** `--resume PATH`: a checkpoint, a run directory or its checkpoints folder. */
  readonly resume?: string;
  readonly command: readonly string[];
  readonly backend: Backend;
  readonly backendName: string;
  /** The GPU adapter the backend runs on (recorded in the run log's machine), if any. */
  readonly adapter?: string;
  /** Result lines (stdout). */
  readonly out: (line: string) => void;
  /** Progress and notes (stderr). */
  readonly progressSink?: ProgressSink;
  readonly progressIntervalSeconds?: number;
  readonly handleSignals?: boolean;
  readonly quiet?: boolean;
  readonly settings?: Readonly<Record<string, string | number | boolean>>;
}

export interface EvaluationResult {
  readonly stage: string;
  readonly step: number;
  readonly dataset: string;
  readonly report: BboxEvalReport;
}

export interface RunOutcome {
  readonly exitCode: 0 | 1 | 130;
  readonly error: unknown;
  readonly evaluations: readonly EvaluationResult[];
  readonly runDir: string;
}

/** Every stage of the plan as a spec; throws the first stage the runner cannot execute. */
export function stageSpecsOf(plan: ProgramPlan): StageSpec[] {
  const decls = new Declarations(plan.declarations);
  const emaNames = decls.emaNames();
  return plan.stages.map((s) => stageSpecOf(s, emaNames));
}

/**
 * Reads every declaration the given stages use (datasets, proposals, views, detectors), so a block
 * the runner cannot build is reported before any data is read or a run directory is made.
 */
export function checkStageDeclarations(plan: ProgramPlan, specs: readonly StageSpec[]): void {
  const decls = new Declarations(plan.declarations);
  for (const s of specs) {
    datasetSourceOf(decls.get(s.data.dataset, 'dataset', s.at));
    if (s.data.proposals !== undefined)
      proposalSourceOf(decls.get(s.data.proposals, 'proposals', s.at));
    switch (s.kind) {
      case 'box_domain':
        for (const v of s.views) viewPlanOf(decls.get(v, 'view', s.at));
        retinaNetPlanOf(decls.get(s.online, 'detector', s.at));
        emaPlanOf(decls.get(s.momentum, 'detector', s.at));
        break;
      case 'finetune':
        viewPlanOf(decls.get(s.view, 'view', s.at));
        retinaNetPlanOf(decls.get(s.detector, 'detector', s.at));
        if (s.evaluate !== undefined)
          datasetSourceOf(decls.get(s.evaluate.dataset, 'dataset', s.evaluate.at));
        break;
      case 'fcos_box_domain':
        for (const v of s.views) viewPlanOf(decls.get(v, 'view', s.at));
        fcosPlanOf(decls.get(s.online, 'detector', s.at));
        emaPlanOf(decls.get(s.momentum, 'detector', s.at));
        break;
      case 'fcos_finetune':
        viewPlanOf(decls.get(s.view, 'view', s.at));
        fcosPlanOf(decls.get(s.detector, 'detector', s.at));
        if (s.evaluate !== undefined)
          datasetSourceOf(decls.get(s.evaluate.dataset, 'dataset', s.evaluate.at));
        break;
      case 'image_domain':
        for (const v of s.views) viewPlanOf(decls.get(v, 'view', s.at), { boxes: false });
        encoderPlanOf(decls.get(s.online, 'detector', s.at));
        emaPlanOf(decls.get(s.target, 'detector', s.at));
        break;
      default:
        s satisfies never;
    }
  }
}

/** The run directory a `--resume PATH` refers to. */
export function runDirOfResume(path: string): string {
  const file = findResumeCheckpoint(path);
  return dirname(dirname(resolve(file)));
}

/** `runs/<pipeline name>`, or the first `runs/<name>-N` that holds no run yet. */
export function defaultRunDir(pipeline: string, root = 'runs'): string {
  const name = basename(pipeline).replace(/\.align$/, '');
  const first = join(root, name);
  if (!existsSync(join(first, RUN_LOG_FILE))) return first;
  for (let n = 2; ; n++) {
    const next = join(root, `${name}-${n}`);
    if (!existsSync(join(next, RUN_LOG_FILE))) return next;
  }
}

export async function runPipeline(o: RunOptions): Promise<RunOutcome> {
  const evaluations: EvaluationResult[] = [];
  const fail = (error: unknown): RunOutcome => ({
    exitCode: 1,
    error,
    evaluations,
    runDir: o.runDir,
  });
  let specs: StageSpec[];
  let resumeFrom: LoadedCheckpoint | undefined;
  try {
    specs = stageSpecsOf(o.plan);
    if (specs.length === 0) throw new RunPlanError(`${o.plan.file} has no stage to run`);
    if (o.stage !== undefined) {
      const only = specs.find((s) => s.name === o.stage);
      if (only === undefined)
        throw new RunPlanError(
          `the pipeline has no stage ${o.stage}`,
          undefined,
          `its stages: ${specs.map((s) => s.name).join(', ')}`,
        );
      specs = [only];
    }
    if (o.resume !== undefined) {
      resumeFrom = loadCheckpoint(findResumeCheckpoint(o.resume));
      const at = specs.findIndex((s) => s.name === resumeFrom!.meta.stage);
      if (at < 0)
        throw new RunPlanError(
          `cannot resume: the checkpoint ${resumeFrom.path} is of stage ${resumeFrom.meta.stage}, which this run does not include`,
        );
      specs = specs.slice(at);
    }
    checkStageDeclarations(o.plan, specs);
  } catch (error) {
    return fail(error);
  }
  const allStages = new Map(stageSpecsOf(o.plan).map((s) => [s.name, s]));
  const decls = new Declarations(o.plan.declarations);
  const started = new Date();
  const t0 = performance.now();
  const clock = () => (performance.now() - t0) / 1000;
  const sink = o.progressSink ?? process.stderr;
  const say = (line: string) => sink.write(line + '\n');
  const log = openRunLog(o.runDir, {
    runId: newRunId(started),
    name: basename(resolve(o.runDir)),
    pipeline: o.plan.file,
    pipelineSha256: sha256Hex(o.pipelineText),
    seed: o.seed,
    command: [...o.command],
    machine: describeMachine(o.adapter ?? null),
    startedAt: started.toISOString(),
    settings: {
      backend: o.backendName,
      stages: specs.map((s) => s.name).join(', '),
      ...(o.settings ?? {}),
      ...(resumeFrom === undefined ? {} : { resumedFrom: resumeFrom.path }),
    },
  });
  const stop = new StopSignal();
  if (o.handleSignals ?? true) stop.install(say);
  const progress = new ProgressReporter(sink, o.progressIntervalSeconds ?? 10);
  const warnings = new DataWarnings((line) => say(line));
  let runtime: StageRuntime | undefined;
  try {
    for (const spec of specs) {
      runtime = await stageRuntime(
        spec,
        decls,
        {
          runDir: o.runDir,
          seed: o.seed,
          backend: o.backend,
          warnings,
          say,
          ...(o.quiet === true ? { quiet: true } : {}),
        },
        allStages,
      );
      const totalSteps = iterationsOf(spec.length, runtime.batchesPerEpoch);
      const every =
        spec.checkpointEvery === undefined
          ? 0
          : iterationsOf(spec.checkpointEvery, runtime.batchesPerEpoch);
      const supervised =
        spec.kind === 'finetune' || spec.kind === 'fcos_finetune' ? spec : undefined;
      const evaluateEvery =
        supervised?.evaluate?.every !== undefined
          ? iterationsOf(supervised.evaluate.every, runtime.batchesPerEpoch)
          : 0;
      const rt = runtime;
      const evaluate = async (step: number) => {
        if (supervised?.evaluate === undefined || rt.finetune === undefined) return;
        const e = supervised.evaluate;
        if (e.detector !== supervised.detector)
          throw new RunPlanError(
            `evaluate ${e.detector}: the stage trains ${supervised.detector}; evaluate that`,
            e.at,
          );
        const dataset = await openDeclaredDataset(decls.get(e.dataset, 'dataset', e.at), warnings);
        say(
          `${spec.name}: evaluating ${e.detector} on ${e.dataset} (${dataset.samples.length} images)`,
        );
        const report = await rt.finetune.evaluate({
          dataset,
          seed: o.seed,
          maxDets: e.maxDets,
          backend: o.backend,
        });
        log.eval({
          stage: spec.name,
          step,
          wallSeconds: clock(),
          split: e.dataset,
          ...evalNumbersOf(report),
        });
        evaluations.push({ stage: spec.name, step, dataset: e.dataset, report });
        const s = report.byName;
        o.out(
          `${spec.name} step ${step}: COCO bbox mAP ${s.AP.toFixed(4)} (AP50 ${s.AP50.toFixed(4)}, AP75 ${s.AP75.toFixed(4)}) on ${e.dataset}, ${report.counts.images} images, ${report.counts.detections} detections`,
        );
        o.out(formatPerCategory(report));
      };
      say(
        `${spec.name}: ${supervised !== undefined ? 'fine-tuning' : spec.kind === 'image_domain' ? 'image-domain pre-training (BYOL)' : 'box-domain pre-training'}, ${totalSteps} steps of ${spec.data.batch} images`,
      );
      const from =
        resumeFrom !== undefined && resumeFrom.meta.stage === spec.name ? resumeFrom : undefined;
      let evaluatedAt = -1;
      const result = await runStage(runtime.step, runtime.loader, {
        runDir: o.runDir,
        stage: spec.name,
        totalSteps,
        checkpointEvery: every,
        ...(spec.keepCheckpoints === undefined ? {} : { keepCheckpoints: spec.keepCheckpoints }),
        seed: o.seed,
        lr: lrScheduleOf(spec.lr, totalSteps, runtime.batchesPerEpoch),
        log,
        progress,
        stop,
        clock,
        ...(from === undefined ? {} : { resumeFrom: from }),
        afterStep: async (step) => {
          if (evaluateEvery > 0 && step % evaluateEvery === 0 && step < totalSteps) {
            await evaluate(step);
            evaluatedAt = step;
          }
        },
      });
      progress.finish();
      await runtime.loader.close();
      runtime = undefined;
      if (result.status === 'interrupted') {
        log.end('interrupted', clock(), stop.reason ?? 'stopped');
        say(
          `${spec.name}: interrupted at step ${result.step}; checkpoint ${result.lastCheckpoint}`,
        );
        say(`resume with: alignc run ${o.plan.file} --resume ${join(o.runDir, CHECKPOINT_DIR)}`);
        return { exitCode: 130, error: undefined, evaluations, runDir: o.runDir };
      }
      say(`${spec.name}: done, ${result.step} steps; checkpoint ${result.lastCheckpoint}`);
      if (evaluatedAt !== result.step) await evaluate(result.step);
    }
    log.end('completed', clock());
    return { exitCode: 0, error: undefined, evaluations, runDir: o.runDir };
  } catch (error) {
    progress.finish();
    log.end('failed', clock(), error instanceof Error ? error.message : String(error));
    return fail(error);
  } finally {
    stop.uninstall();
    log.close();
    await runtime?.loader.close();
  }
}
