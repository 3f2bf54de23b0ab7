// Small synthetic images for the proposals tests, built in memory so the expected boxes are known
// exactly.

import type { RgbImage } from '../../runtime/data/image.js';

export type Rect = readonly [x1: number, y1: number, x2: number, y2: number];

/** A flat background with flat rectangles painted on it in order. */
export function paint(
  width: number,
  height: number,
  background: readonly [number, number, number],
  rects: readonly { rect: Rect; colour: readonly [number, number, number] }[],
): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(background, i * 3);
  for (const { rect, colour } of rects) {
    for (let y = rect[1]; y < rect[3]; y++) {
      for (let x = rect[0]; x < rect[2]; x++) data.set(colour, (y * width + x) * 3);
    }
  }
  return { width, height, data };
}

export const RED_RECT: Rect = [8, 8, 36, 30];
export const BLUE_RECT: Rect = [44, 20, 72, 52];

/** 80×60 grey image with a red rectangle [8, 8, 36, 30] and a blue one [44, 20, 72, 52]. */
export function rectanglesImage(): RgbImage {
  return paint(
    80,
    60,
    [128, 128, 128],
    [
      { rect: RED_RECT, colour: [200, 30, 40] },
      { rect: BLUE_RECT, colour: [30, 60, 170] },
    ],
  );
}
