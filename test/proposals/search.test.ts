// Hierarchical grouping, selective search and the per-image proposal pipeline on synthetic images
// whose objects are known: merge order follows the similarity measures, every object's exact box is
// proposed, the output is deterministic per seed and respects the filters and top-k.

import { describe, expect, it } from 'vitest';
import { boxIou } from '../../runtime/data/proposals/box-ops.js';
import { groupRegions } from '../../runtime/data/proposals/grouping.js';
import { resolveProposalParams, ProposalParamError } from '../../runtime/data/proposals/params.js';
import { proposeBoxes } from '../../runtime/data/proposals/propose.js';
import {
  COLOUR_HIST_SIZE,
  TEXTURE_HIST_SIZE,
  type RegionFeatures,
} from '../../runtime/data/proposals/region-features.js';
import { selectiveSearch } from '../../runtime/data/proposals/selective-search.js';
import { BLUE_RECT, RED_RECT, paint, rectanglesImage } from './synthetic.js';

/** Three 10×10 regions side by side in a 30×10 image: A | B | C. */
function threeRegions(colourBins: readonly number[]): RegionFeatures {
  const colour = new Float32Array(3 * COLOUR_HIST_SIZE);
  colourBins.forEach((bin, r) => {
    colour[r * COLOUR_HIST_SIZE + bin] = 1;
  });
  const texture = new Float32Array(3 * TEXTURE_HIST_SIZE);
  for (let r = 0; r < 3; r++) texture[r * TEXTURE_HIST_SIZE] = 1;
  return {
    count: 3,
    imageSize: 300,
    sizes: Float64Array.from([100, 100, 100]),
    boxes: Int32Array.from([0, 0, 10, 10, 10, 0, 20, 10, 20, 0, 30, 10]),
    colour,
    texture,
    neighbours: Int32Array.from([0, 1, 1, 2]),
  };
}

describe('groupRegions', () => {
  it('merges the pair with the most similar colour first', () => {
    // B and C share a colour bin, A differs: B∪C = [10,0,30,10] is node 3, then everything.
    const measures = { colour: true, texture: false, size: false, fill: false };
    const h = groupRegions(threeRegions([0, 5, 5]), measures);
    expect(h.count).toBe(5);
    expect(Array.from(h.boxes.subarray(12, 16))).toEqual([10, 0, 30, 10]);
    expect(Array.from(h.boxes.subarray(16, 20))).toEqual([0, 0, 30, 10]);
    expect(Array.from(h.levels)).toEqual([1, 1, 1, 2, 3]);
    // With A and B alike instead, A∪B comes first.
    const h2 = groupRegions(threeRegions([5, 5, 0]), measures);
    expect(Array.from(h2.boxes.subarray(12, 16))).toEqual([0, 0, 20, 10]);
  });

  it('size similarity merges small regions first', () => {
    const f = threeRegions([0, 0, 0]);
    const sizes = Float64Array.from([10, 30, 100]);
    const h = groupRegions(
      { ...f, sizes },
      { colour: false, texture: false, size: true, fill: false },
    );
    // 1 − (10+30)/300 > 1 − (30+100)/300: A∪B first.
    expect(Array.from(h.boxes.subarray(12, 16))).toEqual([0, 0, 20, 10]);
  });
});

describe('selectiveSearch', () => {
  const settings = resolveProposalParams({ minSize: 20, scale: 100 });

  it('proposes the exact box of each of two flat rectangles', () => {
    const boxes = selectiveSearch(rectanglesImage(), settings);
    expect(boxes).toContainEqual(RED_RECT);
    expect(boxes).toContainEqual(BLUE_RECT);
    // Distinct boxes only.
    expect(new Set(boxes.map((b) => b.join(','))).size).toBe(boxes.length);
  });

  it('finds three touching rectangles of different colours on a textured background', () => {
    const rects = [
      { rect: [10, 10, 50, 40] as const, colour: [220, 40, 40] as const },
      { rect: [50, 10, 90, 40] as const, colour: [40, 200, 60] as const },
      { rect: [30, 50, 80, 90] as const, colour: [50, 50, 220] as const },
    ];
    const image = paint(100, 100, [120, 110, 100], rects);
    // Stripes on the background, so it is not one flat colour.
    for (let y = 0; y < 100; y += 4) {
      for (let x = 0; x < 100; x++) {
        const inside = rects.some(
          ({ rect }) => x >= rect[0] && x < rect[2] && y >= rect[1] && y < rect[3],
        );
        if (!inside) image.data.set([100, 95, 90], (y * 100 + x) * 3);
      }
    }
    const boxes = selectiveSearch(image, settings);
    for (const { rect } of rects) {
      const best = Math.max(...boxes.map((b) => boxIou(b, rect)));
      expect(best).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('is deterministic for a seed, and the seed changes the ranking', () => {
    const image = rectanglesImage();
    const a = selectiveSearch(image, settings);
    const b = selectiveSearch(image, settings);
    expect(b).toEqual(a);
    const other = selectiveSearch(image, { ...settings, seed: 7 });
    expect(new Set(other.map((x) => x.join(',')))).toEqual(new Set(a.map((x) => x.join(','))));
    expect(other).not.toEqual(a);
  });
});

describe('proposeBoxes', () => {
  it('keeps only boxes that pass the filter, after NMS, at most top', () => {
    const params = resolveProposalParams({ minSize: 20, scale: 100, minSide: 20, top: 3 });
    const image = rectanglesImage();
    const result = proposeBoxes(image, params);
    expect(result.stage).toBe('full');
    expect(result.boxes.length).toBeLessThanOrEqual(3);
    expect(result.boxes.length).toBeGreaterThan(0);
    const rel = (b: readonly number[]): number =>
      Math.sqrt((b[2] - b[0]) * (b[3] - b[1])) / Math.sqrt(80 * 60);
    for (const b of result.boxes) {
      expect(b[2] - b[0]).toBeGreaterThanOrEqual(20);
      expect(b[3] - b[1]).toBeGreaterThanOrEqual(20);
      expect(
        Math.max((b[2] - b[0]) / (b[3] - b[1]), (b[3] - b[1]) / (b[2] - b[0])),
      ).toBeLessThanOrEqual(3);
      expect(rel(b)).toBeLessThanOrEqual(0.8);
      expect(b[0]).toBeGreaterThanOrEqual(0);
      expect(b[2]).toBeLessThanOrEqual(80);
    }
    for (let i = 0; i < result.boxes.length; i++) {
      for (let j = i + 1; j < result.boxes.length; j++) {
        expect(boxIou(result.boxes[i], result.boxes[j])).toBeLessThanOrEqual(0.5);
      }
    }
    const all = proposeBoxes(image, { ...params, top: 0 });
    // Smoothing gives each rectangle a 2 px halo region whose box can win NMS over the exact one.
    for (const rect of [RED_RECT, BLUE_RECT]) {
      expect(Math.max(...all.boxes.map((b) => boxIou(b, rect)))).toBeGreaterThanOrEqual(0.7);
    }
    expect(all.boxes.slice(0, 3)).toEqual(result.boxes);
  });

  it('falls back when the image is too small for the 32 px filter, and reports empty images', () => {
    const params = resolveProposalParams({ minSize: 5 });
    // A flat image has one region, the whole image: too large for √area ratio ≤ 0.8 …
    expect(proposeBoxes(paint(40, 40, [10, 10, 10], []), params)).toEqual({
      boxes: [[0, 0, 40, 40]],
      candidates: 1,
      stage: 'aspect-only',
    });
    // … and also too elongated (140/33 > 3) …
    expect(proposeBoxes(paint(140, 33, [10, 10, 10], []), params).stage).toBe('min-side-only');
    // … and under 32 px: nothing is left.
    expect(proposeBoxes(paint(20, 20, [10, 10, 10], []), params)).toEqual({
      boxes: [],
      candidates: 1,
      stage: 'empty',
    });
  });
});

describe('resolveProposalParams', () => {
  it('fills defaults and names the bad parameter', () => {
    expect(resolveProposalParams().top).toBe(100);
    expect(() => resolveProposalParams({ nms: 0 })).toThrow(ProposalParamError);
    expect(() => resolveProposalParams({ maxAspect: 0.5 })).toThrow(/maxAspect/);
  });
});
