// The data declarations of a plan as runtime objects: a `dataset` declaration → runtime/data's
// Dataset (VOC, the shipped BCCD, COCO, an image folder; a labelled fraction), a `proposals`
// declaration → selective-search parameters (runtime/data/proposals, cached), attached to the images as pseudo boxes, and a `view` declaration → a ViewSpec plus the
// normalisation the loader applies and the fixed canvas that keeps every batch one shape.
// Flow: plan declarations → **runtime/run (data)** → DataLoader → training step.

import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { ConfigValue, DeclarationPlan } from '../../compiler/lower/plan.js';
import { defaultBccdRoot } from '../data/bccd.js';
import { selectSamples, type Dataset } from '../data/dataset.js';
import { labelledFraction } from '../data/fractions.js';
import { openDataset, type DatasetSource } from '../data/open.js';
import { attachProposals, generateProposals } from '../data/proposals/generate.js';
import type { ProposalParams } from '../data/proposals/params.js';
import type { RandAugOp } from '../data/views/photometric.js';
import { RAND_AUG_OPS } from '../data/views/photometric.js';
import type { ViewOpSpec, ViewSpec } from '../data/views/pipeline.js';
import { keepRatioSize } from '../data/views/resize.js';
import type { DataWarnings } from '../data/warnings.js';
import { packageRoot } from '../package-root.js';
import { ConfigReader, type BlockValue } from './config-values.js';
import { RunUnsupportedError } from './errors.js';

/** A path of the pipeline: as given when it exists from the working directory, else from alignc's root. */
export function resolveDataPath(path: string): string {
  if (isAbsolute(path)) return path;
  const here = resolve(path);
  if (existsSync(here)) return here;
  return resolve(packageRoot(), path);
}

/** The DatasetSource and optional labelled fraction of a `dataset` declaration. */
export function datasetSourceOf(decl: DeclarationPlan): {
  source: DatasetSource;
  fraction?: { percent: number; seed: number };
  labels: boolean;
} {
  const r = new ConfigReader(`dataset ${decl.name}`, decl.at);
  const b = r.block(decl.value, 'the dataset');
  const fractionOf = () => {
    if (b.args.fraction === undefined) return {};
    const q = r.quantity(b.args.fraction, 'fraction');
    return { fraction: { percent: q.value, seed: r.integer(b.args.seed, 'seed', 0) } };
  };
  switch (b.block) {
    case 'voc': {
      r.onlyArgs(b, ['root', 'split', 'fraction', 'seed']);
      const root = resolveDataPath(r.string(b.args.root, 'root'));
      const split = r.string(b.args.split, 'split');
      // The shipped BCCD is VOC-shaped; its own loader fixes the class order and image ids.
      const source: DatasetSource =
        resolve(root) === resolve(defaultBccdRoot())
          ? { format: 'bccd', split }
          : { format: 'voc', root, split };
      return { source, labels: true, ...fractionOf() };
    }
    case 'coco':
      r.onlyArgs(b, ['images', 'annotations', 'labels', 'fraction', 'seed']);
      return {
        source: {
          format: 'coco',
          images: resolveDataPath(r.string(b.args.images, 'images')),
          annotations: resolveDataPath(r.string(b.args.annotations, 'annotations')),
        },
        labels: r.boolean(b.args.labels, 'labels', true),
        ...fractionOf(),
      };
    case 'image_folder':
      r.onlyArgs(b, ['root']);
      return {
        source: { format: 'folder', dir: resolveDataPath(r.string(b.args.root, 'root')) },
        labels: false,
      };
    default:
      throw new RunUnsupportedError(
        `dataset ${decl.name}: the runner cannot open ${b.block}(…) datasets yet`,
        decl.at,
        'use voc(…), coco(…) or image_folder(…)',
      );
  }
}

/** Opens a `dataset` declaration. */
export async function openDeclaredDataset(
  decl: DeclarationPlan,
  warnings?: DataWarnings,
): Promise<Dataset> {
  const { source, fraction, labels } = datasetSourceOf(decl);
  let dataset = await openDataset(source, warnings);
  if (fraction !== undefined && fraction.percent < 100)
    dataset = selectSamples(
      dataset,
      labelledFraction(
        dataset.samples.map((s) => s.key),
        fraction.percent,
        fraction.seed,
      ),
    );
  if (!labels)
    dataset = {
      ...dataset,
      labelled: false,
      samples: dataset.samples.map((s) => ({
        ...s,
        boxes: new Float64Array(0),
        labels: new Int32Array(0),
        crowd: new Uint8Array(0),
      })),
    };
  return { ...dataset, name: decl.name };
}

export interface ProposalSource {
  readonly dataset: string;
  readonly params: ProposalParams;
}

const FILTER_ORDER = ['filter_boxes', 'nms', 'top'];

/** What a `proposals` declaration asks for: selective search with its filters. */
export function proposalSourceOf(decl: DeclarationPlan): ProposalSource {
  const r = new ConfigReader(`proposals ${decl.name}`, decl.at);
  const [first, ...rest] = r.chain(decl.value, 'the proposals');
  let order = -1;
  const filters = new Map<string, BlockValue>();
  for (const f of rest) {
    const k = FILTER_ORDER.indexOf(f.block);
    if (k < 0)
      throw new RunUnsupportedError(
        `proposals ${decl.name}: ${f.block}(…) is not a proposal filter the runner applies`,
        decl.at,
        `use ${FILTER_ORDER.join(', ')}`,
      );
    // runtime/data/proposals applies its filters in this fixed order, so the chain must match it.
    if (k <= order)
      throw new RunUnsupportedError(
        `proposals ${decl.name}: ${f.block}(…) must come in the order ${FILTER_ORDER.join(' >> ')}, once each`,
        decl.at,
      );
    order = k;
    filters.set(f.block, f);
  }
  const filter = filters.get('filter_boxes');
  const nms = filters.get('nms');
  const top = filters.get('top');
  if (first.block !== 'selective_search')
    throw new RunUnsupportedError(
      `proposals ${decl.name}: ${first.block}(…) proposals are not supported by the runner`,
      decl.at,
    );
  r.onlyArgs(first, ['dataset', 'scale', 'sigma', 'min_size']);
  // Without a filter, no box is dropped; without top, every box is kept (0 = no cap).
  const params: ProposalParams = {
    mode: 'fast',
    scale: r.number(first.args.scale, 'scale', 300),
    sigma: r.number(first.args.sigma, 'sigma', 0.8),
    minSize: r.integer(first.args.min_size, 'min_size', 100),
    minSide: filter === undefined ? 0 : r.number(filter.args.min_side, 'min_side', 0),
    maxAspect: filter === undefined ? 1e9 : r.number(filter.args.max_aspect, 'max_aspect', 1e9),
    minRelSize: filter === undefined ? 0 : r.number(filter.args.min_rel_size, 'min_rel_size', 0),
    maxRelSize: filter === undefined ? 1 : r.number(filter.args.max_rel_size, 'max_rel_size', 1),
    nms: nms === undefined ? 1 : r.number(nms.args.iou, 'nms iou'),
    top: top === undefined ? 0 : r.integer(top.args.k, 'top k'),
    seed: 0,
  };
  return { dataset: r.ref(first.args.dataset, 'dataset'), params };
}

/** `images` with the proposals of `source` as their boxes (computed or read from the cache). */
export async function withProposals(
  images: Dataset,
  source: ProposalSource,
  options: { warnings?: DataWarnings; log?: (line: string) => void; quiet?: boolean },
): Promise<Dataset> {
  const run = await generateProposals(images, {
    params: source.params,
    ...(options.quiet === true ? { progress: false } : {}),
    ...(options.warnings === undefined ? {} : { warnings: options.warnings }),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
  return attachProposals(images, run.file);
}

/** A view declaration as the loader runs it. */
export interface ViewPlan {
  readonly spec: ViewSpec;
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
  /** The (long, short) scales of its resize, for the canvas (empty when a crop sets the size). */
  readonly scales: readonly (readonly [number, number])[];
  readonly padDivisor: number;
  /** The output size of its `random_resized_crop(size: N)`: every image of the view is N×N. */
  readonly cropSize: number | undefined;
}

/** What a view's images carry: boxes (detection, box-domain) or nothing (image-domain). */
export interface ViewUse {
  readonly boxes: boolean;
}

function triple(
  r: ConfigReader,
  v: ConfigValue | undefined,
  role: string,
): [number, number, number] {
  const xs = r.numbers(v, role);
  if (xs.length !== 3) r.fail(`${role} should have 3 values (R, G, B), got ${xs.length}`);
  return [xs[0], xs[1], xs[2]];
}

/**
 * A `view` declaration → the loader's ViewSpec (normalisation and padding as the loader does them).
 * `use.boxes` (the default) refuses image-only steps: a random resized crop would cut boxes out of
 * one view and break the box correspondence of the two views.
 */
export function viewPlanOf(decl: DeclarationPlan, use: ViewUse = { boxes: true }): ViewPlan {
  const r = new ConfigReader(`view ${decl.name}`, decl.at);
  const ops: ViewOpSpec[] = [];
  let mean: [number, number, number] | undefined;
  let std: [number, number, number] | undefined;
  let scales: [number, number][] = [];
  let padDivisor = 1;
  let cropSize: number | undefined;
  for (const b of r.chain(decl.value, 'the view')) {
    if (padDivisor > 1)
      r.fail(`pad(…) must be the last step of a view, not followed by ${b.block}`);
    switch (b.block) {
      case 'resize': {
        if (cropSize !== undefined)
          r.fail('resize(…) after random_resized_crop(…): the crop already sets the image size');
        const shorts = Array.isArray(b.args.short)
          ? r.numbers(b.args.short, 'short')
          : (() => {
              const [lo, hi] = r.range(b.args.short, 'short');
              return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
            })();
        // mmdet's (1333, 800) pairs: without `max`, the long side is capped at the same ratio.
        scales = shorts.map((s) => [r.number(b.args.max, 'max', Math.round((s * 1333) / 800)), s]);
        ops.push({ op: 'resize', scales });
        break;
      }
      case 'hflip':
        ops.push({ op: 'hflip', p: r.number(b.args.p, 'p') });
        break;
      case 'one_of': {
        const names = r.list(b.args.ops, 'ops').map((o) => {
          const op = r.block(o, 'an op of one_of');
          if (!(RAND_AUG_OPS as readonly string[]).includes(op.block))
            throw new RunUnsupportedError(
              `view ${decl.name}: one_of(…) can draw from ${RAND_AUG_OPS.join(', ')}, not ${op.block}`,
              decl.at,
            );
          return op.block as RandAugOp;
        });
        const magnitude =
          b.args.magnitude === undefined
            ? ([1, 9] as const)
            : r.range(b.args.magnitude, 'magnitude');
        ops.push({ op: 'rand_aug', ops: names, magnitude: [magnitude[0], magnitude[1]] });
        break;
      }
      case 'color_jitter':
        ops.push({
          op: 'color_jitter',
          brightness: r.number(b.args.brightness, 'brightness', 0.4),
          contrast: r.number(b.args.contrast, 'contrast', 0.4),
          saturation: r.number(b.args.saturation, 'saturation', 0.2),
          hue: r.number(b.args.hue, 'hue', 0.1),
          p: r.number(b.args.p, 'p', 0.8),
        });
        break;
      case 'grayscale':
        ops.push({ op: 'grayscale', p: r.number(b.args.p, 'p', 0.2) });
        break;
      case 'gaussian_blur': {
        const sigma =
          b.args.sigma === undefined ? ([0.1, 2] as const) : r.range(b.args.sigma, 'sigma');
        ops.push({
          op: 'gaussian_blur',
          sigma: [sigma[0], sigma[1]],
          p: r.number(b.args.p, 'p', 0.5),
        });
        break;
      }
      case 'random_resized_crop': {
        if (use.boxes)
          throw new RunUnsupportedError(
            `view ${decl.name}: random_resized_crop(…) is for image-only views (image-domain stages); ` +
              'in a view with boxes (detection, box-domain) it could crop boxes away and break the box correspondence between views',
            decl.at,
            'use resize(…) >> hflip(…) for views with boxes, or use this view only in an image-domain stage',
          );
        cropSize = r.integer(b.args.size, 'size');
        const scale =
          b.args.scale === undefined ? ([0.08, 1] as const) : r.range(b.args.scale, 'scale');
        const ratio =
          b.args.ratio === undefined ? ([3 / 4, 4 / 3] as const) : r.range(b.args.ratio, 'ratio');
        ops.push({
          op: 'random_resized_crop',
          size: [cropSize, cropSize],
          scale: [scale[0], scale[1]],
          ratio: [ratio[0], ratio[1]],
        });
        break;
      }
      case 'normalize':
        mean = triple(r, b.args.mean, 'mean');
        std = triple(r, b.args.std, 'std');
        break;
      case 'pad':
        padDivisor = r.integer(b.args.divisor, 'divisor');
        ops.push({ op: 'pad', divisor: padDivisor, value: 0 });
        break;
      default:
        throw new RunUnsupportedError(
          `view ${decl.name}: the runner has no ${b.block}(…) view step yet`,
          decl.at,
          'supported: resize, random_resized_crop, hflip, one_of, color_jitter, grayscale, gaussian_blur, normalize, pad',
        );
    }
  }
  if (scales.length === 0 && cropSize === undefined)
    return r.fail(
      'a view needs a resize(…) or random_resized_crop(…) step (the runner sizes its canvas from it)',
    );
  if (mean === undefined || std === undefined)
    return r.fail(
      'a view needs a normalize(mean: …, std: …) step: the loader normalises every batch',
    );
  return { spec: ops, mean, std, scales, padDivisor, cropSize };
}

/** The smallest [width, height] canvas that holds every view of every image of `dataset`. */
export function canvasFor(dataset: Dataset, views: readonly ViewPlan[]): [number, number] {
  let width = 1;
  let height = 1;
  const sizes = new Set(dataset.samples.map((s) => `${s.width}x${s.height}`));
  for (const key of sizes) {
    const [w, h] = key.split('x').map(Number);
    for (const v of views)
      for (const scale of v.cropSize === undefined ? v.scales : []) {
        const out = keepRatioSize({ width: w, height: h }, scale);
        const d = v.padDivisor;
        width = Math.max(width, Math.ceil(out.width / d) * d);
        height = Math.max(height, Math.ceil(out.height / d) * d);
      }
  }
  for (const v of views)
    if (v.cropSize !== undefined) {
      const side = Math.ceil(v.cropSize / v.padDivisor) * v.padDivisor;
      width = Math.max(width, side);
      height = Math.max(height, side);
    }
  return [width, height];
}
