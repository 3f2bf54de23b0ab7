// Box outlines drawn into RGB pixels (runtime/report/draw-boxes.ts): exactly which pixels change,
// on a tiny image, against a pixel map written out by hand.

import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../../runtime/data/image.js';
import { drawOutline, rgbOfHex } from '../../runtime/report/draw-boxes.js';

function blank(width: number, height: number): RgbImage {
  return { width, height, data: new Uint8Array(width * height * 3) };
}

/** The image as rows of '#' (red pixel) and '.' (untouched black). */
function picture(image: RgbImage): string[] {
  const rows: string[] = [];
  for (let y = 0; y < image.height; y++) {
    let row = '';
    for (let x = 0; x < image.width; x++) {
      const i = (y * image.width + x) * 3;
      const [r, g, b] = [image.data[i], image.data[i + 1], image.data[i + 2]];
      row += r === 255 && g === 0 && b === 0 ? '#' : r === 0 && g === 0 && b === 0 ? '.' : '?';
    }
    rows.push(row);
  }
  return rows;
}

const red = [255, 0, 0] as const;

describe('drawOutline', () => {
  it('outlines the covered pixels of a 0-based pixel-edge box', () => {
    const image = blank(7, 6);
    // Covers columns 1..4 and rows 1..3.
    drawOutline(image, [1, 1, 5, 4], { colour: red, thickness: 1 });
    expect(picture(image)).toEqual([
      '.......',
      '.####..',
      '.#..#..',
      '.####..',
      '.......',
      '.......',
    ]);
  });

  it('draws thickness inward and clips at the image border', () => {
    const image = blank(6, 6);
    drawOutline(image, [-2, 2, 4.4, 9], { colour: red, thickness: 2 });
    expect(picture(image)).toEqual(['......', '......', '####..', '####..', '..##..', '..##..']);
  });

  it('dashes with [on, off] along each edge', () => {
    const image = blank(8, 3);
    drawOutline(image, [0, 0, 8, 3], { colour: red, thickness: 1, dash: [2, 1] });
    expect(picture(image)).toEqual(['##.##.##', '#......#', '##.##.##']);
  });

  it('parses #rrggbb', () => {
    expect(rgbOfHex('#0072b2')).toEqual([0, 114, 178]);
    expect(() => rgbOfHex('red')).toThrow(/#rrggbb/);
  });
});
