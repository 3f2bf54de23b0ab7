// Checks a parsed COCO ground truth and a parsed COCO results list (runtime/eval, before any
// matching) and turns them into the normalised EvalInput the evaluator consumes. Every rejection
// names the file and the entry. Where pycocotools silently drops data (annotations of images or
// categories the file does not list, results of unknown categories) we refuse instead, because a
// silently shrunk evaluation is the worse outcome; see docs/evaluation.md.

import type {
  BboxXywh,
  CocoGroundTruthJson,
  CocoResultJson,
  EvalCategory,
  EvalCell,
  EvalDetection,
  EvalGroundTruthBox,
  EvalInput,
} from './coco-format.js';
import { EvalGroundTruthError, EvalResultsError } from './errors.js';

/** A checked ground truth: images and categories sorted by id, boxes grouped per cell. */
export interface CheckedGroundTruth {
  readonly source: string;
  readonly imageIds: readonly number[];
  readonly categories: readonly EvalCategory[];
  readonly imageIndex: ReadonlyMap<number, number>;
  readonly categoryIndex: ReadonlyMap<number, number>;
  /** Ground-truth boxes per cell, `imageIndex * categories.length + categoryIndex`. */
  readonly gtCells: readonly (readonly EvalGroundTruthBox[] | undefined)[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The bbox as `[x, y, w, h]` if it is one (4 finite numbers, w and h not negative), else a reason. */
function checkBbox(value: unknown): BboxXywh | string {
  if (!Array.isArray(value) || value.length !== 4)
    return `bbox must be [x, y, width, height] (4 numbers), got ${show(value)}`;
  for (const v of value)
    if (typeof v !== 'number' || !Number.isFinite(v))
      return `bbox must hold 4 finite numbers, got ${show(value)}`;
  const [x, y, w, h] = value as number[];
  if (w < 0 || h < 0)
    return `bbox width and height must not be negative, got ${show(value)} (COCO boxes are [x, y, width, height], not [x1, y1, x2, y2])`;
  return [x, y, w, h];
}

function isId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

/** Checks `json` as a COCO ground truth; `source` (a path, usually) prefixes every message. */
export function checkGroundTruth(json: unknown, source = 'ground truth'): CheckedGroundTruth {
  const fail = (message: string, hint?: string): never => {
    throw new EvalGroundTruthError(`${source}: ${message}`, { hint });
  };
  if (!isRecord(json))
    fail(`a COCO ground truth must be a JSON object with images, annotations and categories`);
  const gt = json as Record<string, unknown>;
  for (const key of ['images', 'annotations', 'categories'] as const)
    if (!Array.isArray(gt[key]))
      fail(
        `'${key}' must be a list, got ${show(gt[key])}`,
        'is this a COCO results file? pass it with --results, and the annotations with --gt',
      );
  const { images, annotations, categories } = gt as unknown as CocoGroundTruthJson;

  const imageSeen = new Map<number, number>();
  images.forEach((image: unknown, i) => {
    const id = isRecord(image) ? image.id : undefined;
    if (!isId(id)) fail(`images[${i}]: 'id' must be an integer, got ${show(image)}`);
    const before = imageSeen.get(id as number);
    if (before !== undefined)
      fail(`images[${i}]: duplicate image id ${id} (also images[${before}])`);
    imageSeen.set(id as number, i);
  });
  const categorySeen = new Map<number, number>();
  const categoryList: EvalCategory[] = [];
  categories.forEach((category: unknown, i) => {
    const id = isRecord(category) ? category.id : undefined;
    if (!isId(id)) fail(`categories[${i}]: 'id' must be an integer, got ${show(category)}`);
    const before = categorySeen.get(id as number);
    if (before !== undefined)
      fail(`categories[${i}]: duplicate category id ${id} (also categories[${before}])`);
    categorySeen.set(id as number, i);
    const name = (category as Record<string, unknown>).name;
    categoryList.push({
      id: id as number,
      name: typeof name === 'string' ? name : `category ${id}`,
    });
  });

  const imageIds = [...imageSeen.keys()].sort((a, b) => a - b);
  categoryList.sort((a, b) => a.id - b.id);
  const imageIndex = new Map(imageIds.map((id, i) => [id, i]));
  const categoryIndex = new Map(categoryList.map((c, k) => [c.id, k]));
  const K = categoryList.length;
  const gtCells: EvalGroundTruthBox[][] = [];
  const annotationSeen = new Map<number, number>();

  annotations.forEach((annotation: unknown, i) => {
    const where = `annotations[${i}]`;
    if (!isRecord(annotation)) fail(`${where}: must be an object, got ${show(annotation)}`);
    const a = annotation as Record<string, unknown>;
    if (!isId(a.id)) fail(`${where}: 'id' must be an integer, got ${show(a.id)}`);
    const before = annotationSeen.get(a.id as number);
    if (before !== undefined)
      fail(`${where}: duplicate annotation id ${a.id} (also annotations[${before}])`);
    annotationSeen.set(a.id as number, i);
    const im = imageIndex.get(a.image_id as number);
    if (im === undefined)
      fail(`${where} (id ${a.id}): image_id ${show(a.image_id)} is not in 'images'`);
    const k = categoryIndex.get(a.category_id as number);
    if (k === undefined)
      fail(
        `${where} (id ${a.id}): category_id ${show(a.category_id)} is not in 'categories'`,
        `categories: ${categoryList.map((c) => `${c.id} ${c.name}`).join(', ')}`,
      );
    const bbox = checkBbox(a.bbox);
    if (typeof bbox === 'string') fail(`${where} (id ${a.id}): ${bbox}`);
    const box = bbox as BboxXywh;
    let area = box[2] * box[3];
    if (a.area !== undefined) {
      if (typeof a.area !== 'number' || !Number.isFinite(a.area) || a.area < 0)
        fail(`${where} (id ${a.id}): 'area' must be a non-negative number, got ${show(a.area)}`);
      area = a.area as number;
    }
    const crowd = a.iscrowd;
    if (crowd !== undefined && crowd !== 0 && crowd !== 1 && typeof crowd !== 'boolean')
      fail(`${where} (id ${a.id}): 'iscrowd' must be 0 or 1, got ${show(crowd)}`);
    const cell = (im as number) * K + (k as number);
    (gtCells[cell] ??= []).push({ bbox: box, area, crowd: crowd === 1 || crowd === true });
  });

  return {
    source,
    imageIds,
    categories: categoryList,
    imageIndex,
    categoryIndex,
    gtCells,
  };
}

/** Checks `json` as a COCO results list against a checked ground truth and pairs them up. */
export function checkResults(json: unknown, gt: CheckedGroundTruth, source = 'results'): EvalInput {
  const fail = (message: string, hint?: string): never => {
    throw new EvalResultsError(`${source}: ${message}`, { hint });
  };
  if (!Array.isArray(json))
    fail(
      `a COCO results file must be a JSON list of {image_id, category_id, bbox, score}, got ${isRecord(json) ? `an object with keys ${Object.keys(json).join(', ')}` : show(json)}`,
      isRecord(json) && 'annotations' in json
        ? 'this looks like a ground-truth file; pass it with --gt'
        : undefined,
    );
  const K = gt.categories.length;
  const dtCells: EvalDetection[][] = [];
  (json as unknown[]).forEach((entry: unknown, i) => {
    if (!isRecord(entry)) fail(`results[${i}]: must be an object, got ${show(entry)}`);
    const r = entry as Partial<Record<keyof CocoResultJson, unknown>>;
    const where = `results[${i}] (image_id ${show(r.image_id)}, category_id ${show(r.category_id)})`;
    const im = gt.imageIndex.get(r.image_id as number);
    if (im === undefined)
      fail(
        `${where}: image_id ${show(r.image_id)} is not an image of ${gt.source}`,
        `the ground truth has ${gt.imageIds.length} image${gt.imageIds.length === 1 ? '' : 's'}` +
          (gt.imageIds.length > 0
            ? ` with ids ${gt.imageIds[0]}..${gt.imageIds[gt.imageIds.length - 1]}`
            : '') +
          '; were the detections made on another split?',
      );
    const k = gt.categoryIndex.get(r.category_id as number);
    if (k === undefined)
      fail(
        `${where}: category_id ${show(r.category_id)} is not a category of ${gt.source}`,
        `categories: ${gt.categories.map((c) => `${c.id} ${c.name}`).join(', ')}`,
      );
    const bbox = checkBbox(r.bbox);
    if (typeof bbox === 'string') fail(`${where}: ${bbox}`);
    if (typeof r.score !== 'number' || !Number.isFinite(r.score))
      fail(`${where}: 'score' must be a finite number, got ${show(r.score)}`);
    const box = bbox as BboxXywh;
    const cell = (im as number) * K + (k as number);
    (dtCells[cell] ??= []).push({ bbox: box, area: box[2] * box[3], score: r.score as number });
  });

  const empty: EvalCell = { gt: [], dt: [] };
  return {
    imageIds: gt.imageIds,
    categories: gt.categories,
    cell(imageIndex: number, categoryIndex: number): EvalCell {
      const i = imageIndex * K + categoryIndex;
      const g = gt.gtCells[i];
      const d = dtCells[i];
      return g === undefined && d === undefined ? empty : { gt: g ?? [], dt: d ?? [] };
    },
  };
}
