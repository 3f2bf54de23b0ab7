// Image decoding: JPEG / PNG files → 8-bit RGB pixels in memory. The first step of the data side of
// the flow (files → images → proposals / views → batches).
//
// Decoding uses sharp (libvips): the best-kept image library for Node, prebuilt for linux-x64 inside
// its npm package (no download at install), fast, and it reports corrupt or truncated files as
// errors instead of returning garbage pixels.

import sharp from 'sharp';
import { AlignError } from '../errors.js';

/** Interleaved 8-bit RGB, row-major: pixel (x, y) channel c is data[(y * width + x) * 3 + c]. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export class ImageDecodeError extends AlignError {
  readonly code = 'E_IMAGE_DECODE';
}

/** Decodes a JPEG or PNG file (or bytes) to RGB; alpha is dropped, grey is expanded, EXIF rotation is not applied (boxes are in stored-pixel coordinates). */
export async function decodeImage(source: string | Uint8Array, name?: string): Promise<RgbImage> {
  const label = name ?? (typeof source === 'string' ? source : '<bytes>');
  try {
    const { data, info } = await sharp(source, { failOn: 'truncated' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) {
      throw new Error(`expected 3 channels after conversion, got ${info.channels}`);
    }
    return {
      width: info.width,
      height: info.height,
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ImageDecodeError(`cannot decode image ${label}: ${reason}`, {
      hint: 'the file is corrupt, truncated or not a JPEG/PNG; remove it or replace it',
      cause: error,
    });
  }
}

/** Encodes RGB pixels as PNG bytes (for reports and debugging pictures). */
export async function encodePng(image: RgbImage): Promise<Uint8Array> {
  const buffer = await sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: 3 },
  })
    .png()
    .toBuffer();
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Reads only the header of a JPEG or PNG file: its stored pixel size (no EXIF rotation). */
export async function readImageSize(
  source: string | Uint8Array,
  name?: string,
): Promise<{ width: number; height: number }> {
  const label = name ?? (typeof source === 'string' ? source : '<bytes>');
  try {
    const meta = await sharp(source).metadata();
    if (meta.width === undefined || meta.height === undefined) {
      throw new Error('the header has no size');
    }
    if (meta.format !== 'jpeg' && meta.format !== 'png') {
      throw new Error(`format ${meta.format} is not JPEG or PNG`);
    }
    return { width: meta.width, height: meta.height };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ImageDecodeError(`cannot read image header ${label}: ${reason}`, {
      hint: 'the file is corrupt, truncated or not a JPEG/PNG; remove it or replace it',
      cause: error,
    });
  }
}
