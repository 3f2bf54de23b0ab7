// Plain image folders: unlabelled images (JPEG/PNG) with no boxes, the input of box-domain
// pre-training before proposals are attached. Data side of the flow: folder → Dataset → proposals
// (runtime/data/proposals) → views → batches.

import { join } from 'node:path';
import { readImageSize } from './image.js';
import { imageIdsFor, type Dataset, type Sample } from './dataset.js';
import { listFiles, readSplitFile } from './files.js';
import { DataWarnings, readInOrder } from './warnings.js';

export interface FolderOptions {
  readonly dir: string;
  /** A split file listing image names (with or without extension); all images when absent. */
  readonly splitFile?: string;
  readonly warnings?: DataWarnings;
  readonly name?: string;
}

const EXTENSIONS = ['.jpg', '.jpeg', '.png'];

/** Lists the folder's images in code-unit order and reads their headers; unreadable ones are skipped. */
export async function loadImageFolder(options: FolderOptions): Promise<Dataset> {
  const warnings = options.warnings ?? new DataWarnings();
  let files = await listFiles(options.dir, EXTENSIONS);
  if (options.splitFile !== undefined) {
    const wanted = await readSplitFile(options.splitFile);
    const byStem = new Map(files.map((f) => [f.replace(/\.[^.]+$/, ''), f]));
    const byName = new Set(files);
    files = [];
    for (const name of wanted) {
      const found = byName.has(name) ? name : byStem.get(name);
      if (found === undefined) {
        warnings.add(
          'missing-image',
          `${options.splitFile}: ${name}`,
          `no such image in ${options.dir}`,
        );
      } else {
        files.push(found);
      }
    }
  }
  const stems = files.map((f) => f.replace(/\.[^.]+$/, ''));
  const ids = imageIdsFor(stems);
  const read = await readInOrder(
    files.map((file, k) => ({ file, k })),
    warnings,
    async ({ file, k }, recorder): Promise<Sample | undefined> => {
      const path = join(options.dir, file);
      try {
        const size = await readImageSize(path);
        return {
          key: stems[k],
          imageId: ids[k],
          imagePath: path,
          ...size,
          boxes: new Float64Array(0),
          labels: new Int32Array(0),
          crowd: new Uint8Array(0),
        };
      } catch (error) {
        recorder.add('corrupt-image', path, (error as Error).message);
        return undefined;
      }
    },
  );
  return {
    name: options.name ?? options.dir,
    labelled: false,
    categories: [],
    samples: read.filter((s): s is Sample => s !== undefined),
  };
}
