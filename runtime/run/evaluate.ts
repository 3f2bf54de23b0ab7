// The `evaluate` clause of a stage: runs a RetinaNet (current weights) over an evaluation dataset at
// the test scale of the stage's view (its largest resize scale, no flip or colour, padded), turns
// the head outputs into detections with mmdet's RetinaNet test config (sigmoid scores, top 1000 per
// level, score > 0.05, per-class NMS at 0.5, 100 per image; runtime/detect/postprocess.ts), maps
// them back to original image coordinates and scores them with COCO mAP (runtime/eval, the
// pycocotools protocol) against the dataset's own boxes.
// Flow: weights + dataset → **inference → detections → COCO eval** → eval record and printed mAP.

import type { TensorData } from '../cpu/tensor-data.js';
import type { Dataset } from '../data/dataset.js';
import { DataLoader } from '../data/loader/loader.js';
import type { ViewSpec } from '../data/views/pipeline.js';
import { DataWarnings } from '../data/warnings.js';
import {
  featureMapSizes,
  gridAnchors,
  type AnchorGeneratorConfig,
  type FeatureMapSize,
} from '../detect/anchors.js';
import { DetectInputError } from '../detect/errors.js';
import { DENSE_TEST_CONFIG, densePostprocess, type Detections } from '../detect/postprocess.js';
import { UNIT_DELTAS } from '../detect/delta-xywh-coder.js';
import { evaluateBbox, type BboxEvalReport } from '../eval/coco-eval.js';
import type { CocoGroundTruthJson, CocoResultJson } from '../eval/coco-format.js';
import { flattenPriors } from '../models/dense-outputs.js';
import type { DenseDetector } from '../models/detector.js';
import type { RetinaHead } from '../models/retina-head.js';
import { ParameterBinding } from '../nn/binding.js';
import type { Module } from '../nn/module.js';
import type { Backend } from '../tensor/backend.js';
import { Tensor, withTrace } from '../tensor/tensor.js';
import { Trace } from '../tensor/trace.js';
import type { ViewPlan } from './build-data.js';

/** The COCO ground truth of a labelled dataset (boxes 0-based [x1, y1, x2, y2] → [x, y, w, h]). */
export function groundTruthOf(dataset: Dataset): CocoGroundTruthJson {
  let id = 0;
  const annotations = dataset.samples.flatMap((s) =>
    Array.from(s.labels, (label, i) => {
      const [x1, y1, x2, y2] = s.boxes.subarray(i * 4, i * 4 + 4);
      return {
        id: ++id,
        image_id: s.imageId,
        category_id: label,
        bbox: [x1, y1, x2 - x1, y2 - y1],
        area: (x2 - x1) * (y2 - y1),
        iscrowd: s.crowd[i] ? 1 : 0,
      };
    }),
  );
  return {
    images: dataset.samples.map((s) => ({ id: s.imageId })),
    annotations,
    categories: dataset.categories.map((c) => ({ id: c.id, name: c.name })),
  };
}

/** mmdet's test pipeline for a training view: its largest scale, no random step, same padding. */
export function testViewOf(view: ViewPlan): ViewSpec {
  const scale = view.scales.reduce((a, b) => (b[1] > a[1] ? b : a));
  return [
    { op: 'resize', scales: [scale] },
    ...(view.padDivisor > 1 ? [{ op: 'pad' as const, divisor: view.padDivisor, value: 0 }] : []),
  ];
}

export interface EvaluateOptions extends InferenceOptions {
  readonly model: DenseDetector<RetinaHead>;
  readonly anchors: AnchorGeneratorConfig;
  readonly maxDets: number;
}

/** What a detector family's inference needs besides the model: data, view and weights. */
export interface InferenceOptions {
  /** Every tensor of the model by state name (parameters and buffers). */
  readonly weights: ReadonlyMap<string, TensorData>;
  readonly dataset: Dataset;
  readonly view: ViewPlan;
  readonly canvas: readonly [number, number];
  readonly seed: number;
  readonly backend: Backend;
  readonly batchSize?: number;
}

/**
 * Detections of one batch: the model's outputs on `images` (traced in `trace`), turned into each
 * image's detections in view coordinates (boxes clipped to `imageSizes`).
 */
export type BatchDecoder = (
  binding: ParameterBinding,
  images: Tensor,
  view: { readonly height: number; readonly width: number; readonly imageSizes: Int32Array },
  batchSize: number,
) => Promise<Detections[]>;

/**
 * Runs `model` (in eval mode) over every image of the dataset at the view's test scale and maps
 * `decode`'s detections back to original image coordinates, in COCO results form.
 */
export async function detectWith(
  model: Module,
  o: InferenceOptions,
  decode: BatchDecoder,
): Promise<CocoResultJson[]> {
  const loader = new DataLoader({
    dataset: o.dataset,
    views: [testViewOf(o.view)],
    batchSize: o.batchSize ?? 2,
    maxBoxes: 1,
    seed: o.seed,
    shuffle: false,
    dropEmpty: false,
    mean: o.view.mean,
    std: o.view.std,
    canvas: o.canvas,
    mode: 'in-thread',
    warnings: new DataWarnings(() => {}),
  });
  const entries = model.state();
  const wasTraining = model.training;
  model.eval();
  const results: CocoResultJson[] = [];
  try {
    for await (const batch of loader.epoch(0)) {
      const v = batch.views[0];
      const trace = new Trace();
      const binding = new ParameterBinding(trace);
      for (const { name, parameter } of entries) {
        const t = o.weights.get(name);
        if (t === undefined) throw new RangeError(`internal: no weights for ${name}`);
        binding.bind(parameter, Tensor.from(t, trace));
      }
      const images = Tensor.from(
        { shape: [batch.size, 3, v.height, v.width], dtype: 'f32', data: v.images },
        trace,
      );
      const perImage = await withTrace(trace, () => decode(binding, images, v, batch.size));
      perImage.forEach((dets, i) => {
        const [sx, tx, sy, ty] = v.transforms.subarray(i * 4, i * 4 + 4);
        for (let d = 0; d < dets.scores.length; d++) {
          const x1 = (dets.boxes[d * 4] - tx) / sx;
          const y1 = (dets.boxes[d * 4 + 1] - ty) / sy;
          const x2 = (dets.boxes[d * 4 + 2] - tx) / sx;
          const y2 = (dets.boxes[d * 4 + 3] - ty) / sy;
          results.push({
            image_id: batch.imageIds[i],
            category_id: o.dataset.categories[dets.labels[d]].id,
            bbox: [x1, y1, x2 - x1, y2 - y1],
            score: dets.scores[d],
          });
        }
      });
    }
  } finally {
    // A later batch shape makes the training step trace the model again: in its own mode.
    model.train(wasTraining);
    await loader.close();
  }
  return results;
}

/** The values of tensors of one trace, computed by one graph run. */
export async function realizeAll(
  tensors: readonly Tensor[],
  backend: Backend,
): Promise<TensorData[]> {
  const first = tensors[0];
  if (first === undefined) return [];
  return first.trace.realize(
    tensors.map((t) => t.id),
    backend,
  );
}

/**
 * Refuses prior grids (from the head's or anchors' strides) that are not the detector's pyramid
 * maps: the per-level slices of the outputs would otherwise pair scores with the wrong priors.
 */
export function checkPriorGrids(
  levels: readonly Tensor[],
  maps: readonly FeatureMapSize[],
  strides: readonly number[],
): void {
  const got = levels.map((t) => `${t.shape[2]}×${t.shape[3]}`);
  const want = maps.map((m) => `${m.height}×${m.width}`);
  if (got.join() !== want.join())
    throw new DetectInputError(
      `evaluation: the detector's pyramid maps are ${got.join(', ')} but the priors of strides ${strides.join(', ')} lie on ${want.join(', ')}`,
    );
}

/** Detections of every image of the dataset, in COCO results form (original coordinates). */
export function detect(o: EvaluateOptions): Promise<CocoResultJson[]> {
  const numClasses = o.model.head.clsWidth;
  return detectWith(o.model, o, async (binding, images, v, batchSize) => {
    const levels = o.model.forward(binding, images);
    const maps = featureMapSizes({ height: v.height, width: v.width }, o.anchors.strides);
    checkPriorGrids(
      levels.map((l) => l.cls),
      maps,
      o.anchors.strides,
    );
    const priors = gridAnchors(o.anchors, maps);
    // One realize for every output: each separate one would run the whole forward again.
    const outputs = await realizeAll(
      levels.flatMap((l) => [
        flattenPriors([l.cls], numClasses).sigmoid(),
        flattenPriors([l.reg], 4),
      ]),
      o.backend,
    );
    const scores = levels.map((_, l) => outputs[2 * l]);
    const regs = levels.map((_, l) => outputs[2 * l + 1]);
    return Array.from({ length: batchSize }, (_, i) => {
      const perImage = levels.map((_, l) => {
        const p = priors[l].length / 4;
        return {
          scores: scores[l].data.slice(
            i * p * numClasses,
            (i + 1) * p * numClasses,
          ) as Float32Array,
          regression: regs[l].data.slice(i * p * 4, (i + 1) * p * 4) as Float32Array,
          priors: priors[l],
        };
      });
      return densePostprocess(
        perImage,
        numClasses,
        { kind: 'delta-xywh', config: UNIT_DELTAS },
        { ...DENSE_TEST_CONFIG, maxPerImg: o.maxDets },
        { height: v.imageSizes[i * 2], width: v.imageSizes[i * 2 + 1] },
      );
    });
  });
}

/** COCO bbox evaluation of the model on the dataset. */
export async function evaluateDetector(o: EvaluateOptions): Promise<BboxEvalReport> {
  const results = await detect(o);
  return evaluateBbox(groundTruthOf(o.dataset), results, { groundTruth: o.dataset.name });
}
