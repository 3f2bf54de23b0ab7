// A one-view loader Batch built from a PyTorch golden's images (test/fixtures/run/*-loss.json), shared
// by the loss-golden tests of the fine-tuning steps (fcos-loss, retinanet-giou-loss). Test helper.
import type { Batch } from '../../runtime/data/loader/batch.js';

/** The part of a loss golden that describes its images. */
export interface GoldenImages {
  readonly canvas: readonly [number, number];
  readonly images: readonly {
    readonly boxes: readonly (readonly number[])[];
    readonly labels: readonly number[];
    readonly size: readonly [number, number];
  }[];
}

/** A one-view batch of the golden's images (boxes as given, one padding row per image). */
export function goldenBatch(g: GoldenImages): Batch {
  const b = g.images.length;
  const k = Math.max(...g.images.map((i) => i.boxes.length)) + 1;
  const [height, width] = g.canvas;
  const boxes = new Float32Array(b * k * 4);
  const mask = new Uint8Array(b * k);
  const labels = new Int32Array(b * k);
  const ids = new Int32Array(b * k).fill(-1);
  let id = 0;
  g.images.forEach((img, i) =>
    img.boxes.forEach((box, r) => {
      boxes.set(box, (i * k + r) * 4);
      mask[i * k + r] = 1;
      labels[i * k + r] = img.labels[r];
      ids[i * k + r] = id++;
    }),
  );
  return {
    epoch: 0,
    index: 0,
    size: b,
    maxBoxes: k,
    sampleIndices: Int32Array.from(g.images, (_, i) => i),
    imageIds: Int32Array.from(g.images, (_, i) => i + 1),
    instanceIds: ids,
    present: mask,
    labels,
    numInstances: id,
    truncatedBoxes: 0,
    views: [
      {
        images: new Float32Array(b * 3 * height * width),
        height,
        width,
        imageSizes: Int32Array.from(g.images.flatMap((i) => i.size)),
        boxes,
        boxMask: mask,
        transforms: new Float64Array(b * 4),
      },
    ],
  };
}
