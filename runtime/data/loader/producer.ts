// Produces the batches of one epoch: order → decode → views → collate. Data side of the flow:
// Dataset → views → batches. Runs either on the main thread or inside the prefetch worker
// (worker-entry.ts); both give the same batches, because every random draw comes from a Philox
// stream named by (seed, epoch, sample, view) and never from shared state:
//   order of epoch e  = Rng(seed).child('order', e).permutation(n)   (or 0..n−1 without shuffle)
//   view v of sample i = Rng(seed).child('view', e, i, v)
// Samples whose image cannot be decoded are skipped with a counted warning (once per image, not once
// per epoch) and the batch is filled from the next samples in order.

import { decodeImage, type RgbImage } from '../image.js';
import { Rng } from '../../rng.js';
import { DatasetError, type Dataset } from '../dataset.js';
import { runView, checkViewSpec, type ViewSpec } from '../views/pipeline.js';
import type { DataWarnings } from '../warnings.js';
import { collate, type Batch, type CollatedSample } from './batch.js';

/** Everything a producer needs; plain data, so it can be sent to a worker thread. */
export interface LoaderConfig {
  readonly dataset: Dataset;
  /** One spec per view; AlignDet uses two. */
  readonly views: readonly ViewSpec[];
  readonly batchSize: number;
  /** Declared maximum boxes per image K. */
  readonly maxBoxes: number;
  readonly seed: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  /** Skip images with no boxes (mmdet's filter_empty_gt). */
  readonly dropEmpty: boolean;
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
  readonly canvas?: readonly [number, number];
}

export type Decoder = (path: string) => Promise<RgbImage>;

export function checkLoaderConfig(config: LoaderConfig): void {
  const positive = (n: number) => Number.isInteger(n) && n >= 1;
  if (!positive(config.batchSize))
    throw new DatasetError(`batch size must be a positive integer, got ${config.batchSize}`);
  if (!positive(config.maxBoxes))
    throw new DatasetError(`max boxes must be a positive integer, got ${config.maxBoxes}`);
  if (config.views.length === 0) throw new DatasetError('a loader needs at least one view');
  config.views.forEach(checkViewSpec);
}

/** The sample order of an epoch. */
export function epochOrder(config: LoaderConfig, epoch: number): Int32Array {
  const n = config.dataset.samples.length;
  if (!config.shuffle) return Int32Array.from({ length: n }, (_, i) => i);
  return Rng.fromSeed(config.seed).child('order', epoch).permutation(n);
}

export class BatchProducer {
  /** Sample indices whose image failed to decode; skipped silently after the first warning. */
  private readonly bad = new Set<number>();

  constructor(
    private readonly config: LoaderConfig,
    private readonly warnings: DataWarnings,
    private readonly decode: Decoder = (path) => decodeImage(path),
  ) {
    checkLoaderConfig(config);
  }

  /** Decodes one sample; a failure is returned as its message and reported by the caller, in order. */
  private async load(index: number): Promise<RgbImage | { failure: string } | undefined> {
    if (this.bad.has(index)) return undefined;
    const sample = this.config.dataset.samples[index];
    try {
      const image = await this.decode(sample.imagePath);
      if (image.width !== sample.width || image.height !== sample.height) {
        throw new Error(
          `decoded as ${image.width}×${image.height}, but the dataset says ${sample.width}×${sample.height}, so its boxes cannot be trusted`,
        );
      }
      return image;
    } catch (error) {
      this.bad.add(index);
      return { failure: error instanceof Error ? error.message : String(error) };
    }
  }

  private makeSample(index: number, image: RgbImage, epoch: number): CollatedSample {
    const sample = this.config.dataset.samples[index];
    const root = Rng.fromSeed(this.config.seed);
    const views = this.config.views.map((spec, v) =>
      runView(spec, image, sample.boxes, root.child('view', epoch, index, v)),
    );
    return { sampleIndex: index, imageId: sample.imageId, labels: sample.labels, views };
  }

  /** The batches of `epoch`, in order. */
  async *epoch(epoch: number): AsyncGenerator<Batch> {
    const { config } = this;
    const order = epochOrder(config, epoch).filter(
      (i) => !config.dropEmpty || config.dataset.samples[i].labels.length > 0,
    );
    if (order.length === 0) {
      throw new DatasetError(
        `dataset ${config.dataset.name} has no ${config.dropEmpty ? 'images with boxes' : 'images'}`,
        {
          hint: config.dropEmpty
            ? 'attach proposals first, or load with dropEmpty off'
            : 'check the dataset path',
        },
      );
    }
    let cursor = 0;
    let index = 0;
    while (cursor < order.length) {
      const taken: CollatedSample[] = [];
      while (taken.length < config.batchSize && cursor < order.length) {
        const want = order.slice(cursor, cursor + config.batchSize - taken.length);
        cursor += want.length;
        // Decodes run concurrently (sharp works off the JS thread); results are used in order.
        const images = await Promise.all(Array.from(want, (i) => this.load(i)));
        want.forEach((sampleIndex, k) => {
          const image = images[k];
          if (image === undefined) return;
          if ('failure' in image) {
            const path = config.dataset.samples[sampleIndex].imagePath;
            this.warnings.add('corrupt-image', path, image.failure);
          } else taken.push(this.makeSample(sampleIndex, image, epoch));
        });
      }
      if (taken.length === 0 || (config.dropLast && taken.length < config.batchSize)) break;
      yield collate(taken, {
        epoch,
        index: index++,
        maxBoxes: config.maxBoxes,
        mean: config.mean,
        std: config.std,
        ...(config.canvas === undefined ? {} : { canvas: config.canvas }),
      });
    }
  }
}
