// View pipelines: a list of op specs (plain data, so a pipeline can be written in a `.align` file,
// sent to a worker thread and printed) run on one image and its boxes. Data side of the flow:
// Dataset sample → two independently augmented views → batch. Each op draws from its own child stream
// `rng.child(opIndex)`, so a view is a pure function of (spec, image, boxes, seed stream). Geometric
// ops move the boxes with the image and record their map (geometry.ts); box rows are never dropped or
// reordered. Padding must come last, so flips and colour ops never see pad pixels (the reference
// code's pad-then-flip bug, aligndet-spec §10.8, cannot be written).

import { AlignError } from '../../errors.js';
import type { RgbImage } from '../image.js';
import type { Rng } from '../../rng.js';
import { colorJitter, gaussianBlur } from './byol.js';
import { cropAndResize, randomCropWindow } from './crop.js';
import {
  clipBoxes,
  compose,
  IDENTITY,
  mapBoxes,
  stepTransform,
  type BoxTransform,
  type GeometricStep,
  type Size,
} from './geometry.js';
import { grayscale, RAND_AUG_OPS, randAug, solarize, type RandAugOp } from './photometric.js';
import { keepRatioSize, resizeRgb } from './resize.js';

export type ViewOpSpec =
  /** Keep-ratio resize to one (long, short) scale drawn uniformly from the list. */
  | { readonly op: 'resize'; readonly scales: readonly (readonly [number, number])[] }
  | { readonly op: 'hflip'; readonly p: number }
  /** One op drawn uniformly from `ops`, magnitude drawn uniformly from the inclusive range. */
  | {
      readonly op: 'rand_aug';
      readonly ops: readonly RandAugOp[];
      readonly magnitude: readonly [number, number];
    }
  | {
      readonly op: 'color_jitter';
      readonly brightness: number;
      readonly contrast: number;
      readonly saturation: number;
      readonly hue: number;
      readonly p: number;
    }
  | { readonly op: 'grayscale'; readonly p: number }
  | { readonly op: 'gaussian_blur'; readonly sigma: readonly [number, number]; readonly p: number }
  | { readonly op: 'solarize'; readonly threshold: number; readonly p: number }
  | {
      readonly op: 'random_resized_crop';
      /** Output [width, height]. */
      readonly size: readonly [number, number];
      readonly scale: readonly [number, number];
      readonly ratio: readonly [number, number];
    }
  | { readonly op: 'pad'; readonly divisor: number; readonly value: number };

export type ViewSpec = readonly ViewOpSpec[];

/** A view pipeline that cannot run as written. */
export class ViewSpecError extends AlignError {
  readonly code = 'E_VIEW_SPEC';
}

/** One augmented view of a sample. */
export interface View {
  /** Final pixels, padded when the pipeline ends in `pad`. */
  readonly image: RgbImage;
  /** The unpadded image size inside `image` (mmdet's img_shape). */
  readonly content: Size;
  /** N×4 boxes in view coordinates, same row order as the input. */
  readonly boxes: Float64Array;
  /** N flags: 0 when a crop left the box with no area (the row is kept for correspondence). */
  readonly valid: Uint8Array;
  /** Original image coordinates → view coordinates. */
  readonly transform: BoxTransform;
  readonly steps: readonly GeometricStep[];
  /** What was drawn, for logs and tests, e.g. `resize 1333x640`, `rand_aug color m=7`. */
  readonly applied: readonly string[];
}

function checkProbability(p: number, where: string): void {
  if (!(p >= 0 && p <= 1)) throw new ViewSpecError(`${where}: p must be in [0, 1], got ${p}`);
}

function checkRange(range: readonly [number, number], where: string, min: number): void {
  if (!(range[0] >= min && range[1] >= range[0])) {
    throw new ViewSpecError(`${where}: range [${range.join(', ')}] must have ${min} ≤ lo ≤ hi`);
  }
}

/** Rejects specs that cannot run or would break box correspondence; called by runView. */
export function checkViewSpec(spec: ViewSpec): void {
  spec.forEach((op, index) => {
    const where = `view op ${index + 1} (${op.op})`;
    switch (op.op) {
      case 'resize':
        if (op.scales.length === 0 || op.scales.some((s) => !(s[0] > 0 && s[1] > 0))) {
          throw new ViewSpecError(`${where}: needs at least one (long, short) scale, all positive`);
        }
        break;
      case 'hflip':
      case 'grayscale':
        checkProbability(op.p, where);
        break;
      case 'rand_aug':
        if (op.ops.length === 0 || op.ops.some((o) => !RAND_AUG_OPS.includes(o))) {
          throw new ViewSpecError(
            `${where}: ops must be a non-empty subset of ${RAND_AUG_OPS.join(', ')}`,
          );
        }
        checkRange(op.magnitude, where, 0);
        if (op.magnitude[1] > 10 || !op.magnitude.every(Number.isInteger)) {
          throw new ViewSpecError(`${where}: magnitudes are integers in 0..10`);
        }
        break;
      case 'color_jitter':
        checkProbability(op.p, where);
        if (!(op.hue >= 0 && op.hue <= 0.5))
          throw new ViewSpecError(`${where}: hue must be in [0, 0.5]`);
        if (![op.brightness, op.contrast, op.saturation].every((s) => s >= 0)) {
          throw new ViewSpecError(`${where}: strengths must be ≥ 0`);
        }
        break;
      case 'gaussian_blur':
        checkProbability(op.p, where);
        checkRange(op.sigma, where, Number.MIN_VALUE);
        break;
      case 'solarize':
        checkProbability(op.p, where);
        break;
      case 'random_resized_crop':
        if (!(op.size[0] >= 1 && op.size[1] >= 1))
          throw new ViewSpecError(`${where}: size must be ≥ 1`);
        checkRange(op.scale, where, Number.MIN_VALUE);
        checkRange(op.ratio, where, Number.MIN_VALUE);
        break;
      case 'pad':
        if (!(Number.isInteger(op.divisor) && op.divisor >= 1)) {
          throw new ViewSpecError(`${where}: divisor must be a positive integer`);
        }
        if (index !== spec.length - 1) {
          throw new ViewSpecError(`${where}: pad must be the last op`, {
            hint: 'flip and colour-augment before padding, so pad pixels are never flipped or recoloured',
          });
        }
        break;
      default:
        return op satisfies never;
    }
  });
}

function flipImage(image: RgbImage): RgbImage {
  const { width, height } = image;
  const data = new Uint8Array(image.data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = (y * width + x) * 3;
      const to = (y * width + (width - 1 - x)) * 3;
      data[to] = image.data[from];
      data[to + 1] = image.data[from + 1];
      data[to + 2] = image.data[from + 2];
    }
  }
  return { width, height, data };
}

function padImage(image: RgbImage, to: Size, value: number): RgbImage {
  const data = new Uint8Array(to.width * to.height * 3).fill(value);
  for (let y = 0; y < image.height; y++) {
    data.set(image.data.subarray(y * image.width * 3, (y + 1) * image.width * 3), y * to.width * 3);
  }
  return { width: to.width, height: to.height, data };
}

interface State {
  image: RgbImage;
  content: Size;
  boxes: Float64Array;
  valid: Uint8Array;
  transform: BoxTransform;
  steps: GeometricStep[];
  applied: string[];
}

function geometric(state: State, step: GeometricStep, image: RgbImage, content: Size): void {
  const t = stepTransform(step);
  state.boxes = mapBoxes(state.boxes, t);
  state.transform = compose(state.transform, t);
  state.steps.push(step);
  state.image = image;
  state.content = content;
}

function applyOp(state: State, op: ViewOpSpec, rng: Rng): void {
  switch (op.op) {
    case 'resize': {
      const scale = rng.pick(op.scales);
      const to = keepRatioSize(state.content, scale);
      const from = state.content;
      geometric(
        state,
        { kind: 'resize', from, to },
        resizeRgb(state.image, to.width, to.height),
        to,
      );
      state.applied.push(`resize ${to.width}x${to.height}`);
      return;
    }
    case 'hflip':
      if (rng.bernoulli(op.p)) {
        const step: GeometricStep = { kind: 'hflip', width: state.content.width };
        geometric(state, step, flipImage(state.image), state.content);
        state.applied.push('hflip');
      }
      return;
    case 'rand_aug': {
      const which = rng.pick(op.ops);
      const m = rng.int(op.magnitude[0], op.magnitude[1] + 1);
      state.image = randAug(state.image, which, m);
      state.applied.push(`rand_aug ${which} m=${m}`);
      return;
    }
    case 'color_jitter':
      if (rng.bernoulli(op.p)) {
        state.image = colorJitter(state.image, op, rng);
        state.applied.push('color_jitter');
      }
      return;
    case 'grayscale':
      if (rng.bernoulli(op.p)) {
        state.image = grayscale(state.image);
        state.applied.push('grayscale');
      }
      return;
    case 'gaussian_blur':
      if (rng.bernoulli(op.p)) {
        const sigma = rng.uniformIn(op.sigma[0], op.sigma[1]);
        state.image = gaussianBlur(state.image, sigma);
        state.applied.push(`gaussian_blur sigma=${sigma.toFixed(3)}`);
      }
      return;
    case 'solarize':
      if (rng.bernoulli(op.p)) {
        state.image = solarize(state.image, op.threshold);
        state.applied.push(`solarize ${op.threshold}`);
      }
      return;
    case 'random_resized_crop': {
      const window = randomCropWindow(state.content, op.scale, op.ratio, rng);
      const to = { width: op.size[0], height: op.size[1] };
      const step: GeometricStep = { kind: 'crop', ...window, to };
      geometric(state, step, cropAndResize(state.image, window, to), to);
      clipBoxes(state.boxes, state.valid, to.width, to.height);
      state.applied.push(`crop ${window.width}x${window.height}+${window.x}+${window.y}`);
      return;
    }
    case 'pad': {
      const d = op.divisor;
      const to = {
        width: Math.ceil(state.content.width / d) * d,
        height: Math.ceil(state.content.height / d) * d,
      };
      state.steps.push({ kind: 'pad', from: state.content, to });
      state.image = padImage(state.image, to, op.value);
      return;
    }
    default:
      return op satisfies never;
  }
}

/**
 * Runs a view pipeline on one image and its N×4 boxes (0-based, inside the image). The input is not
 * modified. Boxes come out in the same row order, inside the view's content area.
 */
export function runView(spec: ViewSpec, image: RgbImage, boxes: Float64Array, rng: Rng): View {
  checkViewSpec(spec);
  if (boxes.length % 4 !== 0) throw new RangeError('boxes must be N×4');
  const state: State = {
    image,
    content: { width: image.width, height: image.height },
    boxes: boxes.slice(),
    valid: new Uint8Array(boxes.length / 4).fill(1),
    transform: IDENTITY,
    steps: [],
    applied: [],
  };
  spec.forEach((op, index) => applyOp(state, op, rng.child(index)));
  return state;
}

/** AlignDet's default view (aligndet-spec §2.3), with flip and colour before padding. */
export function alignDetViewSpec(
  scales: readonly (readonly [number, number])[] = [
    [1333, 640],
    [1333, 672],
    [1333, 704],
    [1333, 736],
    [1333, 768],
    [1333, 800],
  ],
  padDivisor = 32,
): ViewSpec {
  return [
    { op: 'resize', scales },
    { op: 'hflip', p: 0.5 },
    { op: 'rand_aug', ops: RAND_AUG_OPS, magnitude: [1, 9] },
    { op: 'pad', divisor: padDivisor, value: 0 },
  ];
}

/** The BYOL-style alternative (coco_byol.py): solarize p = 0 for view 1 and 0.2 for view 2. */
export function byolViewSpec(
  view: 1 | 2,
  scales: readonly (readonly [number, number])[],
  padDivisor = 32,
): ViewSpec {
  return [
    { op: 'resize', scales },
    { op: 'hflip', p: 0.5 },
    { op: 'color_jitter', brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1, p: 0.8 },
    { op: 'grayscale', p: 0.2 },
    { op: 'gaussian_blur', sigma: [0.1, 2], p: 0.5 },
    { op: 'solarize', threshold: 128, p: view === 1 ? 0 : 0.2 },
    { op: 'pad', divisor: padDivisor, value: 0 },
  ];
}
