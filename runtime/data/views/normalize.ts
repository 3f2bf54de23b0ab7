// Normalisation, the last step of a view (data side of the flow: view → batch → GPU): 8-bit RGB,
// interleaved HWC → float32 CHW with (value − mean) / std per channel. As in the reference pipeline it
// runs after padding, so pad pixels (0) become −mean/std.

import type { RgbImage } from '../image.js';

/** ImageNet mean and std on the 0..255 scale, RGB order (the torchvision / mmdet defaults). */
export const IMAGENET_MEAN = [123.675, 116.28, 103.53] as const;
export const IMAGENET_STD = [58.395, 57.12, 57.375] as const;

/** Writes the normalised image into `out` (length ≥ 3·H·W) at `offset`, channel-major (CHW). */
export function normalizeInto(
  image: RgbImage,
  mean: readonly [number, number, number],
  std: readonly [number, number, number],
  out: Float32Array,
  offset = 0,
): void {
  const plane = image.width * image.height;
  if (out.length < offset + 3 * plane) throw new RangeError('normalize: output array too small');
  for (let c = 0; c < 3; c++) {
    const m = mean[c];
    const s = std[c];
    const base = offset + c * plane;
    for (let i = 0; i < plane; i++) out[base + i] = (image.data[i * 3 + c] - m) / s;
  }
}

/** The image as a fresh CHW float32 array. */
export function normalizeToChw(
  image: RgbImage,
  mean: readonly [number, number, number] = IMAGENET_MEAN,
  std: readonly [number, number, number] = IMAGENET_STD,
): Float32Array {
  const out = new Float32Array(3 * image.width * image.height);
  normalizeInto(image, mean, std, out);
  return out;
}
