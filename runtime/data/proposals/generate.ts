// Proposals for a whole dataset: the entry point of the proposals stage (data side of the flow:
// Dataset → cached COCO proposal file → the same Dataset with proposals as its boxes → views).
//
// Looks the (dataset, parameters) key up in the cache; on a miss decodes every image, runs selective
// search + filters on the worker pool with a progress bar, writes the cache and returns the result.
// A corrupt image is skipped with one counted `corrupt-image` warning (never a crash); an image
// that keeps no box is kept with none (AlignDet's loader drops such images).

import { basename } from 'node:path';
import { decodeImage } from '../image.js';
import type { RgbImage } from '../image.js';
import type { Dataset, Sample } from '../dataset.js';
import { DataWarnings } from '../warnings.js';
import type { FilterStage } from './box-ops.js';
import {
  cacheKey,
  datasetFingerprint,
  defaultCachePath,
  readProposalCache,
  writeProposalCache,
} from './cache.js';
import type { ProposalFile, ProposalImage, SkippedImage } from './cache.js';
import { resolveProposalParams } from './params.js';
import type { ProposalParams } from './params.js';
import { defaultWorkerCount, proposeAll } from './pool.js';
import type { PoolMode } from './pool.js';
import { ProgressBar } from './progress.js';
import type { ProgressStream } from './progress.js';

export const DEFAULT_CACHE_DIR = '.cache/proposals';

export interface ProposalRunOptions {
  readonly params?: Partial<ProposalParams>;
  /** Where the COCO file goes; default `<cacheDir>/<dataset>-<key>.json`. */
  readonly cacheFile?: string;
  readonly cacheDir?: string;
  /** Recompute even when the cache file matches. */
  readonly force?: boolean;
  /** Worker threads (0 = this thread); default all cores but one. */
  readonly workers?: number;
  /** A progress bar on this stream (default stderr); false for none. */
  readonly progress?: boolean | ProgressStream;
  readonly warnings?: DataWarnings;
  /** One-line notes: cache hit, recompute reason (default: none). */
  readonly log?: (line: string) => void;
}

export interface ProposalRun {
  readonly file: ProposalFile;
  readonly path: string;
  /** 'cache' when served from the cache file. */
  readonly source: PoolMode | 'cache';
  readonly stages: Readonly<Record<FilterStage, number>>;
}

export async function generateProposals(
  dataset: Dataset,
  options: ProposalRunOptions = {},
): Promise<ProposalRun> {
  const params = resolveProposalParams(options.params);
  const warnings = options.warnings ?? new DataWarnings();
  const log = options.log ?? ((): void => {});
  const key = cacheKey(dataset.name, params, await datasetFingerprint(dataset.samples));
  const path =
    options.cacheFile ?? defaultCachePath(options.cacheDir ?? DEFAULT_CACHE_DIR, dataset.name, key);

  if (options.force !== true) {
    const lookup = await readProposalCache(path, key);
    if (lookup.status === 'hit') {
      log(`proposals: using cached ${path}`);
      for (const s of lookup.file.skipped) warnings.add('corrupt-image', s.path, s.reason);
      return { file: lookup.file, path, source: 'cache', stages: countStages(lookup.file.images) };
    }
    if (lookup.status !== 'missing') log(`proposals: recomputing (${lookup.detail})`);
  }

  const samples = dataset.samples;
  const results = new Array<ProposalImage | undefined>(samples.length);
  const skipped: SkippedImage[] = [];
  const bar = progressBar(options.progress, samples.length);
  const load = async (index: number): Promise<RgbImage | undefined> => {
    const sample = samples[index];
    try {
      return await decodeImage(sample.imagePath);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      skipped.push({ path: sample.imagePath, reason });
      warnings.add('corrupt-image', sample.imagePath, reason);
      return undefined;
    }
  };
  const decodedSize = new Map<number, { width: number; height: number }>();
  const source = await proposeAll(samples.length, {
    workers: options.workers ?? defaultWorkerCount(),
    params,
    load: async (index) => {
      const image = await load(index);
      if (image !== undefined) decodedSize.set(index, { width: image.width, height: image.height });
      return image;
    },
    onDone: (index, result) => {
      bar?.tick();
      if (result === undefined) return;
      const size = decodedSize.get(index) ?? samples[index];
      results[index] = imageEntry(samples[index], size, result.boxes, result.stage);
    },
  });
  bar?.finish();
  skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const images = results.filter((r): r is ProposalImage => r !== undefined);
  const file: ProposalFile = { key, dataset: dataset.name, params, images, skipped };
  await writeProposalCache(path, file);
  log(`proposals: wrote ${path}`);
  return { file, path, source, stages: countStages(images) };
}

function imageEntry(
  sample: Sample,
  size: { width: number; height: number },
  boxes: ProposalImage['boxes'],
  stage: FilterStage,
): ProposalImage {
  return {
    imageId: sample.imageId,
    fileName: basename(sample.imagePath),
    width: size.width,
    height: size.height,
    boxes,
    stage,
  };
}

function progressBar(
  progress: boolean | ProgressStream | undefined,
  total: number,
): ProgressBar | undefined {
  if (progress === false) return undefined;
  return new ProgressBar(
    total,
    'proposals',
    progress === true || progress === undefined ? undefined : progress,
  );
}

function countStages(images: readonly ProposalImage[]): Record<FilterStage, number> {
  const counts: Record<FilterStage, number> = {
    full: 0,
    'aspect-only': 0,
    'min-side-only': 0,
    empty: 0,
  };
  for (const image of images) counts[image.stage]++;
  return counts;
}

/**
 * The dataset with each sample's boxes replaced by its proposals (label 0, not crowd), in rank
 * order; samples without an entry (skipped images) are dropped, samples with no box are kept.
 */
export function attachProposals(dataset: Dataset, file: ProposalFile): Dataset {
  const byId = new Map(file.images.map((i) => [i.imageId, i]));
  const samples: Sample[] = [];
  for (const sample of dataset.samples) {
    const entry = byId.get(sample.imageId);
    if (entry === undefined) continue;
    const n = entry.boxes.length;
    const boxes = new Float64Array(n * 4);
    entry.boxes.forEach((b, i) => boxes.set(b, i * 4));
    samples.push({
      ...sample,
      width: entry.width,
      height: entry.height,
      boxes,
      labels: new Int32Array(n),
      crowd: new Uint8Array(n),
    });
  }
  return { ...dataset, samples };
}
