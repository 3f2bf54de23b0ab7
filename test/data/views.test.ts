// View ops: box transforms (flip twice, resize-inverse, inside the image, correspondence), resize and
// blur against OpenCV, hue against torchvision, and determinism of whole pipelines per seed.

import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { RgbImage } from '../../runtime/data/image.js';
import { Rng } from '../../runtime/rng.js';
import { adjustHue, gaussianBlurFloat, gaussianKernel } from '../../runtime/data/views/byol.js';
import { invert, mapBoxes, stepTransform, IDENTITY } from '../../runtime/data/views/geometry.js';
import { IMAGENET_MEAN, IMAGENET_STD, normalizeToChw } from '../../runtime/data/views/normalize.js';
import {
  alignDetViewSpec,
  byolViewSpec,
  runView,
  ViewSpecError,
  type ViewSpec,
} from '../../runtime/data/views/pipeline.js';
import { keepRatioSize, resizeBilinear, resizeRgb } from '../../runtime/data/views/resize.js';

interface Goldens {
  width: number;
  height: number;
  image: number[];
  resize_float_cv2: { width: number; height: number; pixels: number[]; uint8: number[] }[];
  gaussian_blur_float_cv2: { sigma: number; kernel: number; pixels: number[] }[];
  adjust_hue_torchvision_pil: { factor: number; pixels: number[] }[];
}
const golden = JSON.parse(readFileSync('test/fixtures/data/view-goldens.json', 'utf8')) as Goldens;
const small: RgbImage = {
  width: golden.width,
  height: golden.height,
  data: Uint8Array.from(golden.image),
};

/** A 64×48 test image with a distinct value per column, so flips and crops are visible. */
function ramp(width = 64, height = 48): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data.set([(x * 4) & 255, (y * 5) & 255, (x + y) & 255], (y * width + x) * 3);
    }
  }
  return { width, height, data };
}

const boxes = Float64Array.from([0, 0, 10, 12, 5.5, 7.25, 40, 30, 30, 20, 64, 48, 62, 1, 63, 47]);

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('box transforms', () => {
  test('flip twice is the identity, on boxes and pixels', () => {
    const spec: ViewSpec = [
      { op: 'hflip', p: 1 },
      { op: 'hflip', p: 1 },
    ];
    const image = ramp();
    const view = runView(spec, image, boxes, Rng.fromSeed(1));
    expect(Array.from(view.boxes)).toEqual(Array.from(boxes));
    expect(view.image.data).toEqual(image.data);
    expect(view.transform).toEqual(IDENTITY);
  });

  test('one flip mirrors boxes about the real width: x1 = W − x2', () => {
    const view = runView([{ op: 'hflip', p: 1 }], ramp(), boxes, Rng.fromSeed(1));
    expect(Array.from(view.boxes.subarray(0, 8))).toEqual([54, 0, 64, 12, 24, 7.25, 58.5, 30]);
    // The pixel under the box moves with it: column 0 of the original is column 63 of the view.
    expect(view.image.data[63 * 3]).toBe(ramp().data[0]);
  });

  test('flip before padding: boxes stay on their content in a padded, flipped view', () => {
    const image = ramp(50, 40);
    const view = runView(
      [
        { op: 'hflip', p: 1 },
        { op: 'pad', divisor: 32, value: 0 },
      ],
      image,
      Float64Array.from([0, 0, 1, 1]),
      Rng.fromSeed(3),
    );
    expect([view.image.width, view.image.height, view.content.width]).toEqual([64, 64, 50]);
    expect(Array.from(view.boxes)).toEqual([49, 0, 50, 1]);
    // The box's pixel is the original pixel (0, 0), not padding.
    expect(Array.from(view.image.data.subarray(49 * 3, 50 * 3))).toEqual(
      Array.from(image.data.subarray(0, 3)),
    );
  });

  test('pad must be last', () => {
    const spec: ViewSpec = [
      { op: 'pad', divisor: 32, value: 0 },
      { op: 'hflip', p: 1 },
    ];
    expect(() => runView(spec, ramp(), boxes, Rng.fromSeed(1))).toThrow(ViewSpecError);
  });

  test('resize then inverse is the identity within 1e-4, for many seeds', () => {
    const spec = alignDetViewSpec([
      [100, 30],
      [133, 57],
      [1333, 800],
    ]);
    for (let seed = 0; seed < 20; seed++) {
      const view = runView(spec, ramp(), boxes, Rng.fromSeed(seed));
      const back = mapBoxes(view.boxes, invert(view.transform));
      expect(maxAbs(back, boxes)).toBeLessThan(1e-4);
    }
  });

  test('the composed transform equals the recorded steps, and scales are the real per-axis ratios', () => {
    const view = runView(
      [
        { op: 'resize', scales: [[100, 30]] },
        { op: 'hflip', p: 1 },
      ],
      ramp(),
      boxes,
      Rng.fromSeed(0),
    );
    // 64×48 at (100, 30): factor min(100/64, 30/48) = 0.625 → 40×30.
    expect(view.content).toEqual({ width: 40, height: 30 });
    expect(view.steps.map((s) => s.kind)).toEqual(['resize', 'hflip']);
    const t = view.steps.map(stepTransform);
    expect(maxAbs(view.boxes, mapBoxes(mapBoxes(boxes, t[0]), t[1]))).toBe(0);
    expect(Array.from(view.boxes.subarray(0, 4))).toEqual([40 - 6.25, 0, 40, 7.5]);
  });

  test('boxes stay inside the content and keep their order and validity (alignDet view)', () => {
    for (let seed = 0; seed < 10; seed++) {
      const view = runView(alignDetViewSpec([[80, 40]]), ramp(), boxes, Rng.fromSeed(seed));
      const { width, height } = view.content;
      for (let i = 0; i < view.boxes.length; i += 4) {
        expect(view.boxes[i]).toBeGreaterThanOrEqual(0);
        expect(view.boxes[i + 1]).toBeGreaterThanOrEqual(0);
        expect(view.boxes[i + 2]).toBeLessThanOrEqual(width + 1e-9);
        expect(view.boxes[i + 3]).toBeLessThanOrEqual(height + 1e-9);
      }
      expect(Array.from(view.valid)).toEqual([1, 1, 1, 1]);
      expect(view.image.width % 32).toBe(0);
    }
  });

  test('correspondence: two views of one sample map row i back to the same original box', () => {
    const root = Rng.fromSeed(42).child('sample', 7);
    const spec = alignDetViewSpec([
      [90, 40],
      [120, 60],
    ]);
    const v1 = runView(spec, ramp(), boxes, root.child('view', 1));
    const v2 = runView(spec, ramp(), boxes, root.child('view', 2));
    expect(v1.applied).not.toEqual(v2.applied); // independent draws (seed chosen so they differ)
    const b1 = mapBoxes(v1.boxes, invert(v1.transform));
    const b2 = mapBoxes(v2.boxes, invert(v2.transform));
    expect(maxAbs(b1, boxes)).toBeLessThan(1e-9);
    expect(maxAbs(b2, boxes)).toBeLessThan(1e-9);
  });

  test('random resized crop clips boxes, keeps rows, marks emptied rows invalid', () => {
    const spec: ViewSpec = [
      { op: 'random_resized_crop', size: [32, 32], scale: [0.1, 0.3], ratio: [0.75, 1.33] },
    ];
    let sawInvalid = false;
    for (let seed = 0; seed < 20; seed++) {
      const view = runView(spec, ramp(), boxes, Rng.fromSeed(seed));
      expect(view.valid.length).toBe(4);
      const step = view.steps[0];
      if (step.kind !== 'crop') throw new Error('expected a crop');
      for (let r = 0; r < 4; r++) {
        const b = view.boxes.subarray(r * 4, r * 4 + 4);
        for (const v of b) {
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBeLessThanOrEqual(32);
        }
        if (view.valid[r] === 0) sawInvalid = true;
        else {
          // A valid box maps back inside the original box (clipping only shrinks it).
          const back = mapBoxes(Float64Array.from(b), invert(view.transform));
          expect(back[0]).toBeGreaterThanOrEqual(boxes[r * 4] - 1e-9);
          expect(back[2]).toBeLessThanOrEqual(boxes[r * 4 + 2] + 1e-9);
        }
      }
    }
    expect(sawInvalid).toBe(true);
  });
});

describe('pixels against OpenCV / torchvision', () => {
  test('bilinear resize matches cv2.resize INTER_LINEAR on float input', () => {
    for (const g of golden.resize_float_cv2) {
      const out = resizeBilinear(small.data, small.width, small.height, 3, g.width, g.height);
      expect(maxAbs(out, g.pixels)).toBeLessThan(1e-3);
    }
  });
  test('uint8 resize is within one grey level of cv2.resize on uint8 (its 11-bit fixed point)', () => {
    for (const g of golden.resize_float_cv2) {
      expect(maxAbs(resizeRgb(small, g.width, g.height).data, g.uint8)).toBeLessThanOrEqual(1);
    }
  });
  test('gaussian blur matches cv2.GaussianBlur (reflect-101) on float input', () => {
    for (const g of golden.gaussian_blur_float_cv2) {
      expect(gaussianKernel(g.sigma).length).toBe(g.kernel);
      const out = gaussianBlurFloat(small.data, small.width, small.height, g.sigma);
      expect(maxAbs(out, g.pixels)).toBeLessThan(1e-3);
    }
  });
  test('hue shift matches torchvision adjust_hue on a PIL image', () => {
    for (const g of golden.adjust_hue_torchvision_pil) {
      expect(maxAbs(adjustHue(small, g.factor).data, g.pixels)).toBe(0);
    }
  });
  test('keep-ratio size follows mmcv rescale_size', () => {
    // 640×480 at (1333, 800): min(1333/640, 800/480) = 1.6667 → 1067×800 (⌊1066.67 + 0.5⌋).
    expect(keepRatioSize({ width: 640, height: 480 }, [1333, 800])).toEqual({
      width: 1067,
      height: 800,
    });
    // 2000×500 at (1333, 640): long side wins, 1333/2000 → 1333×333 (⌊333.25 + 0.5⌋).
    expect(keepRatioSize({ width: 2000, height: 500 }, [1333, 640])).toEqual({
      width: 1333,
      height: 333,
    });
  });
  test('normalize: CHW, (v − mean)/std, pad pixels become −mean/std', () => {
    const image: RgbImage = { width: 2, height: 1, data: Uint8Array.from([255, 0, 10, 0, 0, 0]) };
    const chw = normalizeToChw(image);
    expect(chw[0]).toBeCloseTo((255 - 123.675) / 58.395, 6);
    expect(chw[1]).toBeCloseTo(-IMAGENET_MEAN[0] / IMAGENET_STD[0], 6);
    expect(chw[2]).toBeCloseTo(-116.28 / 57.12, 6); // G plane starts after the R plane
    expect(chw[4]).toBeCloseTo((10 - 103.53) / 57.375, 6);
  });
});

describe('determinism', () => {
  test('the same seed gives the same view, byte for byte; another seed differs', () => {
    const specs = [
      alignDetViewSpec([
        [80, 40],
        [100, 50],
      ]),
      byolViewSpec(2, [[80, 40]]),
    ];
    for (const spec of specs) {
      const a = runView(spec, ramp(), boxes, Rng.fromSeed(9).child('s', 1));
      const b = runView(spec, ramp(), boxes, Rng.fromSeed(9).child('s', 1));
      expect(a.image.data).toEqual(b.image.data);
      expect(Array.from(a.boxes)).toEqual(Array.from(b.boxes));
      expect(a.applied).toEqual(b.applied);
      const differs = [1, 2, 3, 4, 5].some((s) => {
        const c = runView(spec, ramp(), boxes, Rng.fromSeed(9).child('s', 1 + s));
        return c.applied.join() !== a.applied.join() || maxAbs(c.image.data, a.image.data) > 0;
      });
      expect(differs).toBe(true);
    }
  });
  test('the input image and boxes are not modified', () => {
    const image = ramp();
    const copy = image.data.slice();
    const input = boxes.slice();
    runView(byolViewSpec(2, [[80, 40]]), image, input, Rng.fromSeed(5));
    expect(image.data).toEqual(copy);
    expect(Array.from(input)).toEqual(Array.from(boxes));
  });
});
