// COCO JSON datasets, both ways. Data side of the flow: COCO JSON (ground truth, or cached proposals as
// a COCO file with one `selective_search` category) → Dataset → views → batches; and Dataset → COCO
// JSON for the evaluator (`runtime/eval`), which is how VOC datasets such as BCCD are evaluated.
// COCO boxes are [x, y, w, h] in continuous 0-based pixel coordinates: x1 = x, x2 = x + w.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readImageSize } from './image.js';
import {
  acceptBox,
  DatasetError,
  packBoxes,
  type Category,
  type Dataset,
  type Sample,
} from './dataset.js';
import { DataWarnings, readInOrder } from './warnings.js';

export interface CocoImage {
  readonly id: number;
  readonly file_name: string;
  readonly width: number;
  readonly height: number;
}

export interface CocoAnnotation {
  readonly id: number;
  readonly image_id: number;
  readonly category_id: number;
  readonly bbox: readonly [number, number, number, number];
  readonly area: number;
  readonly iscrowd: 0 | 1;
}

export interface CocoCategory {
  readonly id: number;
  readonly name: string;
  readonly supercategory?: string;
}

export interface CocoJson {
  readonly info?: { readonly description: string };
  readonly images: readonly CocoImage[];
  readonly annotations: readonly CocoAnnotation[];
  readonly categories: readonly CocoCategory[];
}

export interface CocoOptions {
  readonly annotationFile: string;
  /** Folder the `file_name`s are relative to. */
  readonly imagesDir: string;
  /** Read each image header to check it exists, decodes, and has the stated size. Default true. */
  readonly checkImages?: boolean;
  readonly warnings?: DataWarnings;
  readonly name?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function arrayField(json: Record<string, unknown>, field: string, file: string): unknown[] {
  const value = json[field];
  if (value === undefined && field === 'annotations') return [];
  if (!Array.isArray(value)) {
    throw new DatasetError(`${file}: "${field}" is missing or not a list`, {
      hint: 'a COCO file needs "images", "categories" and (for labelled data) "annotations" lists',
    });
  }
  return value;
}

const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/** Loads a COCO JSON file. A malformed entry skips its image with a counted warning. */
export async function loadCocoDataset(options: CocoOptions): Promise<Dataset> {
  const warnings = options.warnings ?? new DataWarnings();
  const file = options.annotationFile;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new DatasetError(`cannot read the COCO file ${file}: ${(error as Error).message}`, {
      hint: 'check that the path is right and that the file is complete JSON',
      cause: error,
    });
  }
  if (!isRecord(json)) throw new DatasetError(`${file}: the top level is not a JSON object`);

  const categories: Category[] = [];
  for (const [i, c] of arrayField(json, 'categories', file).entries()) {
    if (!isRecord(c) || !isId(c.id) || typeof c.name !== 'string') {
      throw new DatasetError(`${file}: categories[${i}] needs an integer "id" and a "name"`);
    }
    categories.push({
      id: c.id,
      name: c.name,
      ...(typeof c.supercategory === 'string' ? { supercategory: c.supercategory } : {}),
    });
  }
  const categoryIds = new Set(categories.map((c) => c.id));

  const images = new Map<number, { file: string; width: number; height: number; bad: boolean }>();
  for (const [i, image] of arrayField(json, 'images', file).entries()) {
    const where = `${file} images[${i}]`;
    if (!isRecord(image) || !isId(image.id) || typeof image.file_name !== 'string') {
      warnings.add('malformed-annotation', where, 'needs an integer "id" and a "file_name"');
      continue;
    }
    const width = typeof image.width === 'number' ? image.width : 0;
    const height = typeof image.height === 'number' ? image.height : 0;
    images.set(image.id, { file: image.file_name, width, height, bad: false });
  }

  const rowsOf = new Map<number, { box: number[]; label: number; crowd: boolean }[]>();
  const pending: {
    imageId: number;
    raw: number[];
    label: number;
    crowd: boolean;
    where: string;
  }[] = [];
  for (const [i, a] of arrayField(json, 'annotations', file).entries()) {
    const where = `${file} annotations[${i}]`;
    if (!isRecord(a) || !isId(a.image_id)) {
      warnings.add('malformed-annotation', where, 'needs an integer "image_id"');
      continue;
    }
    const image = images.get(a.image_id);
    if (image === undefined) {
      warnings.add('malformed-annotation', where, `image_id ${a.image_id} is not in "images"`);
      continue;
    }
    const bbox = a.bbox;
    if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every((v) => typeof v === 'number')) {
      warnings.add(
        'malformed-annotation',
        where,
        `bbox ${JSON.stringify(bbox)} is not [x, y, w, h]`,
      );
      image.bad = true;
      continue;
    }
    const label = isId(a.category_id) ? a.category_id : Number.NaN;
    if (!categoryIds.has(label)) {
      warnings.add(
        'unknown-category',
        where,
        `category_id ${String(a.category_id)} is not declared`,
      );
      continue;
    }
    pending.push({
      imageId: a.image_id,
      raw: bbox as number[],
      label,
      crowd: a.iscrowd === 1,
      where,
    });
  }

  const checked = new Map<number, { path: string; width: number; height: number }>();
  const entries = [...images.entries()].filter(([, image]) => !image.bad);
  await readInOrder(entries, warnings, async ([id, image], recorder) => {
    const path = join(options.imagesDir, image.file);
    if (options.checkImages === false) {
      checked.set(id, { path, width: image.width, height: image.height });
      return;
    }
    try {
      const size = await readImageSize(path);
      if (image.width !== size.width || image.height !== size.height) {
        recorder.add(
          'size-mismatch',
          `${file} image ${id}`,
          `the JSON says ${image.width}×${image.height}, ${path} is ${size.width}×${size.height}`,
        );
      }
      checked.set(id, { path, ...size });
    } catch (error) {
      recorder.add('corrupt-image', path, (error as Error).message);
    }
  });

  for (const p of pending) {
    const image = checked.get(p.imageId);
    if (image === undefined) continue;
    const [x, y, w, h] = p.raw;
    const box = acceptBox(
      { x1: x, y1: y, x2: x + w, y2: y + h, where: p.where },
      image.width,
      image.height,
      warnings,
    );
    if (box === undefined) continue;
    const rows = rowsOf.get(p.imageId) ?? [];
    rows.push({ box, label: p.label, crowd: p.crowd });
    rowsOf.set(p.imageId, rows);
  }

  const samples: Sample[] = [];
  for (const [id, image] of images) {
    const found = checked.get(id);
    if (found === undefined) continue;
    samples.push({
      key: image.file.replace(/\.[^./]+$/, ''),
      imageId: id,
      imagePath: found.path,
      width: found.width,
      height: found.height,
      ...packBoxes(rowsOf.get(id) ?? []),
    });
  }
  return { name: options.name ?? file, labelled: true, categories, samples };
}

/**
 * The dataset as COCO ground truth: images in sample order, annotation ids 1..N in sample-then-box
 * order (0 would read as "unmatched" in COCOeval), bbox = [x1, y1, x2 - x1, y2 - y1], area = w·h.
 */
export function toCocoJson(dataset: Dataset, description?: string): CocoJson {
  const images: CocoImage[] = [];
  const annotations: CocoAnnotation[] = [];
  for (const s of dataset.samples) {
    const slash = Math.max(s.imagePath.lastIndexOf('/'), s.imagePath.lastIndexOf('\\'));
    images.push({
      id: s.imageId,
      file_name: s.imagePath.slice(slash + 1),
      width: s.width,
      height: s.height,
    });
    for (let i = 0; i < s.labels.length; i++) {
      const [x1, y1, x2, y2] = s.boxes.subarray(i * 4, i * 4 + 4);
      const w = x2 - x1;
      const h = y2 - y1;
      annotations.push({
        id: annotations.length + 1,
        image_id: s.imageId,
        category_id: s.labels[i],
        bbox: [x1, y1, w, h],
        area: w * h,
        iscrowd: s.crowd[i] === 1 ? 1 : 0,
      });
    }
  }
  return {
    ...(description === undefined ? {} : { info: { description } }),
    images,
    annotations,
    categories: dataset.categories.map((c) => ({ ...c })),
  };
}
