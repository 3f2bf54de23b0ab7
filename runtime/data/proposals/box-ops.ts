// Box geometry for proposals: IoU, greedy NMS in rank order, and AlignDet's (SoCo's) size / aspect
// filters with the empty-image fallbacks. Data side of the flow: ranked selective-search boxes →
// filtered, de-duplicated, top-k pseudo boxes.
//
// Boxes are [x1, y1, x2, y2] in pixels with x2/y2 exclusive, so w = x2 − x1 is the true pixel width
// (SoCo's w = max_x − min_x is one pixel short; AlignDet's ≥ 32 px therefore keeps boxes one pixel
// narrower here than there).

/** [x1, y1, x2, y2] in pixels, x2/y2 exclusive. */
export type Box = readonly [number, number, number, number];

export function boxIou(a: Box, b: Box): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Greedy NMS over boxes already in priority order: a box is kept unless its IoU with a kept box is
 * above `threshold`. Stops after `limit` kept boxes (0 = no limit). Returns the kept boxes in order.
 */
export function nmsInOrder(boxes: readonly Box[], threshold: number, limit = 0): Box[] {
  const kept: Box[] = [];
  if (threshold >= 1) return limit > 0 ? boxes.slice(0, limit) : boxes.slice();
  for (const box of boxes) {
    let suppressed = false;
    for (const k of kept) {
      if (boxIou(box, k) > threshold) {
        suppressed = true;
        break;
      }
    }
    if (suppressed) continue;
    kept.push(box);
    if (limit > 0 && kept.length >= limit) break;
  }
  return kept;
}

export interface BoxFilter {
  readonly minSide: number;
  readonly maxAspect: number;
  readonly minRelSize: number;
  readonly maxRelSize: number;
}

/** Which filter produced an image's boxes: the full one, or a fallback because it left none. */
export type FilterStage = 'full' | 'aspect-only' | 'min-side-only' | 'empty';

function sideOk(w: number, h: number, f: BoxFilter): boolean {
  return w >= f.minSide && h >= f.minSide;
}

function aspectOk(w: number, h: number, f: BoxFilter): boolean {
  return w <= f.maxAspect * h && h <= f.maxAspect * w;
}

function sizeOk(
  w: number,
  h: number,
  imageWidth: number,
  imageHeight: number,
  f: BoxFilter,
): boolean {
  const rel = Math.sqrt(w * h) / Math.sqrt(imageWidth * imageHeight);
  return rel >= f.minRelSize && rel <= f.maxRelSize;
}

/**
 * SoCo's `filter_ratio_size` (min side, aspect, relative size), and for an image it leaves empty
 * SoCo's post-pass: min side + aspect (`filter_ratio`), then min side alone (`filter_none`).
 */
export function filterBoxes(
  boxes: readonly Box[],
  imageWidth: number,
  imageHeight: number,
  f: BoxFilter,
): { boxes: Box[]; stage: FilterStage } {
  const full = boxes.filter((b) => {
    const w = b[2] - b[0];
    const h = b[3] - b[1];
    return sideOk(w, h, f) && aspectOk(w, h, f) && sizeOk(w, h, imageWidth, imageHeight, f);
  });
  if (full.length > 0) return { boxes: full, stage: 'full' };
  const aspect = boxes.filter((b) => {
    const w = b[2] - b[0];
    const h = b[3] - b[1];
    return sideOk(w, h, f) && aspectOk(w, h, f);
  });
  if (aspect.length > 0) return { boxes: aspect, stage: 'aspect-only' };
  const side = boxes.filter((b) => sideOk(b[2] - b[0], b[3] - b[1], f));
  if (side.length > 0) return { boxes: side, stage: 'min-side-only' };
  return { boxes: [], stage: 'empty' };
}
