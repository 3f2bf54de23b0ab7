// The fixed parameters of COCO bbox evaluation (runtime/eval), bit for bit as pycocotools'
// `Params.setDetParams` builds them: the thresholds come from `np.linspace`, whose values differ
// from the decimals in the last bit (0.9 is 0.8999999999999999, 0.35 is 0.35000000000000003), and
// a match at exactly the threshold counts, so the exact values matter.

/** `np.linspace(start, stop, num)`: `i * ((stop - start) / (num - 1)) + start`, last = stop. */
export function numpyLinspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}

/** IoU thresholds .50:.05:.95. */
export const IOU_THRESHOLDS: Float64Array = numpyLinspace(0.5, 0.95, 10);

/** Recall thresholds 0:.01:1 for 101-point interpolated precision. */
export const RECALL_THRESHOLDS: Float64Array = numpyLinspace(0, 1, 101);

/** The maxDets of the summary; the last one is the per-image-per-category cut. */
export const MAX_DETECTIONS = [1, 10, 100] as const;

export type AreaRangeName = 'all' | 'small' | 'medium' | 'large';

export interface AreaRange {
  readonly name: AreaRangeName;
  /** Inclusive on both sides: an area of exactly 32² is both small and medium. */
  readonly min: number;
  readonly max: number;
}

export const AREA_RANGES: readonly AreaRange[] = [
  { name: 'all', min: 0, max: 1e5 ** 2 },
  { name: 'small', min: 0, max: 32 ** 2 },
  { name: 'medium', min: 32 ** 2, max: 96 ** 2 },
  { name: 'large', min: 96 ** 2, max: 1e5 ** 2 },
];

export function outsideRange(area: number, range: AreaRange): boolean {
  return area < range.min || area > range.max;
}

/** numpy's `np.spacing(1)`, added to tp + fp in the precision denominator. */
export const PRECISION_EPS = 2.220446049250313e-16;

/** The index of an IoU threshold, found by exact equality as pycocotools' `np.where` does. */
export function iouThresholdIndex(value: number): number {
  const t = IOU_THRESHOLDS.indexOf(value);
  if (t < 0) throw new Error(`internal: IoU threshold ${value} is not one of the evaluated ones`);
  return t;
}
