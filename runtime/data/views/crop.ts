// Random resized crop for image-domain style views (data side of the flow: sample → view → batch).
// The crop window is drawn as torchvision's RandomResizedCrop.get_params does (area fraction and
// log-uniform aspect ratio, 10 tries, then a centre crop that fits the ratio range); the window is
// cut out and resized bilinearly to the output size (resize.ts: OpenCV-style bilinear, no
// antialiasing, where torchvision's PIL path antialiases when shrinking). Boxes are shifted, clipped to the window and
// scaled; a box with nothing left inside keeps its row with valid = 0, so index i still names the
// same proposal in both views.

import type { RgbImage } from '../image.js';
import type { Rng } from '../../rng.js';
import type { Size } from './geometry.js';
import { resizeRgb } from './resize.js';

export interface CropWindow {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Python's `round` (half to even), which torchvision's window sizes use. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The draws a crop window needs (an Rng; tests script them). */
export type CropDraws = Pick<Rng, 'uniformIn' | 'int'>;

/**
 * Draws a crop window of an image of `size` as torchvision's `RandomResizedCrop.get_params`:
 * up to 10 tries of (area fraction in `scale`, log-uniform aspect ratio w/h in `ratio`), each
 * size rounded half to even; the first that fits takes a uniform position (row, then column);
 * otherwise the centred crop of the image clamped to the ratio range.
 */
export function randomCropWindow(
  size: Size,
  scale: readonly [number, number],
  ratio: readonly [number, number],
  rng: CropDraws,
): CropWindow {
  const { width, height } = size;
  const area = width * height;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniformIn(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniformIn(logLo, logHi));
    const w = roundHalfEven(Math.sqrt(target * aspect));
    const h = roundHalfEven(Math.sqrt(target / aspect));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      const y = rng.int(0, height - h + 1);
      const x = rng.int(0, width - w + 1);
      return { x, y, width: w, height: h };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < Math.min(ratio[0], ratio[1])) h = roundHalfEven(w / Math.min(ratio[0], ratio[1]));
  else if (inRatio > Math.max(ratio[0], ratio[1]))
    w = roundHalfEven(h * Math.max(ratio[0], ratio[1]));
  return { x: Math.floor((width - w) / 2), y: Math.floor((height - h) / 2), width: w, height: h };
}

/** Cuts the window out of the image (no resampling). */
export function cropImage(image: RgbImage, window: CropWindow): RgbImage {
  const data = new Uint8Array(window.width * window.height * 3);
  for (let row = 0; row < window.height; row++) {
    const from = ((window.y + row) * image.width + window.x) * 3;
    data.set(image.data.subarray(from, from + window.width * 3), row * window.width * 3);
  }
  return { width: window.width, height: window.height, data };
}

/** Cuts the window out and resizes it to `to`. */
export function cropAndResize(image: RgbImage, window: CropWindow, to: Size): RgbImage {
  return resizeRgb(cropImage(image, window), to.width, to.height);
}
