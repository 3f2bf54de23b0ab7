// Inference and COCO evaluation of an FCOS (current weights), as mmdet 2.x's FCOS test config:
// per level sigmoid class scores, keep scores > 0.05 and the top 1000 (point, class) pairs, decode
// their (l, t, r, b) distances from the points (clipped to the image), multiply the scores by
// sigmoid(centerness), per-class NMS at IoU 0.5, 100 detections per image
// (runtime/detect/postprocess.ts). The data loop and the mapping back to original coordinates are
// evaluate.ts's. Flow: weights + dataset → **FCOS inference → detections** → COCO eval.

import { gridPoints } from '../detect/anchors.js';
import { DENSE_TEST_CONFIG, densePostprocess } from '../detect/postprocess.js';
import { evaluateBbox, type BboxEvalReport } from '../eval/coco-eval.js';
import type { CocoResultJson } from '../eval/coco-format.js';
import { flattenPriors } from '../models/dense-outputs.js';
import type { DenseDetector } from '../models/detector.js';
import type { FcosHead } from '../models/fcos-head.js';
import { fcosFeatureMaps } from '../train/fcos-point-targets.js';
import {
  checkPriorGrids,
  detectWith,
  groundTruthOf,
  realizeAll,
  type InferenceOptions,
} from './evaluate.js';

export interface FcosEvaluateOptions extends InferenceOptions {
  readonly model: DenseDetector<FcosHead>;
  readonly maxDets: number;
}

/** FCOS detections of every image of the dataset, in COCO results form (original coordinates). */
export function detectFcos(o: FcosEvaluateOptions): Promise<CocoResultJson[]> {
  const numClasses = o.model.head.clsWidth;
  const strides = o.model.head.options.strides;
  return detectWith(o.model, o, async (binding, images, v, batchSize) => {
    const levels = o.model.forward(binding, images);
    const maps = fcosFeatureMaps(v.height, v.width, strides);
    checkPriorGrids(
      levels.map((l) => l.cls),
      maps,
      strides,
    );
    const points = gridPoints(strides, maps);
    // One realize for every output: each separate one would run the whole forward again.
    const flat = await realizeAll(
      levels.flatMap((l) => [
        flattenPriors([l.cls], numClasses).sigmoid(),
        flattenPriors([l.reg], 4),
        flattenPriors([l.centerness], 1).sigmoid(),
      ]),
      o.backend,
    );
    const outputs = levels.map((_, l) => flat.slice(3 * l, 3 * l + 3));
    return Array.from({ length: batchSize }, (_, i) => {
      const perImage = outputs.map(([scores, regs, centers], l) => {
        const p = points[l].length / 2;
        return {
          scores: scores.data.slice(i * p * numClasses, (i + 1) * p * numClasses) as Float32Array,
          regression: regs.data.slice(i * p * 4, (i + 1) * p * 4) as Float32Array,
          priors: points[l],
          scoreFactors: centers.data.slice(i * p, (i + 1) * p) as Float32Array,
        };
      });
      return densePostprocess(
        perImage,
        numClasses,
        { kind: 'distance' },
        { ...DENSE_TEST_CONFIG, maxPerImg: o.maxDets },
        { height: v.imageSizes[i * 2], width: v.imageSizes[i * 2 + 1] },
      );
    });
  });
}

/** COCO bbox evaluation of the FCOS on the dataset. */
export async function evaluateFcos(o: FcosEvaluateOptions): Promise<BboxEvalReport> {
  const results = await detectFcos(o);
  return evaluateBbox(groundTruthOf(o.dataset), results, { groundTruth: o.dataset.name });
}
