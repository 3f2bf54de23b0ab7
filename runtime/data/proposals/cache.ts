// The proposal cache: one COCO-format JSON file per (dataset, parameters) holding every image's
// pseudo boxes, as AlignDet's `train2017_ratio3size0008@0.5.json` does. Data side of the flow:
// proposals are computed once (generate.ts), written here, and read back by every later run.
//
// The file carries a key, the SHA-256 of the algorithm version, the canonical parameters and a
// fingerprint of the images (name, id, byte size, modification time). A run whose key differs
// recomputes, so a changed parameter or a replaced image is never served stale. Annotations of an
// image are in rank order: taking the first k in file order is AlignDet's `SelectTopKProposals`.

import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Sample } from '../dataset.js';
import type { Box, FilterStage } from './box-ops.js';
import { canonicalParams, resolveProposalParams } from './params.js';
import type { ProposalParams } from './params.js';

/** Bump when a code change alters the boxes for the same parameters, to invalidate old caches. */
export const ALGORITHM_VERSION = 1;
const FORMAT = 'alignc-proposals';

export interface ProposalImage {
  readonly imageId: number;
  readonly fileName: string;
  readonly width: number;
  readonly height: number;
  /** Rank order; may be empty (every filter stage left nothing). */
  readonly boxes: readonly Box[];
  readonly stage: FilterStage;
}

export interface SkippedImage {
  readonly path: string;
  readonly reason: string;
}

export interface ProposalFile {
  readonly key: string;
  readonly dataset: string;
  readonly params: ProposalParams;
  readonly images: readonly ProposalImage[];
  /** Images that could not be decoded, so a run served from the cache can warn about them again. */
  readonly skipped: readonly SkippedImage[];
}

/** Hash of what identifies the dataset's images on disk, in sample order. */
export async function datasetFingerprint(samples: readonly Sample[]): Promise<string> {
  const hash = createHash('sha256');
  for (const s of samples) {
    let size = -1;
    let mtime = -1;
    try {
      const info = await stat(s.imagePath);
      size = info.size;
      mtime = Math.trunc(info.mtimeMs);
    } catch {
      // A missing file still fingerprints (as -1), and is reported when it is decoded.
    }
    hash.update(`${s.imageId}\t${s.imagePath}\t${size}\t${mtime}\n`);
  }
  return hash.digest('hex');
}

export function cacheKey(dataset: string, params: ProposalParams, fingerprint: string): string {
  return createHash('sha256')
    .update(
      `${FORMAT}/${ALGORITHM_VERSION}\n${dataset}\n${canonicalParams(params)}\n${fingerprint}`,
    )
    .digest('hex');
}

/** The COCO document: one category `selective_search`, boxes as [x, y, w, h]. */
export function toCoco(file: ProposalFile): unknown {
  let annotationId = 1;
  const annotations: unknown[] = [];
  for (const image of file.images) {
    for (const [x1, y1, x2, y2] of image.boxes) {
      const w = x2 - x1;
      const h = y2 - y1;
      annotations.push({
        id: annotationId++,
        image_id: image.imageId,
        category_id: 1,
        bbox: [x1, y1, w, h],
        area: w * h,
        iscrowd: 0,
      });
    }
  }
  return {
    info: {
      description: 'selective-search proposals made by alignc',
      alignc: {
        format: FORMAT,
        version: ALGORITHM_VERSION,
        key: file.key,
        dataset: file.dataset,
        params: JSON.parse(canonicalParams(file.params)) as unknown,
        skipped: file.skipped,
      },
    },
    images: file.images.map((i) => ({
      id: i.imageId,
      file_name: i.fileName,
      width: i.width,
      height: i.height,
      alignc_filter_stage: i.stage,
    })),
    annotations,
    categories: [{ id: 1, name: 'selective_search', supercategory: 'proposal' }],
  };
}

/** Thrown by fromCoco for a file that is not an alignc proposal file; the reason names the field. */
export class ProposalCacheFormatError extends Error {
  override readonly name = 'ProposalCacheFormatError';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function field<T>(obj: Record<string, unknown>, name: string, ok: (v: unknown) => v is T): T {
  const v = obj[name];
  if (!ok(v))
    throw new ProposalCacheFormatError(`field '${name}' is missing or has the wrong type`);
  return v;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isArray = (v: unknown): v is unknown[] => Array.isArray(v);

const STAGES: readonly FilterStage[] = ['full', 'aspect-only', 'min-side-only', 'empty'];
const isStage = (v: unknown): v is FilterStage => STAGES.includes(v as FilterStage);

/** Reads a document written by toCoco back; throws ProposalCacheFormatError when it is not one. */
export function fromCoco(doc: unknown): ProposalFile {
  if (!isRecord(doc)) throw new ProposalCacheFormatError('the document is not a JSON object');
  const info = field(doc, 'info', isRecord);
  const meta = field(info, 'alignc', isRecord);
  if (meta.format !== FORMAT) throw new ProposalCacheFormatError('not an alignc proposal file');
  const params = resolveProposalParams(field(meta, 'params', isRecord) as Partial<ProposalParams>);
  const skipped = field(meta, 'skipped', isArray).map((s): SkippedImage => {
    if (!isRecord(s)) throw new ProposalCacheFormatError('a skipped entry is not an object');
    return { path: field(s, 'path', isString), reason: field(s, 'reason', isString) };
  });
  const boxesOf = new Map<number, Box[]>();
  const images = field(doc, 'images', isArray).map((i) => {
    if (!isRecord(i)) throw new ProposalCacheFormatError('an image entry is not an object');
    const imageId = field(i, 'id', isNumber);
    const boxes: Box[] = [];
    boxesOf.set(imageId, boxes);
    return {
      imageId,
      fileName: field(i, 'file_name', isString),
      width: field(i, 'width', isNumber),
      height: field(i, 'height', isNumber),
      stage: field(i, 'alignc_filter_stage', isStage),
      boxes,
    };
  });
  for (const a of field(doc, 'annotations', isArray)) {
    if (!isRecord(a)) throw new ProposalCacheFormatError('an annotation is not an object');
    const bbox = field(a, 'bbox', isArray);
    if (bbox.length !== 4 || !bbox.every(isNumber)) {
      throw new ProposalCacheFormatError(`annotation ${String(a.id)} has a bad bbox`);
    }
    const list = boxesOf.get(field(a, 'image_id', isNumber));
    if (list === undefined) {
      throw new ProposalCacheFormatError(`annotation ${String(a.id)} names an unknown image`);
    }
    const [x, y, w, h] = bbox as number[];
    list.push([x, y, x + w, y + h]);
  }
  return {
    key: field(meta, 'key', isString),
    dataset: field(meta, 'dataset', isString),
    params,
    images,
    skipped,
  };
}

export type CacheLookup =
  | { readonly status: 'hit'; readonly file: ProposalFile }
  | { readonly status: 'missing' | 'stale' | 'malformed'; readonly detail: string };

export async function readProposalCache(path: string, key: string): Promise<CacheLookup> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return { status: 'missing', detail: `no cache file at ${path}` };
  }
  let file: ProposalFile;
  try {
    file = fromCoco(JSON.parse(text) as unknown);
  } catch (error) {
    return { status: 'malformed', detail: `${path}: ${(error as Error).message}` };
  }
  if (file.key !== key) {
    return { status: 'stale', detail: `${path} was made with other parameters or images` };
  }
  return { status: 'hit', file };
}

/** Writes the file atomically (temporary file + rename), creating its folder. */
export async function writeProposalCache(path: string, file: ProposalFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(toCoco(file)));
  await rename(temporary, path);
}

/** `<dir>/<dataset>-<first 12 hex of key>.json`, with the dataset name made file-safe. */
export function defaultCachePath(dir: string, dataset: string, key: string): string {
  const safe = basename(dataset).replace(/[^A-Za-z0-9._-]+/g, '_') || 'dataset';
  return `${dir}/${safe}-${key.slice(0, 12)}.json`;
}
