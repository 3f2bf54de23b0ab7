// The data loader: padding and masks, instance ids, determinism per seed and epoch, and the worker
// prefetch path against the in-thread path.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DatasetError, type Dataset } from '../../runtime/data/dataset.js';
import { decodeImage } from '../../runtime/data/image.js';
import { instanceTargets, type Batch } from '../../runtime/data/loader/batch.js';
import { DataLoader, type LoaderOptions } from '../../runtime/data/loader/loader.js';
import { IMAGENET_MEAN, IMAGENET_STD, normalizeToChw } from '../../runtime/data/views/normalize.js';
import { alignDetViewSpec, runView, ViewSpecError } from '../../runtime/data/views/pipeline.js';
import { DataWarnings } from '../../runtime/data/warnings.js';
import { Rng } from '../../runtime/rng.js';
import { syntheticDataset, tempDir } from './helpers.js';

let dataset: Dataset;
const views = [
  alignDetViewSpec(
    [
      [60, 30],
      [80, 40],
    ],
    16,
  ),
  alignDetViewSpec(
    [
      [60, 30],
      [80, 40],
    ],
    16,
  ),
];

beforeAll(async () => {
  dataset = await syntheticDataset(tempDir('loader'), [
    { width: 40, height: 30, boxes: [0, 0, 10, 10, 5, 5, 20, 25, 30, 1, 40, 30] },
    { width: 36, height: 24, boxes: [] },
    {
      width: 50,
      height: 20,
      boxes: [1, 1, 5, 5, 2, 2, 6, 6, 3, 3, 7, 7, 4, 4, 8, 8, 10, 0, 50, 20],
    },
    { width: 20, height: 40, boxes: [0, 0, 20, 40] },
    { width: 32, height: 32, boxes: [8, 8, 24, 24, 0, 0, 4, 4] },
  ]);
});

const options = (extra: Partial<LoaderOptions> = {}): LoaderOptions => ({
  dataset,
  views,
  batchSize: 3,
  maxBoxes: 4,
  seed: 11,
  warnings: new DataWarnings(() => {}),
  ...extra,
});

async function collect(loader: DataLoader, epoch: number): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const batch of loader.epoch(epoch)) out.push(batch);
  return out;
}

describe('batches', () => {
  test('padding, masks and instance ids (unshuffled, so the content is known)', async () => {
    const loader = new DataLoader(options({ shuffle: false, mode: 'off' }));
    const [first, second] = await collect(loader, 0);
    // Image 1 has no boxes and is dropped: batches are [0, 2, 3] and [4].
    expect(Array.from(first.sampleIndices)).toEqual([0, 2, 3]);
    expect(Array.from(first.imageIds)).toEqual([100, 102, 103]);
    expect(Array.from(second.sampleIndices)).toEqual([4]);
    // K = 4: image 2's fifth box is cut (first K in file order kept).
    expect(first.truncatedBoxes).toBe(1);
    expect(Array.from(first.instanceIds)).toEqual([0, 1, 2, -1, 3, 4, 5, 6, 7, -1, -1, -1]);
    expect(Array.from(first.present)).toEqual([1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 0, 0]);
    expect(first.numInstances).toBe(8);
    expect(Array.from(second.instanceIds)).toEqual([0, 1, -1, -1]); // ids restart per batch
    for (const view of first.views) {
      expect(Array.from(view.boxMask)).toEqual(Array.from(first.present));
      // Padding rows of boxes are zero.
      expect(Array.from(view.boxes.subarray(3 * 4, 4 * 4))).toEqual([0, 0, 0, 0]);
      expect(view.images.length).toBe(3 * 3 * view.width * view.height);
      expect(view.width % 16).toBe(0);
    }
  });

  test('pixels and boxes equal an independent run of the documented view streams', async () => {
    const loader = new DataLoader(options({ mode: 'off' }));
    const [batch] = await collect(loader, 2);
    const root = Rng.fromSeed(11);
    for (let i = 0; i < batch.size; i++) {
      const sample = dataset.samples[batch.sampleIndices[i]];
      const image = await decodeImage(sample.imagePath);
      for (let v = 0; v < 2; v++) {
        const view = runView(
          views[v],
          image,
          sample.boxes,
          root.child('view', 2, batch.sampleIndices[i], v),
        );
        const bv = batch.views[v];
        const chw = normalizeToChw(view.image);
        const plane = bv.width * bv.height;
        for (let c = 0; c < 3; c++) {
          for (let y = 0; y < bv.height; y++) {
            for (let x = 0; x < bv.width; x++) {
              const got = bv.images[(i * 3 + c) * plane + y * bv.width + x];
              const want = Math.fround(
                x < view.image.width && y < view.image.height
                  ? chw[c * view.image.width * view.image.height + y * view.image.width + x]
                  : -IMAGENET_MEAN[c] / IMAGENET_STD[c],
              );
              if (got !== want)
                throw new Error(
                  `pixel (${c}, ${y}, ${x}) of image ${i} view ${v}: ${got} ≠ ${want}`,
                );
            }
          }
        }
        expect(bv.imageSizes[i * 2]).toBe(view.content.height);
        expect(bv.imageSizes[i * 2 + 1]).toBe(view.content.width);
        const n = Math.min(4, sample.labels.length);
        expect(Array.from(bv.boxes.subarray(i * 16, i * 16 + n * 4))).toEqual(
          Array.from(Float32Array.from(view.boxes.subarray(0, n * 4))),
        );
      }
    }
  });

  test('a fixed canvas gives every batch the same shape', async () => {
    const loader = new DataLoader(options({ canvas: [96, 96], mode: 'off' }));
    for (const batch of await collect(loader, 0)) {
      for (const view of batch.views) expect([view.width, view.height]).toEqual([96, 96]);
    }
  });

  test('instance targets keep background apart from ids (no id is reserved)', async () => {
    const loader = new DataLoader(options({ shuffle: false, mode: 'off' }));
    const [batch] = await collect(loader, 0);
    const targets = instanceTargets(batch, Int32Array.from([-1, 0, 5, -1, 8]));
    expect(Array.from(targets.background)).toEqual([1, 0, 0, 1, 0]);
    expect(Array.from(targets.ids.filter((_, a) => targets.background[a] === 0))).toEqual([
      0, 4, 7,
    ]);
    expect(() => instanceTargets(batch, Int32Array.from([3]))).toThrow(/holds no box/);
  });
});

describe('errors', () => {
  test('a dataset with no boxes is a DatasetError in every mode', async () => {
    const empty = { ...dataset, samples: dataset.samples.filter((s) => s.labels.length === 0) };
    for (const mode of ['off', 'in-thread'] as const) {
      const loader = new DataLoader(options({ dataset: empty, mode }));
      await expect(collect(loader, 0)).rejects.toBeInstanceOf(DatasetError);
    }
  });
  test('bad loader settings are rejected up front', () => {
    expect(() => new DataLoader(options({ batchSize: 0 }))).toThrow(DatasetError);
    expect(() => new DataLoader(options({ views: [[{ op: 'hflip', p: 2 }]] }))).toThrow(
      ViewSpecError,
    );
  });
});

describe('determinism', () => {
  test('same seed and epoch → identical batches; epochs differ; every image once per epoch', async () => {
    const a = await collect(new DataLoader(options({ mode: 'in-thread' })), 1);
    const b = await collect(new DataLoader(options({ mode: 'off' })), 1);
    expect(a).toEqual(b);
    const other = await collect(new DataLoader(options({ mode: 'off' })), 4);
    const order = (bs: Batch[]) => bs.flatMap((x) => Array.from(x.sampleIndices));
    expect(order(other)).not.toEqual(order(a));
    expect([...order(a)].sort()).toEqual([0, 2, 3, 4]);
    const reseeded = await collect(new DataLoader(options({ seed: 12, mode: 'off' })), 1);
    expect(reseeded).not.toEqual(a);
  });
});

describe('worker prefetch', () => {
  let workerUrl: URL;
  let bundleDir = '';
  beforeAll(async () => {
    // Tests run the TypeScript sources; bundle the worker entry to plain JS the way `tsc` output
    // would run it. The bundle lives under the repo's ignored .cache/ so that `sharp` resolves.
    const { build } = await import('rolldown');
    mkdirSync('.cache', { recursive: true });
    bundleDir = mkdtempSync(join('.cache', 'data-worker-'));
    const file = join(process.cwd(), bundleDir, 'worker-entry.mjs');
    await build({
      input: 'runtime/data/loader/worker-entry.ts',
      external: [/^node:/, 'sharp'],
      resolve: { extensionAlias: { '.js': ['.ts', '.js'] } },
      platform: 'node',
      output: { file, format: 'esm' },
      logLevel: 'silent',
    });
    workerUrl = pathToFileURL(file);
  });
  const loaders: DataLoader[] = [];
  afterAll(async () => {
    for (const l of loaders) await l.close();
    if (bundleDir !== '') rmSync(bundleDir, { recursive: true, force: true });
  });

  test('the worker gives the same batches as the main thread, over two epochs', async () => {
    const worker = new DataLoader(options({ mode: 'worker', workerUrl, prefetch: 1 }));
    loaders.push(worker);
    expect(worker.mode).toBe('worker');
    const local = new DataLoader(options({ mode: 'off' }));
    for (const epoch of [0, 1])
      expect(await collect(worker, epoch)).toEqual(await collect(local, epoch));
  });

  test('an error inside the worker arrives as the same DatasetError', async () => {
    const empty = { ...dataset, samples: dataset.samples.filter((s) => s.labels.length === 0) };
    const worker = new DataLoader(options({ dataset: empty, mode: 'worker', workerUrl }));
    loaders.push(worker);
    await expect(collect(worker, 0)).rejects.toThrow(/has no images with boxes/);
    await expect(collect(worker, 0)).rejects.toBeInstanceOf(DatasetError);
  });

  test('without a compiled worker the default falls back to in-thread', () => {
    expect(new DataLoader(options()).mode).toBe('in-thread');
  });
});

describe('real BCCD images', () => {
  test('two val images through two AlignDet views: shapes, ids, boxes map back to the annotation', async () => {
    const { loadBccd } = await import('../../runtime/data/bccd.js');
    const { selectSamples } = await import('../../runtime/data/dataset.js');
    const val = await loadBccd('val', { warnings: new DataWarnings(() => {}) });
    const two = selectSamples(val, ['BloodImage_00000', 'BloodImage_00002']);
    const spec = alignDetViewSpec([
      [200, 150],
      [240, 180],
    ]);
    const loader = new DataLoader({
      dataset: two,
      views: [spec, spec],
      batchSize: 2,
      maxBoxes: 30,
      seed: 5,
      mode: 'off',
    });
    const [batch] = await collect(loader, 0);
    const counts = Array.from(batch.sampleIndices, (i) => two.samples[i].labels.length);
    expect(batch.numInstances).toBe(counts[0] + counts[1]);
    for (const view of batch.views) {
      expect(view.width % 32).toBe(0);
      for (let b = 0; b < 2; b++) {
        const sample = two.samples[batch.sampleIndices[b]];
        const [sx, tx, sy, ty] = view.transforms.subarray(b * 4, b * 4 + 4);
        for (let r = 0; r < counts[b]; r++) {
          const box = view.boxes.subarray((b * 30 + r) * 4, (b * 30 + r) * 4 + 4);
          const xs = [(box[0] - tx) / sx, (box[2] - tx) / sx].sort((p, q) => p - q);
          const ys = [(box[1] - ty) / sy, (box[3] - ty) / sy];
          const original = Array.from(sample.boxes.subarray(r * 4, r * 4 + 4));
          // float32 storage of view coordinates: about 1e-5 relative.
          expect(maxDiff([xs[0], ys[0], xs[1], ys[1]], original)).toBeLessThan(1e-3);
          expect(box[2]).toBeLessThanOrEqual(view.imageSizes[b * 2 + 1]);
          expect(box[3]).toBeLessThanOrEqual(view.imageSizes[b * 2]);
        }
      }
    }
  });
});

function maxDiff(a: readonly number[], b: readonly number[]): number {
  return Math.max(...a.map((v, i) => Math.abs(v - b[i])));
}
