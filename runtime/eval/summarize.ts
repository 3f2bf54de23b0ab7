// The summary numbers of COCO bbox evaluation (runtime/eval, last step): pycocotools'
// `summarize()` (the 12 stats) and per-category AP, AP50, AP75 read from the accumulated tables,
// plus the text layout `summarize()` prints.

import { precisionIndex, recallIndex, type AccumulatedTables } from './accumulate.js';
import { meanOfValid } from './numpy-mean.js';
import {
  AREA_RANGES,
  IOU_THRESHOLDS,
  MAX_DETECTIONS,
  iouThresholdIndex,
  type AreaRangeName,
} from './params.js';

export const COCO_STAT_NAMES = [
  'AP',
  'AP50',
  'AP75',
  'APs',
  'APm',
  'APl',
  'AR1',
  'AR10',
  'AR100',
  'ARs',
  'ARm',
  'ARl',
] as const;
export type CocoStatName = (typeof COCO_STAT_NAMES)[number];

interface StatSpec {
  readonly kind: 'precision' | 'recall';
  readonly iou: number | undefined;
  readonly area: AreaRangeName;
  readonly maxDets: (typeof MAX_DETECTIONS)[number];
}

/** What each of the 12 stats averages, in pycocotools' `_summarizeDets` order. */
export const COCO_STAT_SPECS: Readonly<Record<CocoStatName, StatSpec>> = {
  AP: { kind: 'precision', iou: undefined, area: 'all', maxDets: 100 },
  AP50: { kind: 'precision', iou: 0.5, area: 'all', maxDets: 100 },
  AP75: { kind: 'precision', iou: 0.75, area: 'all', maxDets: 100 },
  APs: { kind: 'precision', iou: undefined, area: 'small', maxDets: 100 },
  APm: { kind: 'precision', iou: undefined, area: 'medium', maxDets: 100 },
  APl: { kind: 'precision', iou: undefined, area: 'large', maxDets: 100 },
  AR1: { kind: 'recall', iou: undefined, area: 'all', maxDets: 1 },
  AR10: { kind: 'recall', iou: undefined, area: 'all', maxDets: 10 },
  AR100: { kind: 'recall', iou: undefined, area: 'all', maxDets: 100 },
  ARs: { kind: 'recall', iou: undefined, area: 'small', maxDets: 100 },
  ARm: { kind: 'recall', iou: undefined, area: 'medium', maxDets: 100 },
  ARl: { kind: 'recall', iou: undefined, area: 'large', maxDets: 100 },
};

/** The entries a summary number averages, in numpy's C order, `categories` restricting k. */
function selectEntries(
  tables: AccumulatedTables,
  spec: StatSpec,
  categories: readonly number[],
): number[] {
  const { shape } = tables;
  const a = AREA_RANGES.findIndex((r) => r.name === spec.area);
  const m = MAX_DETECTIONS.indexOf(spec.maxDets);
  const thresholds =
    spec.iou === undefined
      ? Array.from({ length: shape.T }, (_, t) => t)
      : [iouThresholdIndex(spec.iou)];
  const out: number[] = [];
  for (const t of thresholds) {
    switch (spec.kind) {
      case 'precision':
        for (let r = 0; r < shape.R; r++)
          for (const k of categories)
            out.push(tables.precision[precisionIndex(shape, t, r, k, a, m)]);
        break;
      case 'recall':
        for (const k of categories) out.push(tables.recall[recallIndex(shape, t, k, a, m)]);
        break;
      default:
        throw new Error(`unhandled stat kind ${spec.kind satisfies never}`);
    }
  }
  return out;
}

/** The 12 numbers of `COCOeval.stats`, -1 where nothing could be measured. */
export function cocoStats(tables: AccumulatedTables): number[] {
  const all = Array.from({ length: tables.shape.K }, (_, k) => k);
  return COCO_STAT_NAMES.map((name) =>
    meanOfValid(selectEntries(tables, COCO_STAT_SPECS[name], all)),
  );
}

export interface CategoryAp {
  /** AP@[.50:.95], AP@.50, AP@.75 of one category (area all, maxDets 100); -1 without GT. */
  readonly ap: number;
  readonly ap50: number;
  readonly ap75: number;
}

export function categoryAp(tables: AccumulatedTables, k: number): CategoryAp {
  const at = (name: CocoStatName): number =>
    meanOfValid(selectEntries(tables, COCO_STAT_SPECS[name], [k]));
  return { ap: at('AP'), ap50: at('AP50'), ap75: at('AP75') };
}

/** Python's `'{:0.3f}'.format(x)`: toFixed(3) rounds exact halves up, Python to even. A float is
 * exactly halfway between two 3-decimal numbers only when it is an odd multiple of 1/16. */
export function formatFixed3(x: number): string {
  const sixteenths = x * 16;
  if (Number.isInteger(sixteenths) && sixteenths % 2 !== 0) {
    const below = Math.floor(x * 1000);
    return ((below % 2 === 0 ? below : below + 1) / 1000).toFixed(3);
  }
  return x.toFixed(3);
}

/** The 12 lines pycocotools' `summarize()` prints, given the stats in `COCO_STAT_NAMES` order. */
export function formatCocoSummary(stats: readonly number[]): string {
  const first = IOU_THRESHOLDS[0].toFixed(2);
  const last = IOU_THRESHOLDS[IOU_THRESHOLDS.length - 1].toFixed(2);
  return COCO_STAT_NAMES.map((name, i) => {
    const spec = COCO_STAT_SPECS[name];
    const title = spec.kind === 'precision' ? 'Average Precision' : 'Average Recall';
    const type = spec.kind === 'precision' ? '(AP)' : '(AR)';
    const iou = spec.iou === undefined ? `${first}:${last}` : spec.iou.toFixed(2);
    return (
      ` ${title.padEnd(18)} ${type} @[ IoU=${iou.padEnd(9)} | area=${spec.area.padStart(6)}` +
      ` | maxDets=${String(spec.maxDets).padStart(3)} ] = ${formatFixed3(stats[i])}`
    );
  }).join('\n');
}
