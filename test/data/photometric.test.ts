// Photometric view ops against Pillow (fixtures from scripts/data_goldens.py) and hand-checked values.

import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { RgbImage } from '../../runtime/data/image.js';
import {
  autocontrast,
  enhance,
  equalize,
  grayscale,
  posterize,
  randAug,
  solarize,
  type RandAugOp,
} from '../../runtime/data/views/photometric.js';

interface Goldens {
  width: number;
  height: number;
  image: number[];
  rand_aug: { op: RandAugOp; magnitude: number; pixels: number[] }[];
  dull_image: number[];
  dull_autocontrast: number[];
  dull_equalize: number[];
  grayscale: number[];
}

const golden = JSON.parse(readFileSync('test/fixtures/data/view-goldens.json', 'utf8')) as Goldens;
const image: RgbImage = {
  width: golden.width,
  height: golden.height,
  data: Uint8Array.from(golden.image),
};
const dull: RgbImage = { ...image, data: Uint8Array.from(golden.dull_image) };

function maxDiff(a: Uint8Array, b: readonly number[]): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('RandAug ops match Pillow exactly', () => {
  for (const g of golden.rand_aug) {
    test(`${g.op} m=${g.magnitude}`, () => {
      expect(maxDiff(randAug(image, g.op, g.magnitude).data, g.pixels)).toBe(0);
    });
  }
  test('autocontrast and equalize on a low-contrast image', () => {
    expect(maxDiff(autocontrast(dull).data, golden.dull_autocontrast)).toBe(0);
    expect(maxDiff(equalize(dull).data, golden.dull_equalize)).toBe(0);
  });
  test('grayscale = convert(L).convert(RGB)', () => {
    expect(maxDiff(grayscale(image).data, golden.grayscale)).toBe(0);
  });
});

describe('large images', () => {
  test('the 64 Ki blend table gives the same bytes as the per-value path', () => {
    // 160×140 = 22 400 pixels = 67 200 values, above the table threshold; tiles of the golden image
    // are compared with the per-value result on each tile.
    const tiles = { x: 7, y: 9 };
    const big: RgbImage = {
      width: image.width * tiles.x,
      height: image.height * tiles.y,
      data: new Uint8Array(0),
    };
    const data = new Uint8Array(big.width * big.height * 3);
    for (let y = 0; y < big.height; y++) {
      for (let x = 0; x < big.width; x++) {
        const from = ((y % image.height) * image.width + (x % image.width)) * 3;
        data.set(image.data.subarray(from, from + 3), (y * big.width + x) * 3);
      }
    }
    const large = { ...big, data };
    // (Contrast is left out: its degenerate is the whole image's mean, which tiling does not keep.)
    for (const op of ['color', 'brightness'] as const) {
      for (const m of [1, 9]) {
        const whole = randAug(large, op, m).data;
        const tile = golden.rand_aug.find((g) => g.op === op && g.magnitude === m)!.pixels;
        for (let y = 0; y < big.height; y++) {
          for (let x = 0; x < big.width; x++) {
            const from = ((y % image.height) * image.width + (x % image.width)) * 3;
            for (let c = 0; c < 3; c++) {
              if (whole[(y * big.width + x) * 3 + c] !== tile[from + c])
                throw new Error(`${op} m=${m} (${x}, ${y})`);
            }
          }
        }
      }
    }
  });
});

describe('hand-checked values', () => {
  const px = (...v: number[]): RgbImage => ({
    width: v.length / 3,
    height: 1,
    data: Uint8Array.from(v),
  });
  test('solarize inverts values at or above the threshold only', () => {
    // m = 5 → threshold ⌊5·25.6⌋ = 128: 127 stays, 128 → 127, 200 → 55.
    expect(Array.from(randAug(px(127, 128, 200), 'solarize', 5).data)).toEqual([127, 127, 55]);
    expect(Array.from(solarize(px(0, 255, 10), 11).data)).toEqual([0, 0, 10]);
  });
  test('posterize keeps the top bits (m = 9 → 4 − 3 = 1 bit)', () => {
    expect(Array.from(randAug(px(127, 128, 255), 'posterize', 9).data)).toEqual([0, 128, 128]);
    expect(Array.from(posterize(px(0xab, 0x0f, 0xf0), 4).data)).toEqual([0xa0, 0x00, 0xf0]);
  });
  test('autocontrast stretches [50, 100] per channel, truncating like Pillow', () => {
    // scale = 255/50 = 5.1 in binary floating point, offset = −50·scale: 75 → ⌊127.50000000000003⌋ =
    // 127, and 100 → ⌊254.99999999999997⌋ = 254, not 255 (Pillow gives the same; checked by hand).
    const out = autocontrast(px(50, 50, 50, 75, 75, 75, 100, 100, 100));
    expect(Array.from(out.data)).toEqual([0, 0, 0, 127, 127, 127, 254, 254, 254]);
  });
  test('brightness blends with black and truncates: 101 · 0.28 = 28.28 → 28', () => {
    // m = 1 → factor 0.1 + 0.18 = 0.28; 250 · 1.72 = 430 → clamped 255.
    expect(Array.from(randAug(px(101, 0, 250), 'brightness', 1).data)).toEqual([28, 0, 70]);
    expect(Array.from(enhance(px(101, 0, 250), 'brightness', 1.72).data)).toEqual([173, 0, 255]);
  });
  test('color at factor 0 is the luma grey: (19595·255 + 2^15) >> 16 = 76 for pure red', () => {
    expect(Array.from(enhance(px(255, 0, 0), 'color', 0).data)).toEqual([76, 76, 76]);
  });
});
