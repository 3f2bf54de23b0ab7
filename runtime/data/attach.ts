// Pseudo boxes for box-domain pre-training: proposals (a COCO file written by
// runtime/data/proposals, read with loadCocoDataset) attached to the images of a dataset as
// unlabelled boxes. Data side of the flow: images + proposals → Dataset with pseudo boxes → views →
// batches. Top-k keeps the first k boxes in file order, as AlignDet's SelectTopKProposals does
// (aligndet-spec §2.2); images with no proposals keep zero boxes and are dropped by the loader.

import type { Dataset, Sample } from './dataset.js';

export interface AttachOptions {
  /** Keep at most this many proposals per image (first in file order). */
  readonly topK?: number;
  /** Match proposals to images by COCO image id (default) or by key (file stem). */
  readonly matchBy?: 'imageId' | 'key';
}

/** The images of `images` with the boxes of `proposals` (labels 0, not crowd). */
export function attachProposals(
  images: Dataset,
  proposals: Dataset,
  options: AttachOptions = {},
): Dataset {
  const matchBy = options.matchBy ?? 'imageId';
  const keyOf = (s: Sample): string => (matchBy === 'imageId' ? String(s.imageId) : s.key);
  const byKey = new Map(proposals.samples.map((s) => [keyOf(s), s]));
  const samples = images.samples.map((image): Sample => {
    const found = byKey.get(keyOf(image));
    const available = found === undefined ? 0 : found.boxes.length / 4;
    const n = Math.min(available, options.topK ?? available);
    return {
      ...image,
      boxes: found === undefined ? new Float64Array(0) : found.boxes.slice(0, n * 4),
      labels: new Int32Array(n),
      crowd: new Uint8Array(n),
    };
  });
  return {
    name: `${images.name}+${proposals.name}`,
    labelled: true,
    categories: [{ id: 0, name: 'selective_search' }],
    samples,
  };
}
