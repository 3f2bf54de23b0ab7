// Drawing box outlines into RGB pixels (runtime/report: sample record + decoded image → the PNG
// panels of the HTML report). Plain loops over runtime/data/image.ts's interleaved RGB layout; no
// anti-aliasing (boxes stay crisp after PNG palette quantisation).

import type { RgbImage } from '../data/image.js';

export type Rgb = readonly [number, number, number];

export interface OutlineStyle {
  readonly colour: Rgb;
  /** Line width in pixels, drawn inward from the box edge. */
  readonly thickness: number;
  /** [on, off] pixel lengths for a dashed outline; solid when absent. */
  readonly dash?: readonly [number, number];
}

/**
 * Draws the outline of box [x1, y1, x2, y2] (0-based pixel-edge coordinates: it covers columns
 * x1 ≤ x < x2) into `image.data`, clipped to the image. The outline's outer pixels are the box's
 * first and last covered column and row, after rounding the edges to whole pixels.
 */
export function drawOutline(
  image: RgbImage,
  box: readonly [number, number, number, number],
  style: OutlineStyle,
): void {
  const left = Math.round(box[0]);
  const top = Math.round(box[1]);
  const right = Math.round(box[2]) - 1;
  const bottom = Math.round(box[3]) - 1;
  if (right < left || bottom < top) return;
  const t = Math.max(1, Math.round(style.thickness));
  const on = style.dash?.[0] ?? 1;
  const period = style.dash ? style.dash[0] + style.dash[1] : 1;
  const put = (x: number, y: number, along: number): void => {
    if (x < 0 || y < 0 || x >= image.width || y >= image.height) return;
    if (along % period >= on) return;
    const i = (y * image.width + x) * 3;
    image.data[i] = style.colour[0];
    image.data[i + 1] = style.colour[1];
    image.data[i + 2] = style.colour[2];
  };
  for (let k = 0; k < t; k++) {
    // Top and bottom edges, then left and right; `along` keeps the dash phase per edge.
    for (let x = left; x <= right; x++) {
      put(x, top + k, x - left);
      put(x, bottom - k, x - left);
    }
    for (let y = top; y <= bottom; y++) {
      put(left + k, y, y - top);
      put(right - k, y, y - top);
    }
  }
}

/** A box in the coordinates of the image resized by `factor` (same factor on both axes). */
export function scaleBox(
  box: readonly [number, number, number, number],
  factor: number,
): [number, number, number, number] {
  return [box[0] * factor, box[1] * factor, box[2] * factor, box[3] * factor];
}

/** "#rrggbb" → [r, g, b]. */
export function rgbOfHex(hex: string): Rgb {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new Error(`not a #rrggbb colour: ${hex}`);
  return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)];
}
