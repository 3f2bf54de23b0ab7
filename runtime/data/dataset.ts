// The in-memory form of a detection dataset, whatever its file format (VOC XML, COCO JSON, a plain
// image folder): a list of samples with 0-based boxes. Data side of the flow:
// files → Dataset → views → batches. Also the one place that decides whether an annotated box is
// usable, so every format skips and counts bad boxes the same way.

import { AlignError } from '../errors.js';
import type { DataWarnings } from './warnings.js';

/** A dataset that cannot be used at all (no images, unreadable index file, bad split name). */
export class DatasetError extends AlignError {
  readonly code = 'E_DATASET';
}

export interface Category {
  /** COCO category id (VOC datasets number their classes 1..K in the declared order). */
  readonly id: number;
  readonly name: string;
  readonly supercategory?: string;
}

/**
 * One image and its boxes. Boxes are `[x1, y1, x2, y2]` rows in 0-based pixel-edge coordinates:
 * the box covers columns x1 ≤ x < x2, so width = x2 - x1 (VOC's 1-based inclusive xmin..xmax becomes
 * x1 = xmin - 1, x2 = xmax; COCO's [x, y, w, h] becomes x1 = x, x2 = x + w).
 */
export interface Sample {
  /** Stable name used by split files and fractions, e.g. `BloodImage_00014`. */
  readonly key: string;
  /** COCO image id. */
  readonly imageId: number;
  readonly imagePath: string;
  readonly width: number;
  readonly height: number;
  /** N×4 boxes, row-major. */
  readonly boxes: Float64Array;
  /** N category ids (0 for an unlabelled box, e.g. a proposal). */
  readonly labels: Int32Array;
  /** N flags: 1 for a COCO crowd region (or a VOC `difficult` object, when kept). */
  readonly crowd: Uint8Array;
}

export interface Dataset {
  readonly name: string;
  /** False for an image folder: samples have no boxes until proposals are attached. */
  readonly labelled: boolean;
  readonly categories: readonly Category[];
  readonly samples: readonly Sample[];
}

/** A box as read from an annotation, before it is accepted; `where` names it in warnings. */
export interface RawBox {
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
  readonly where: string;
}

/**
 * Accepts a box into an image of the given size or skips it with a counted warning: non-finite or
 * zero/negative extent → `zero-area-box`; nothing left inside the image → `box-outside-image`; partly
 * outside → clipped to the image with `box-clipped`. Returns the box to keep, or undefined.
 */
export function acceptBox(
  box: RawBox,
  width: number,
  height: number,
  warnings: DataWarnings,
): [number, number, number, number] | undefined {
  const { x1, y1, x2, y2 } = box;
  const text = `[${x1}, ${y1}, ${x2}, ${y2}]`;
  if (![x1, y1, x2, y2].every(Number.isFinite) || !(x2 > x1) || !(y2 > y1)) {
    warnings.add('zero-area-box', box.where, `box ${text} (0-based x1,y1,x2,y2) has no area`);
    return undefined;
  }
  const cx1 = Math.max(0, x1);
  const cy1 = Math.max(0, y1);
  const cx2 = Math.min(width, x2);
  const cy2 = Math.min(height, y2);
  if (!(cx2 > cx1) || !(cy2 > cy1)) {
    warnings.add(
      'box-outside-image',
      box.where,
      `box ${text} is outside the ${width}×${height} image`,
    );
    return undefined;
  }
  if (cx1 !== x1 || cy1 !== y1 || cx2 !== x2 || cy2 !== y2) {
    warnings.add('box-clipped', box.where, `box ${text} extends past the ${width}×${height} image`);
  }
  return [cx1, cy1, cx2, cy2];
}

/** Packs accepted boxes into a sample's typed arrays. */
export function packBoxes(
  rows: readonly { box: readonly number[]; label: number; crowd: boolean }[],
): Pick<Sample, 'boxes' | 'labels' | 'crowd'> {
  const boxes = new Float64Array(rows.length * 4);
  const labels = new Int32Array(rows.length);
  const crowd = new Uint8Array(rows.length);
  rows.forEach((row, i) => {
    boxes.set(row.box.slice(0, 4), i * 4);
    labels[i] = row.label;
    crowd[i] = row.crowd ? 1 : 0;
  });
  return { boxes, labels, crowd };
}

/** The number in a file stem (`BloodImage_00014` → 14), used as the COCO image id. */
export function numberInName(stem: string): number | undefined {
  const digits = stem.match(/(\d+)(?!.*\d)/);
  if (digits === null) return undefined;
  const n = Number(digits[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Image ids for a list of stems: the number in each name when those are all present and distinct
 * (BCCD: `BloodImage_00014` → 14, as in the COCO goldens), otherwise the position in sorted order.
 */
export function imageIdsFor(stems: readonly string[]): number[] {
  const numbers = stems.map(numberInName);
  const distinct = new Set(numbers);
  if (numbers.every((n) => n !== undefined) && distinct.size === stems.length) {
    return numbers as number[];
  }
  const order = [...stems].sort();
  const position = new Map(order.map((stem, i) => [stem, i]));
  return stems.map((stem) => position.get(stem) ?? 0);
}

/** The same dataset restricted to the samples whose keys are listed, in the list's order. */
export function selectSamples(dataset: Dataset, keys: readonly string[]): Dataset {
  const byKey = new Map(dataset.samples.map((s) => [s.key, s]));
  const samples = keys.map((key) => {
    const sample = byKey.get(key);
    if (sample === undefined) {
      throw new DatasetError(`dataset ${dataset.name} has no image named ${key}`, {
        hint: 'check the split file against the images and annotations folders',
      });
    }
    return sample;
  });
  return { ...dataset, samples };
}
