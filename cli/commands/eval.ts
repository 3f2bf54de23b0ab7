// `alignc eval`: scores a COCO results file (detections) against a COCO ground-truth file and
// prints pycocotools' 12 bbox numbers, per-category AP and VOC AP50, or the same as JSON; or, given
// a run directory or checkpoint, runs the fine-tuned detector on `--data` first (inference as the
// stage's `evaluate` clause does it, runtime/run/evaluate-checkpoint.ts) and scores that. The
// evaluation itself is runtime/eval; this file reads the arguments and prints.

import { evaluateBboxJson, type BboxEvalReport } from '../../runtime/eval/coco-eval.js';
import { readJsonFile } from '../../runtime/eval/json-file.js';
import { formatReportText } from '../../runtime/eval/report-text.js';
import { UsageError } from '../../runtime/errors.js';
import {
  evaluateCheckpointDetector,
  evaluationDataset,
  loadCheckpointDetector,
} from '../../runtime/run/evaluate-checkpoint.js';
import { cpuReferenceBackend } from '../../runtime/tensor/backend.js';
import type { Command, ParsedArgs } from '../command.js';

function requiredPath(args: ParsedArgs, name: string, what: string): string {
  const value = args.strings.get(name);
  if (value === undefined || value === '')
    throw new UsageError(`alignc eval needs --${name} ${what}`, {
      hint: `usage: ${USAGE}`,
    });
  return value;
}

/** What `--json` prints: the report plus the two input paths. */
export function evalJson(
  report: BboxEvalReport,
  groundTruth: string,
  results: string,
): Record<string, unknown> {
  return {
    groundTruth,
    results,
    stats: report.byName,
    statsList: report.stats,
    perCategory: report.perCategory,
    vocAp50: report.vocAp50,
    counts: report.counts,
  };
}

const USAGE =
  'alignc eval --gt annotations.json --results detections.json [--json]\n' +
  '       alignc eval RUN_DIR|CHECKPOINT [--data NAME] [--json]';

function printReport(report: BboxEvalReport, header: readonly string[]): void {
  process.stdout.write([...header, '', formatReportText(report)].join('\n') + '\n');
}

/** `alignc eval RUN_DIR|CHECKPOINT`: inference on `--data`, then COCO scoring. */
async function evalCheckpoint(args: ParsedArgs, path: string): Promise<number> {
  for (const name of ['gt', 'results'])
    if (args.strings.has(name))
      throw new UsageError(`--${name} scores a results file; it cannot be used with ${path}`, {
        hint: `usage: ${USAGE}`,
      });
  const detector = await loadCheckpointDetector(path);
  if (detector.pipelineChanged)
    process.stderr.write(
      `warning: ${detector.pipeline} changed since the run was made; the detector and view are read from its current text\n`,
    );
  const dataset = await evaluationDataset(detector, args.strings.get('data'), undefined);
  process.stderr.write(
    `evaluating ${detector.checkpoint} (stage ${detector.stage.name}, step ${detector.step}) on ${dataset.name}, ${dataset.samples.length} images\n`,
  );
  const report = await evaluateCheckpointDetector(detector, dataset, cpuReferenceBackend());
  if (args.booleans.has('json')) {
    process.stdout.write(
      JSON.stringify(
        {
          checkpoint: detector.checkpoint,
          stage: detector.stage.name,
          step: detector.step,
          data: dataset.name,
          ...evalJson(report, dataset.name, detector.checkpoint),
        },
        null,
        2,
      ) + '\n',
    );
  } else {
    const c = report.counts;
    printReport(report, [
      `checkpoint    ${detector.checkpoint}: stage ${detector.stage.name}, step ${detector.step}, detector ${detector.plan.name}`,
      `data          ${dataset.name}: ${c.images} images, ${c.categories} categories, ${c.groundTruth} boxes (${c.crowdGroundTruth} crowd)`,
      `detections    ${c.detections}`,
    ]);
  }
  return 0;
}

export const evalCommand: Command = {
  name: 'eval',
  summary:
    'evaluate a checkpoint, or score COCO detections against ground truth (bbox mAP + VOC AP50)',
  usage: USAGE,
  options: [
    {
      name: 'gt',
      kind: 'string',
      placeholder: 'FILE',
      description: 'COCO ground truth (images, annotations, categories)',
    },
    {
      name: 'results',
      kind: 'string',
      placeholder: 'FILE',
      description: 'COCO results: a list of {image_id, category_id, bbox, score}',
    },
    {
      name: 'data',
      kind: 'string',
      placeholder: 'NAME',
      description:
        "with RUN_DIR|CHECKPOINT: a dataset of the run's pipeline or a BCCD split (bccd:val); default the stage's evaluate data",
    },
    { name: 'json', kind: 'boolean', description: 'print the numbers as JSON' },
  ],
  async run(args) {
    if (args.positionals.length > 1)
      throw new UsageError(
        `alignc eval takes one run directory or checkpoint, got ${args.positionals.length}`,
        { hint: `usage: ${USAGE}` },
      );
    if (args.positionals.length === 1) return evalCheckpoint(args, args.positionals[0]);
    if (args.strings.has('data'))
      throw new UsageError('--data needs a run directory or checkpoint to evaluate', {
        hint: `usage: ${USAGE}`,
      });
    const gtPath = requiredPath(args, 'gt', 'FILE (the COCO ground truth)');
    const resultsPath = requiredPath(args, 'results', 'FILE (the COCO results list)');
    const groundTruth = readJsonFile(gtPath, 'ground truth');
    const results = readJsonFile(resultsPath, 'results');
    const report = evaluateBboxJson(groundTruth, results, {
      groundTruth: gtPath,
      results: resultsPath,
    });
    if (args.booleans.has('json')) {
      process.stdout.write(JSON.stringify(evalJson(report, gtPath, resultsPath), null, 2) + '\n');
    } else {
      const c = report.counts;
      printReport(report, [
        `ground truth  ${gtPath}: ${c.images} images, ${c.categories} categories, ${c.groundTruth} boxes (${c.crowdGroundTruth} crowd)`,
        `results       ${resultsPath}: ${c.detections} detections`,
      ]);
    }
    return 0;
  },
};
