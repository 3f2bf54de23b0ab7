// Pascal VOC datasets: one XML annotation per image, 1-based inclusive pixel boxes. Data side of the
// flow: VOC folder → Dataset (0-based boxes) → views → batches. Reads both the standard VOC layout
// (Annotations/, JPEGImages/, ImageSets/Main/) and the shipped BCCD layout (annotations/, images/,
// splits/). A bad file is skipped with a counted warning (see warnings.ts), never a crash.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readImageSize } from './image.js';
import {
  acceptBox,
  DatasetError,
  imageIdsFor,
  packBoxes,
  type Category,
  type Dataset,
  type Sample,
} from './dataset.js';
import { childElement, childElements, parseXml, XmlSyntaxError, type XmlElement } from './xml.js';
import { existingPath, listFiles, readSplitFile } from './files.js';
import { DataWarnings, readInOrder, type WarningRecorder } from './warnings.js';

/** A VOC annotation file as written: 1-based inclusive coordinates, as integers or decimals. */
export interface VocAnnotation {
  readonly filename: string | undefined;
  readonly width: number | undefined;
  readonly height: number | undefined;
  readonly objects: readonly VocObject[];
}

export interface VocObject {
  readonly name: string;
  readonly difficult: boolean;
  readonly xmin: number;
  readonly ymin: number;
  readonly xmax: number;
  readonly ymax: number;
}

/** A VOC file that parses as XML but is not a usable annotation (missing or non-numeric fields). */
export class VocFormatError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'VocFormatError';
  }
}

function numberIn(element: XmlElement, name: string, required: true): number;
function numberIn(element: XmlElement, name: string, required: false): number | undefined;
function numberIn(element: XmlElement, name: string, required: boolean): number | undefined {
  const child = childElement(element, name);
  if (child === undefined) {
    if (required)
      throw new VocFormatError(`<${element.name}> line ${element.line} has no <${name}>`);
    return undefined;
  }
  const text = child.text.trim();
  const value = Number(text);
  if (text === '' || !Number.isFinite(value)) {
    throw new VocFormatError(`<${name}> on line ${child.line} is "${text}", not a number`);
  }
  return value;
}

/** Parses the text of one VOC XML file; throws XmlSyntaxError or VocFormatError. */
export function parseVocAnnotation(text: string): VocAnnotation {
  const root = parseXml(text);
  if (root.name !== 'annotation') {
    throw new VocFormatError(`the root element is <${root.name}>, not <annotation>`);
  }
  const size = childElement(root, 'size');
  const objects = childElements(root, 'object').map((object): VocObject => {
    const name = childElement(object, 'name')?.text.trim();
    if (name === undefined || name === '') {
      throw new VocFormatError(`<object> on line ${object.line} has no <name>`);
    }
    const box = childElement(object, 'bndbox');
    if (box === undefined)
      throw new VocFormatError(`<object> on line ${object.line} has no <bndbox>`);
    return {
      name,
      difficult: numberIn(object, 'difficult', false) === 1,
      xmin: numberIn(box, 'xmin', true),
      ymin: numberIn(box, 'ymin', true),
      xmax: numberIn(box, 'xmax', true),
      ymax: numberIn(box, 'ymax', true),
    };
  });
  return {
    filename: childElement(root, 'filename')?.text.trim(),
    width: size === undefined ? undefined : numberIn(size, 'width', false),
    height: size === undefined ? undefined : numberIn(size, 'height', false),
    objects,
  };
}

export interface VocOptions {
  /** Dataset folder (VOC layout or the BCCD layout). */
  readonly root: string;
  /** A split name (`train`, `val`, `trainval`, `test`) read from the splits folder; all files when absent. */
  readonly split?: string;
  /** Class names in id order (ids 1..K). Default: every name found, sorted. */
  readonly categories?: readonly string[];
  readonly supercategory?: string;
  /** Keep objects marked `difficult` (flagged as crowd, so an evaluator ignores them). Default true. */
  readonly keepDifficult?: boolean;
  readonly warnings?: DataWarnings;
  /** Name used in messages; default: the root folder. */
  readonly name?: string;
}

interface VocLayout {
  readonly annotations: string;
  readonly images: string;
  readonly splits: string;
}

async function detectLayout(root: string): Promise<VocLayout> {
  const voc = await existingPath(join(root, 'Annotations'));
  if (voc !== undefined) {
    return {
      annotations: voc,
      images: join(root, 'JPEGImages'),
      splits: join(root, 'ImageSets', 'Main'),
    };
  }
  const bccd = await existingPath(join(root, 'annotations'));
  if (bccd !== undefined) {
    return { annotations: bccd, images: join(root, 'images'), splits: join(root, 'splits') };
  }
  throw new DatasetError(
    `${root} is not a VOC dataset: it has no Annotations/ or annotations/ folder`,
    {
      hint: 'point the dataset at the folder that holds the annotation and image folders',
    },
  );
}

interface ReadAnnotation {
  readonly stem: string;
  readonly file: string;
  readonly annotation: VocAnnotation;
  readonly imagePath: string;
  readonly width: number;
  readonly height: number;
}

async function readOne(
  layout: VocLayout,
  stem: string,
  warnings: WarningRecorder,
): Promise<ReadAnnotation | undefined> {
  const file = join(layout.annotations, `${stem}.xml`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    warnings.add('missing-annotation', file, 'the annotation file cannot be read');
    return undefined;
  }
  let annotation: VocAnnotation;
  try {
    annotation = parseVocAnnotation(text);
  } catch (error) {
    if (error instanceof XmlSyntaxError) {
      warnings.add('malformed-annotation', `${file}:${error.line}:${error.column}`, error.reason);
      return undefined;
    }
    if (error instanceof VocFormatError) {
      warnings.add('malformed-annotation', file, error.reason);
      return undefined;
    }
    throw error;
  }
  let imagePath: string | undefined;
  for (const extension of ['.jpg', '.jpeg', '.png', '.JPG', '.PNG']) {
    imagePath = await existingPath(join(layout.images, stem + extension));
    if (imagePath !== undefined) break;
  }
  if (imagePath === undefined) {
    warnings.add('missing-image', file, `no image ${stem}.jpg/.png in ${layout.images}`);
    return undefined;
  }
  let size: { width: number; height: number };
  try {
    size = await readImageSize(imagePath);
  } catch (error) {
    warnings.add(
      'corrupt-image',
      imagePath,
      error instanceof Error ? error.message : String(error),
    );
    return undefined;
  }
  if (
    annotation.width !== undefined &&
    annotation.height !== undefined &&
    (annotation.width !== size.width || annotation.height !== size.height)
  ) {
    warnings.add(
      'size-mismatch',
      file,
      `<size> says ${annotation.width}×${annotation.height}, the image is ${size.width}×${size.height}`,
    );
  }
  return { stem, file, annotation, imagePath, ...size };
}

/** Loads a VOC dataset (or one split of it). Bad files and boxes are skipped and counted in `warnings`. */
export async function loadVocDataset(options: VocOptions): Promise<Dataset> {
  const warnings = options.warnings ?? new DataWarnings();
  const layout = await detectLayout(options.root);
  const stems =
    options.split === undefined
      ? (await listFiles(layout.annotations, ['.xml'])).map((f) => f.replace(/\.xml$/, ''))
      : await readSplitFile(join(layout.splits, `${options.split}.txt`));

  const read = await readInOrder(stems, warnings, (stem, recorder) =>
    readOne(layout, stem, recorder),
  );
  const ok = read.filter((r): r is ReadAnnotation => r !== undefined);

  const names =
    options.categories ??
    [...new Set(ok.flatMap((r) => r.annotation.objects.map((o) => o.name)))].sort();
  const categories: Category[] = names.map((name, i) => ({
    id: i + 1,
    name,
    ...(options.supercategory === undefined ? {} : { supercategory: options.supercategory }),
  }));
  const idOf = new Map(categories.map((c) => [c.name, c.id]));
  const keepDifficult = options.keepDifficult ?? true;
  const imageIds = imageIdsFor(ok.map((r) => r.stem));

  const samples: Sample[] = ok.map((r, index) => {
    const rows: { box: number[]; label: number; crowd: boolean }[] = [];
    r.annotation.objects.forEach((object, k) => {
      const where = `${r.file} object ${k + 1} (${object.name})`;
      const label = idOf.get(object.name);
      if (label === undefined) {
        warnings.add(
          'unknown-category',
          where,
          `class "${object.name}" is not in [${names.join(', ')}]`,
        );
        return;
      }
      if (object.difficult && !keepDifficult) return;
      // Zero extent as annotated (xmax = xmin) is a degenerate mark, not a 1-pixel box: BCCD's two
      // known defects look like this (data/bccd/SOURCE.md), and the COCO goldens drop them too.
      if (!(object.xmax > object.xmin) || !(object.ymax > object.ymin)) {
        const text = `[${object.xmin}, ${object.ymin}, ${object.xmax}, ${object.ymax}]`;
        warnings.add('zero-area-box', where, `VOC box ${text} (xmin,ymin,xmax,ymax) has no extent`);
        return;
      }
      const box = acceptBox(
        { x1: object.xmin - 1, y1: object.ymin - 1, x2: object.xmax, y2: object.ymax, where },
        r.width,
        r.height,
        warnings,
      );
      if (box !== undefined) rows.push({ box, label, crowd: object.difficult });
    });
    return {
      key: r.stem,
      imageId: imageIds[index],
      imagePath: r.imagePath,
      width: r.width,
      height: r.height,
      ...packBoxes(rows),
    };
  });
  return { name: options.name ?? options.root, labelled: true, categories, samples };
}
