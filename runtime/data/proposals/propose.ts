// Proposals for one decoded image, as AlignDet uses them: ranked selective-search boxes → SoCo/AlignDet
// filters (with the empty-image fallbacks) → greedy NMS in rank order → the first `top` boxes. Data
// side of the flow: RGB image → pseudo boxes; called per image by the worker pool (pool.ts).

import type { RgbImage } from '../image.js';
import { filterBoxes, nmsInOrder } from './box-ops.js';
import type { Box, FilterStage } from './box-ops.js';
import type { ProposalParams } from './params.js';
import { selectiveSearch } from './selective-search.js';

export interface ImageProposals {
  /** The final boxes, in rank order: index 0 is the best-ranked. */
  readonly boxes: Box[];
  /** Distinct selective-search boxes before filtering. */
  readonly candidates: number;
  /** Which filter stage produced the boxes ('empty' when even the last fallback left none). */
  readonly stage: FilterStage;
}

export function proposeBoxes(image: RgbImage, params: ProposalParams): ImageProposals {
  const ranked = selectiveSearch(image, params);
  const filtered = filterBoxes(ranked, image.width, image.height, params);
  return {
    boxes: nmsInOrder(filtered.boxes, params.nms, params.top),
    candidates: ranked.length,
    stage: filtered.stage,
  };
}
