// The shipped BCCD dataset (data/bccd, MIT licence, see data/bccd/SOURCE.md): the default real
// dataset of the data side of the flow. A VOC dataset with three classes in upstream order
// RBC = 1, WBC = 2, Platelets = 3, and image ids taken from the file names (BloodImage_00014 → 14),
// the same conventions as the COCO evaluation goldens.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dataset } from './dataset.js';
import { loadVocDataset } from './voc.js';
import type { DataWarnings } from './warnings.js';

export const BCCD_CATEGORIES = ['RBC', 'WBC', 'Platelets'] as const;
export const BCCD_SPLITS = ['train', 'val', 'trainval', 'test'] as const;
export type BccdSplit = (typeof BCCD_SPLITS)[number];

/** data/bccd of this checkout: found from this file upwards (works from sources and from dist/). */
export function defaultBccdRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'data', 'bccd');
    if (existsSync(join(candidate, 'SOURCE.md'))) return candidate;
    dir = dirname(dir);
  }
  return join(process.cwd(), 'data', 'bccd');
}

export function loadBccd(
  split: BccdSplit | undefined,
  options: { root?: string; warnings?: DataWarnings } = {},
): Promise<Dataset> {
  return loadVocDataset({
    root: options.root ?? defaultBccdRoot(),
    ...(split === undefined ? {} : { split }),
    categories: BCCD_CATEGORIES,
    supercategory: 'cell',
    name: `bccd${split === undefined ? '' : `/${split}`}`,
    ...(options.warnings === undefined ? {} : { warnings: options.warnings }),
  });
}
