// Test helpers for the data area: small synthetic images written to a temp folder, and a Dataset
// over them built by hand (so loader tests do not depend on the dataset readers).

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dataset, Sample } from '../../runtime/data/dataset.js';
import { encodePng, type RgbImage } from '../../runtime/data/image.js';

/** A width×height image whose pixels encode their position and a per-image tag. */
export function patterned(width: number, height: number, tag: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data.set([(x * 7 + tag * 40) & 255, (y * 9) & 255, (x * y + tag) & 255], (y * width + x) * 3);
    }
  }
  return { width, height, data };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `alignc-${prefix}-`));
}

/** Writes one PNG per entry and returns a Dataset with the given boxes (N×4 rows, label 1 each). */
export async function syntheticDataset(
  dir: string,
  images: readonly { width: number; height: number; boxes: readonly number[] }[],
): Promise<Dataset> {
  const samples: Sample[] = [];
  for (const [i, spec] of images.entries()) {
    const path = join(dir, `img_${i}.png`);
    writeFileSync(path, await encodePng(patterned(spec.width, spec.height, i)));
    const n = spec.boxes.length / 4;
    samples.push({
      key: `img_${i}`,
      imageId: 100 + i,
      imagePath: path,
      width: spec.width,
      height: spec.height,
      boxes: Float64Array.from(spec.boxes),
      labels: new Int32Array(n).fill(1),
      crowd: new Uint8Array(n),
    });
  }
  return { name: 'synthetic', labelled: true, categories: [{ id: 1, name: 'thing' }], samples };
}
