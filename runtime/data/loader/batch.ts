// Batches: the last host-side step of the data flow (sample → views → batch → GPU buffers). Static
// shapes for the GPU: each view's images are normalised into one [B, 3, H, W] float32 array, and the
// variable number of boxes per image is padded to a declared maximum K with a mask. Instance ids are
// per batch: image b's boxes get offset_b + 0..N_b−1, identical in every view (index i is the same
// proposal in both views, aligndet-spec §2.4). Background is never an id value: padding rows carry
// id −1 *and* mask 0, and assignment results carry a separate background flag (§10.5), so any
// number of boxes per batch is safe.

import type { View } from '../views/pipeline.js';
import { normalizeInto } from '../views/normalize.js';

export interface BatchView {
  /** [B, 3, H, W] normalised pixels; beyond each image's padded size, filled with the value of pixel 0. */
  readonly images: Float32Array;
  readonly height: number;
  readonly width: number;
  /** [B, 2] unpadded (height, width) of each image in this view (mmdet img_shape). */
  readonly imageSizes: Int32Array;
  /** [B, K, 4] boxes in this view's pixel coordinates, 0 in padding rows. */
  readonly boxes: Float32Array;
  /** [B, K] 1 where the row holds a box that is valid in this view. */
  readonly boxMask: Uint8Array;
  /** [B, 4] (sx, tx, sy, ty): original → view coordinates, to map predictions back. */
  readonly transforms: Float64Array;
}

export interface Batch {
  readonly epoch: number;
  /** Position of this batch in its epoch, from 0. */
  readonly index: number;
  /** Number of images B (the last batch of an epoch can be smaller unless dropLast). */
  readonly size: number;
  /** Declared box maximum K. */
  readonly maxBoxes: number;
  /** [B] positions in the dataset's sample list, and their COCO image ids. */
  readonly sampleIndices: Int32Array;
  readonly imageIds: Int32Array;
  /** [B, K] instance id per row, −1 on padding rows. Ids run 0..numInstances−1 over the batch. */
  readonly instanceIds: Int32Array;
  /** [B, K] 1 where the row holds a box (in at least the original image). */
  readonly present: Uint8Array;
  /** [B, K] dataset category id per row (0 for proposals and padding). */
  readonly labels: Int32Array;
  readonly numInstances: number;
  /** Boxes beyond K that were left out (the first K in file order are kept, as AlignDet's top-k). */
  readonly truncatedBoxes: number;
  readonly views: readonly BatchView[];
}

/** One sample's contribution to a batch: its views (same box rows) and labels. */
export interface CollatedSample {
  readonly sampleIndex: number;
  readonly imageId: number;
  readonly labels: Int32Array;
  readonly views: readonly View[];
}

export interface CollateOptions {
  readonly epoch: number;
  readonly index: number;
  readonly maxBoxes: number;
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
  /** Fixed [width, height] for every batch (static shapes); else the largest image of the batch. */
  readonly canvas?: readonly [number, number];
}

/** Packs samples (each with the same number of views) into one batch. */
export function collate(samples: readonly CollatedSample[], options: CollateOptions): Batch {
  const b = samples.length;
  const k = options.maxBoxes;
  if (b === 0) throw new RangeError('collate: empty batch');
  const viewCount = samples[0].views.length;
  const instanceIds = new Int32Array(b * k).fill(-1);
  const present = new Uint8Array(b * k);
  const labels = new Int32Array(b * k);
  let next = 0;
  let truncated = 0;
  samples.forEach((s, i) => {
    const n = s.labels.length;
    const kept = Math.min(n, k);
    truncated += n - kept;
    for (let r = 0; r < kept; r++) {
      instanceIds[i * k + r] = next + r;
      present[i * k + r] = 1;
      labels[i * k + r] = s.labels[r];
    }
    next += kept;
  });

  const views: BatchView[] = [];
  for (let v = 0; v < viewCount; v++) {
    let width = options.canvas?.[0] ?? 0;
    let height = options.canvas?.[1] ?? 0;
    if (options.canvas === undefined) {
      for (const s of samples) {
        width = Math.max(width, s.views[v].image.width);
        height = Math.max(height, s.views[v].image.height);
      }
    }
    const plane = width * height;
    const images = new Float32Array(b * 3 * plane);
    const imageSizes = new Int32Array(b * 2);
    const boxes = new Float32Array(b * k * 4);
    const boxMask = new Uint8Array(b * k);
    const transforms = new Float64Array(b * 4);
    samples.forEach((s, i) => {
      const view = s.views[v];
      if (view.image.width > width || view.image.height > height) {
        throw new RangeError(
          `view ${v + 1} of image ${s.imageId} is ${view.image.width}×${view.image.height}, larger than the ${width}×${height} canvas`,
        );
      }
      const tight = new Float32Array(3 * view.image.width * view.image.height);
      normalizeInto(view.image, options.mean, options.std, tight);
      for (let c = 0; c < 3; c++) {
        const base = (i * 3 + c) * plane;
        images.fill(-options.mean[c] / options.std[c], base, base + plane);
        for (let y = 0; y < view.image.height; y++) {
          const from = c * view.image.width * view.image.height + y * view.image.width;
          images.set(tight.subarray(from, from + view.image.width), base + y * width);
        }
      }
      imageSizes[i * 2] = view.content.height;
      imageSizes[i * 2 + 1] = view.content.width;
      const kept = Math.min(s.labels.length, k);
      for (let r = 0; r < kept; r++) {
        boxes.set(view.boxes.subarray(r * 4, r * 4 + 4), (i * k + r) * 4);
        boxMask[i * k + r] = view.valid[r];
      }
      const t = view.transform;
      transforms.set([t.sx, t.tx, t.sy, t.ty], i * 4);
    });
    views.push({ images, height, width, imageSizes, boxes, boxMask, transforms });
  }
  return {
    epoch: options.epoch,
    index: options.index,
    size: b,
    maxBoxes: k,
    sampleIndices: Int32Array.from(samples.map((s) => s.sampleIndex)),
    imageIds: Int32Array.from(samples.map((s) => s.imageId)),
    instanceIds,
    present,
    labels,
    numInstances: next,
    truncatedBoxes: truncated,
    views,
  };
}

/** Per-anchor (or per-query) targets: an instance id where foreground, and a separate background flag. */
export interface InstanceTargets {
  /** Instance id of the assigned box; 0 where background (read `background`, never this value). */
  readonly ids: Int32Array;
  /** 1 = background (no box assigned), 0 = foreground. */
  readonly background: Uint8Array;
}

/**
 * Turns an assignment (for each anchor, the flat row b·K + r of its box in the batch, or −1 for
 * background) into instance targets. Throws on a row that holds no box, which would be a bug in the
 * assigner.
 */
export function instanceTargets(batch: Batch, assignedRows: Int32Array): InstanceTargets {
  const ids = new Int32Array(assignedRows.length);
  const background = new Uint8Array(assignedRows.length);
  for (let a = 0; a < assignedRows.length; a++) {
    const row = assignedRows[a];
    if (row < 0) {
      background[a] = 1;
      continue;
    }
    if (row >= batch.present.length || batch.present[row] === 0) {
      throw new RangeError(`anchor ${a} is assigned to row ${row}, which holds no box`);
    }
    ids[a] = batch.instanceIds[row];
  }
  return { ids, background };
}
