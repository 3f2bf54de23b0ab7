// The random resized crop's window (runtime/data/views/crop.ts) against torchvision's own
// RandomResizedCrop.get_params given the same unit draws (scripts/make-random-resized-crop-golden.py
// → test/fixtures/data/random-resized-crop.json): 10 tries of area fraction and log-uniform aspect
// ratio with Python's half-to-even rounding, the row-then-column position, and the centre-crop
// fallback; and the view op's output: a size×size image whose pixels are the window resized.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../../runtime/data/image.js';
import { cropImage, randomCropWindow, type CropDraws } from '../../runtime/data/views/crop.js';
import { runView } from '../../runtime/data/views/pipeline.js';
import { resizeRgb } from '../../runtime/data/views/resize.js';
import { Rng } from '../../runtime/rng.js';

interface Case {
  readonly width: number;
  readonly height: number;
  readonly scale: [number, number];
  readonly ratio: [number, number];
  readonly draws: number[];
  readonly used: number;
  readonly window: { x: number; y: number; width: number; height: number };
}

const golden = JSON.parse(
  readFileSync(join(import.meta.dirname, '../fixtures/data/random-resized-crop.json'), 'utf8'),
) as { cases: Case[] };

/** The scripted draws, with the formulas the golden script gave torchvision. */
function scripted(us: readonly number[]): CropDraws & { used: () => number } {
  let k = 0;
  const next = () => {
    if (k >= us.length) throw new Error('ran out of scripted draws');
    return us[k++];
  };
  return {
    uniformIn: (lo, hi) => lo + (hi - lo) * next(),
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo)),
    used: () => k,
  };
}

describe('random_resized_crop window', () => {
  it(`matches torchvision's get_params on ${golden.cases.length} scripted cases`, () => {
    let fallbacks = 0;
    for (const c of golden.cases) {
      const draws = scripted(c.draws);
      const w = randomCropWindow({ width: c.width, height: c.height }, c.scale, c.ratio, draws);
      const what = `${c.width}x${c.height} scale ${c.scale} ratio ${c.ratio}`;
      expect(w, what).toEqual(c.window);
      expect(draws.used(), what).toBe(c.used);
      if (c.used === 20) fallbacks++;
    }
    // Both branches are exercised.
    expect(fallbacks).toBeGreaterThan(10);
    expect(golden.cases.length - fallbacks).toBeGreaterThan(10);
  });

  it('makes a size×size view of the window, resized bilinearly', () => {
    const width = 50;
    const height = 30;
    const data = new Uint8Array(width * height * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 37) % 251;
    const image: RgbImage = { width, height, data };
    const spec = [
      {
        op: 'random_resized_crop',
        size: [16, 16],
        scale: [0.08, 1],
        ratio: [3 / 4, 4 / 3],
      },
    ] as const;
    for (let seed = 0; seed < 5; seed++) {
      const rng = Rng.fromSeed(seed);
      const view = runView(spec, image, new Float64Array(0), rng);
      expect(view.content).toEqual({ width: 16, height: 16 });
      const step = view.steps[0];
      if (step.kind !== 'crop') throw new Error('expected a crop step');
      // The same stream draws the same window; its pixels resized are the view's.
      const window = randomCropWindow({ width, height }, [0.08, 1], [3 / 4, 4 / 3], rng.child(0));
      expect({ x: step.x, y: step.y, width: step.width, height: step.height }).toEqual(window);
      expect(view.image.data).toEqual(resizeRgb(cropImage(image, window), 16, 16).data);
    }
  });
});
