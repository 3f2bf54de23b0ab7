// `alignc eval`: scores a COCO results file (detections) against a COCO ground-truth file and
// prints pycocotools' 12 bbox numbers, per-category AP and VOC AP50, or the same as JSON. The
// evaluation itself is runtime/eval; this file reads the files and prints.

import { evaluateBboxJson, type BboxEvalReport } from '../../runtime/eval/coco-eval.js';
import { readJsonFile } from '../../runtime/eval/json-file.js';
import { formatReportText } from '../../runtime/eval/report-text.js';
import { UsageError } from '../../runtime/errors.js';
import type { Command, ParsedArgs } from '../command.js';

function requiredPath(args: ParsedArgs, name: string, what: string): string {
  const value = args.strings.get(name);
  if (value === undefined || value === '')
    throw new UsageError(`alignc eval needs --${name} ${what}`, {
      hint: 'usage: alignc eval --gt annotations.json --results detections.json [--json]',
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

export const evalCommand: Command = {
  name: 'eval',
  summary:
    'score COCO-format detections against COCO ground truth (pycocotools bbox mAP + VOC AP50)',
  usage: 'alignc eval --gt annotations.json --results detections.json [--json]',
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
    { name: 'json', kind: 'boolean', description: 'print the numbers as JSON' },
  ],
  async run(args) {
    if (args.positionals.length > 0)
      throw new UsageError(
        `alignc eval takes no positional arguments, got '${args.positionals[0]}'`,
        {
          hint:
            'evaluating a checkpoint (running inference first) is not available yet; write the ' +
            "model's detections as a COCO results file and pass it with --results",
        },
      );
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
      process.stdout.write(
        [
          `ground truth  ${gtPath}: ${c.images} images, ${c.categories} categories, ${c.groundTruth} boxes (${c.crowdGroundTruth} crowd)`,
          `results       ${resultsPath}: ${c.detections} detections`,
          '',
          formatReportText(report),
        ].join('\n') + '\n',
      );
    }
    return 0;
  },
};
