// The human-readable form of a BboxEvalReport (runtime/eval, presentation): pycocotools' 12
// summary lines, then a per-category table and the VOC AP50. Used by `alignc eval`; any command
// that evaluates (fine-tuning, reproduce) can print the same text.

import type { BboxEvalReport } from './coco-eval.js';
import { formatCocoSummary, formatFixed3 } from './summarize.js';

function cellText(value: number): string {
  return value < 0 ? 'n/a' : formatFixed3(value);
}

export function formatPerCategory(report: BboxEvalReport): string {
  const nameWidth = Math.max(8, ...report.perCategory.map((c) => c.name.length));
  const idWidth = Math.max(2, ...report.perCategory.map((c) => String(c.categoryId).length));
  const header = `${'id'.padStart(idWidth)}  ${'category'.padEnd(nameWidth)}  ${[
    'AP',
    'AP50',
    'AP75',
    'VOC AP50',
  ]
    .map((h) => h.padStart(10))
    .join('')}`;
  const rows = report.perCategory.map(
    (c) =>
      `${String(c.categoryId).padStart(idWidth)}  ${c.name.padEnd(nameWidth)}  ${[
        c.ap,
        c.ap50,
        c.ap75,
        c.vocAp50,
      ]
        .map((v) => cellText(v).padStart(10))
        .join('')}`,
  );
  return [header, ...rows].join('\n');
}

export function formatReportText(report: BboxEvalReport): string {
  const hasAbsent = report.perCategory.some((c) => c.ap < 0);
  return [
    formatCocoSummary(report.stats),
    ...(report.stats.some((v) => v < 0)
      ? [
          '-1.000: nothing to measure (no ground truth in that area range), as pycocotools prints it.',
        ]
      : []),
    '',
    'per category (IoU .50:.95 / .50 / .75, area all, maxDets 100):',
    formatPerCategory(report),
    ...(hasAbsent ? ['n/a: the category has no ground truth; it is left out of every mean.'] : []),
    '',
    `VOC AP50 (VOC2010+ all-point interpolation, IoU >= 0.5): ${cellText(report.vocAp50)}`,
  ].join('\n');
}
