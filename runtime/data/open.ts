// Opens a dataset from a description: the one entry point the CLI and the `.align` lowering use for
// datasets. Data side of the flow: dataset declaration → Dataset → views → batches.
//   { format: 'voc', root, split? }          Pascal VOC XML (or the BCCD layout)
//   { format: 'coco', annotations, images }  COCO JSON
//   { format: 'folder', dir, splitFile? }    unlabelled images
//   { format: 'bccd', split? }               the shipped data/bccd

import { loadBccd, BCCD_SPLITS, type BccdSplit } from './bccd.js';
import { loadCocoDataset } from './coco.js';
import { DatasetError, type Dataset } from './dataset.js';
import { loadImageFolder } from './folder.js';
import { loadVocDataset } from './voc.js';
import type { DataWarnings } from './warnings.js';

export type DatasetSource =
  | {
      readonly format: 'voc';
      readonly root: string;
      readonly split?: string;
      readonly categories?: readonly string[];
    }
  | { readonly format: 'coco'; readonly annotations: string; readonly images: string }
  | { readonly format: 'folder'; readonly dir: string; readonly splitFile?: string }
  | { readonly format: 'bccd'; readonly split?: string };

export async function openDataset(
  source: DatasetSource,
  warnings?: DataWarnings,
): Promise<Dataset> {
  const w = warnings === undefined ? {} : { warnings };
  switch (source.format) {
    case 'voc':
      return loadVocDataset({
        root: source.root,
        ...(source.split === undefined ? {} : { split: source.split }),
        ...(source.categories === undefined ? {} : { categories: source.categories }),
        ...w,
      });
    case 'coco':
      return loadCocoDataset({
        annotationFile: source.annotations,
        imagesDir: source.images,
        ...w,
      });
    case 'folder':
      return loadImageFolder({
        dir: source.dir,
        ...(source.splitFile === undefined ? {} : { splitFile: source.splitFile }),
        ...w,
      });
    case 'bccd': {
      const split = source.split;
      if (split !== undefined && !(BCCD_SPLITS as readonly string[]).includes(split)) {
        throw new DatasetError(`BCCD has no split "${split}"`, {
          hint: `use one of ${BCCD_SPLITS.join(', ')}`,
        });
      }
      return loadBccd(split as BccdSplit | undefined, w);
    }
    default:
      return source satisfies never;
  }
}
