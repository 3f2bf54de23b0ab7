// FCOS's box and centerness terms (mmdet `FCOSHead.loss`, aligndet-spec §6 FCOS row), shared by
// the FCOS fine-tuning step and the FCOS box-domain objective: the predicted (l, t, r, b) of each
// row are decoded from its point (std.boxes `decode_distances`) and enter `iou_loss` (−log IoU) or
// `giou_loss`, weighted by the row's centerness target and divided by the sum of those targets (at
// least 1e-6); the centerness logits enter `centerness_loss` (BCE against the target computed from
// the row's distances) on positive rows, divided by the number of positives (at least 1). The host
// side builds the rows' tensors (`fcosRegressionTensors`), the traced side calls the lowered std
// functions (`FcosRegressionLosses`). Flow: point targets → **regression tensors → loss terms**.

import type { TensorData } from '../cpu/tensor-data.js';
import type { Tensor } from '../tensor/tensor.js';
import type { FcosPointTargets } from './fcos-point-targets.js';
import { LoweredLoss } from './lowered-loss.js';

/** The box term of an FCOS stage: mmdet `IoULoss` (−log IoU) or `GIoULoss` (1 − GIoU). */
export type FcosBoxLoss = 'iou_loss' | 'giou_loss';

/**
 * The regression tensors of rows `rows` (flat indices b·N + p into `t`; all rows of the batch when
 * omitted). A row whose `valid` entry is 0 is padding: stand-in targets, weight 0.
 */
export function fcosRegressionTensors(
  t: FcosPointTargets,
  batchSize: number,
  rows?: { readonly index: Int32Array; readonly valid: Uint8Array },
): Map<string, TensorData> {
  const n = t.pointsPerImage;
  const count = rows?.index.length ?? batchSize * n;
  const points = new Float32Array(count * 2);
  const boxTargets = new Float32Array(count * 4);
  const distanceTargets = new Float32Array(count * 4);
  const centers = new Float32Array(count);
  const positive = new Float32Array(count);
  let centerSum = 0;
  let numPositives = 0;
  for (let r = 0; r < count; r++) {
    const flat = rows === undefined ? r : rows.index[r];
    const p = flat % n;
    points.set(t.points.subarray(p * 2, p * 2 + 2), r * 2);
    if (rows !== undefined && rows.valid[r] === 0) {
      const [x, y] = [t.points[p * 2], t.points[p * 2 + 1]];
      boxTargets.set([x - 1, y - 1, x + 1, y + 1], r * 4);
      distanceTargets.fill(1, r * 4, r * 4 + 4);
      continue;
    }
    boxTargets.set(t.boxTargets.subarray(flat * 4, flat * 4 + 4), r * 4);
    distanceTargets.set(t.distanceTargets.subarray(flat * 4, flat * 4 + 4), r * 4);
    centers[r] = t.centerness[flat];
    positive[r] = t.positive[flat];
    centerSum += t.centerness[flat];
    numPositives += t.positive[flat];
  }
  return new Map<string, TensorData>([
    ['points', { shape: [count, 2], dtype: 'f32', data: points }],
    ['box_targets', { shape: [count, 4], dtype: 'f32', data: boxTargets }],
    ['distance_targets', { shape: [count, 4], dtype: 'f32', data: distanceTargets }],
    ['centers', { shape: [count], dtype: 'f32', data: centers }],
    ['positive', { shape: [count], dtype: 'f32', data: positive }],
    // mmdet: IoU loss over max(Σ centerness targets, 1e-6), centerness over max(#positives, 1).
    ['center_sum', { shape: [], dtype: 'f32', data: Float32Array.of(Math.max(centerSum, 1e-6)) }],
    ['num_pos', { shape: [], dtype: 'f32', data: Float32Array.of(Math.max(1, numPositives)) }],
  ]);
}

/** The lowered std functions of FCOS's box and centerness terms. */
export class FcosRegressionLosses {
  readonly #decode = LoweredLoss.fromStd('boxes', 'decode_distances');
  readonly #box: LoweredLoss;
  readonly #centerness = LoweredLoss.fromStd('losses', 'centerness_loss');

  constructor(readonly boxLoss: FcosBoxLoss) {
    this.#box = LoweredLoss.fromStd('losses', boxLoss);
  }

  /** `distances` [R, 4] and `centerness` [R] logits, rows as `fcosRegressionTensors`' rows. */
  call(
    distances: Tensor,
    centerness: Tensor,
    get: (name: string) => Tensor,
  ): { box: Tensor; centerness: Tensor } {
    const pred = this.#decode.call({ points: get('points'), distances });
    return {
      box: this.#box.call({
        pred,
        target: get('box_targets'),
        weight: get('centers'),
        avg: get('center_sum'),
      }),
      centerness: this.#centerness.call({
        logits: centerness,
        distances: get('distance_targets'),
        weight: get('positive'),
        avg: get('num_pos'),
      }),
    };
  }
}
