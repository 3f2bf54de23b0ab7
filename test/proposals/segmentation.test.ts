// Felzenszwalb segmentation, colour conversions and region features against OpenCV goldens
// (scripts/proposals-golden.py) and hand-checkable synthetic images.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { convertColourSpace } from '../../runtime/data/proposals/colour-space.js';
import {
  buildEdgeGraph,
  segmentGraph,
  sortByFloatKey,
} from '../../runtime/data/proposals/felzenszwalb.js';
import {
  COLOUR_HIST_SIZE,
  TEXTURE_HIST_SIZE,
  pixelBins,
  regionFeatures,
} from '../../runtime/data/proposals/region-features.js';
import { rectanglesImage } from './synthetic.js';

interface Golden {
  colours: { rgb: number[][]; hsv: number[][]; lab: number[][] };
  segmentation: {
    width: number;
    height: number;
    sigma: number;
    k: number;
    minSize: number;
    rgb: number[];
    labels: number[];
  };
}

const golden = JSON.parse(
  readFileSync(new URL('../fixtures/proposals/opencv-golden.json', import.meta.url), 'utf8'),
) as Golden;

describe('colour spaces', () => {
  const rgb = Uint8Array.from(golden.colours.rgb.flat());
  const image = { width: golden.colours.rgb.length, height: 1, data: rgb };

  it.each(['hsv', 'lab'] as const)('%s matches OpenCV 8-bit cvtColor within 1', (space) => {
    const ours = convertColourSpace(image, space);
    const theirs = golden.colours[space].flat();
    let worst = 0;
    for (let i = 0; i < theirs.length; i++) {
      let d = Math.abs(ours[i] - theirs[i]);
      // Hue is circular (0..179): 0 and 179 are neighbours.
      if (space === 'hsv' && i % 3 === 0) d = Math.min(d, 180 - d);
      worst = Math.max(worst, d);
    }
    expect(worst).toBeLessThanOrEqual(1);
  });
});

describe('Felzenszwalb segmentation', () => {
  it('matches OpenCV ximgproc label for label on a noisy three-rectangle image', () => {
    const s = golden.segmentation;
    const graph = buildEdgeGraph(Uint8Array.from(s.rgb), s.width, s.height, 3, s.sigma);
    const seg = segmentGraph(graph, s.k, s.minSize);
    expect(seg.count).toBe(Math.max(...s.labels) + 1);
    expect(Array.from(seg.labels)).toEqual(s.labels);
  });

  it('splits two flat rectangles from the background, with their exact boxes', () => {
    const image = rectanglesImage();
    const graph = buildEdgeGraph(image.data, image.width, image.height, 3, 0);
    const seg = segmentGraph(graph, 100, 10);
    expect(seg.count).toBe(3);
    const features = regionFeatures(seg, pixelBins(image.data, image.width, image.height, 'rgb'));
    const boxes = [0, 1, 2].map((r) => Array.from(features.boxes.subarray(r * 4, r * 4 + 4)));
    expect(boxes).toContainEqual([8, 8, 36, 30]);
    expect(boxes).toContainEqual([44, 20, 72, 52]);
    expect(boxes).toContainEqual([0, 0, 80, 60]);
    expect(Array.from(features.sizes).sort((a, b) => a - b)).toEqual([
      28 * 22,
      28 * 32,
      80 * 60 - 28 * 22 - 28 * 32,
    ]);
    // Every region touches the background and the rectangles do not touch each other.
    const background = Array.from(features.sizes).indexOf(80 * 60 - 28 * 22 - 28 * 32);
    const pairs = Array.from(features.neighbours);
    expect(pairs.length).toBe(4);
    for (let i = 0; i < pairs.length; i += 2) expect(pairs.slice(i, i + 2)).toContain(background);
  });

  it('sorts float keys like a stable comparison sort', () => {
    const keys = new Float32Array(5000);
    let state = 12345;
    for (let i = 0; i < keys.length; i++) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      keys[i] = (state % 1000) / 7; // many ties
    }
    const expected = Array.from(keys.keys()).sort((a, b) => keys[a] - keys[b] || a - b);
    expect(Array.from(sortByFloatKey(keys))).toEqual(expected);
  });
});

describe('region histograms', () => {
  it('are L1-normalised and a flat region has one colour bin per channel', () => {
    const image = rectanglesImage();
    const graph = buildEdgeGraph(image.data, image.width, image.height, 3, 0);
    const seg = segmentGraph(graph, 100, 10);
    const f = regionFeatures(seg, pixelBins(image.data, image.width, image.height, 'rgb'));
    for (let r = 0; r < f.count; r++) {
      const colour = f.colour.subarray(r * COLOUR_HIST_SIZE, (r + 1) * COLOUR_HIST_SIZE);
      const texture = f.texture.subarray(r * TEXTURE_HIST_SIZE, (r + 1) * TEXTURE_HIST_SIZE);
      expect(colour.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(texture.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      // Flat colour: exactly three non-empty colour bins (one per channel), each holding 1/3.
      const filled = Array.from(colour).filter((v) => v > 0);
      expect(filled.length).toBe(3);
      for (const v of filled) expect(v).toBeCloseTo(1 / 3, 5);
    }
    // The red rectangle (200, 30, 40): R bin floor(200·25/256) = 19, G 2, B 3.
    const red = Array.from(f.boxes).findIndex((_, i) => i % 4 === 0 && f.boxes[i] === 8) / 4;
    const hist = f.colour.subarray(red * COLOUR_HIST_SIZE, (red + 1) * COLOUR_HIST_SIZE);
    expect(hist[19]).toBeCloseTo(1 / 3, 5);
    expect(hist[25 + 2]).toBeCloseTo(1 / 3, 5);
    expect(hist[50 + 3]).toBeCloseTo(1 / 3, 5);
  });
});
