// FCOS's objective in AlignDet's box-domain step (aligndet-spec §4–§6, FCOS rows): each view's
// points are assigned by the FCOS rule to that view's own pseudo boxes (instance ids as labels);
// per view, over the whole batch, up to `sample` positive points are drawn at random and
// background points fill up to `sample` (AlignDet's 2048); only those rows enter the losses:
//
//   contrast   = box_infonce(q[rows1], ids1, sampled1, k[rows2], ids2, sampled2, τ)       (§5)
//   box        = iou_loss(decode(points, q.distances)[rows1], boxes, centerness targets,
//                         avg = Σ centerness targets)      view 1's sampled positives (§6)
//   centerness = centerness_loss(q.centerness[rows1], distances, positive, avg = #positives)
//
// The rest of the step (shared frozen backbone, momentum branch, EMA, optimizer) is
// box-domain-step.ts's. Flow: batch → **FCOS targets** → traced step → **FCOS loss terms**.

import type { TensorData } from '../cpu/tensor-data.js';
import type { Batch } from '../data/loader/batch.js';
import type { FcosTargetConfig } from '../detect/fcos-targets.js';
import { sampleBatchPoints } from '../detect/random-sampler.js';
import { SeededRng } from '../detect/rng.js';
import type { Rng } from '../rng.js';
import type { Tensor } from '../tensor/tensor.js';
import type { BoxDomainHeadOutput, BoxDomainObjective } from './box-domain-objective.js';
import { LOSS_CONTRAST } from './box-domain-objective.js';
import { TrainSetupError } from './errors.js';
import { fcosPointTargets, type FcosPointTargets } from './fcos-point-targets.js';
import { FcosRegressionLosses, fcosRegressionTensors } from './fcos-regression.js';
import type { LoweredLoss } from './lowered-loss.js';
import type { StepContext } from './stage-loop.js';

export const LOSS_FCOS_BOX = 'box_iou';
export const LOSS_FCOS_CENTERNESS = 'centerness';

/** A view's sampled points gathered into a fixed number of rows (ascending point order). */
export interface SampledPoints {
  /** [S] flat point index b·N + p of each row (0 on padding rows). */
  readonly index: Int32Array;
  /** [S] instance id, or −1 for background and padding. */
  readonly labels: Int32Array;
  /** [S] 1 on rows holding a sampled point. */
  readonly valid: Uint8Array;
}

/**
 * AlignDet's FCOS sampling of one view (§4): over the whole batch, up to `num` positives, then
 * background points up to `num` in total; S = min(num, B·N) rows.
 */
export function samplePoints(t: FcosPointTargets, num: number, rng: SeededRng): SampledPoints {
  const gt = Int32Array.from(t.positive, (p) => (p === 1 ? 0 : -1));
  const { pos, neg } = sampleBatchPoints(gt, num, rng);
  const chosen = Int32Array.from([...pos, ...neg]).sort();
  const rows = Math.min(num, t.labels.length);
  if (chosen.length > rows)
    throw new RangeError(`internal: ${chosen.length} points sampled for ${rows} rows`);
  const index = new Int32Array(rows);
  const labels = new Int32Array(rows).fill(-1);
  const valid = new Uint8Array(rows);
  chosen.forEach((flat, r) => {
    index[r] = flat;
    labels[r] = t.labels[flat];
    valid[r] = 1;
  });
  return { index, labels, valid };
}

export class FcosBoxDomainObjective implements BoxDomainObjective {
  readonly #regression = new FcosRegressionLosses('iou_loss');
  /** Targets and samples of the last step, for tests and debugging. */
  last: { targets: FcosPointTargets; sampled: SampledPoints } | undefined;

  constructor(
    readonly targetConfig: FcosTargetConfig,
    /** Points sampled per view over the batch. */
    readonly sample: number,
    /** `box_infonce(q, lq, vq, k, lk, vk, tau)`, lowered. */
    readonly contrastive: LoweredLoss,
  ) {}

  get strides(): readonly number[] {
    return this.targetConfig.strides;
  }

  settings(): Record<string, unknown> {
    return { family: 'fcos', targets: this.targetConfig, sample: this.sample };
  }

  #view(batch: Batch, view: number, rng: Rng): { t: FcosPointTargets; s: SampledPoints } {
    const k = batch.maxBoxes;
    const t = fcosPointTargets(
      batch,
      view,
      this.targetConfig,
      (i, r) => batch.instanceIds[i * k + r],
    );
    return { t, s: samplePoints(t, this.sample, new SeededRng(rng.child('sample', view).u32())) };
  }

  targets(batch: Batch, ctx: StepContext): Map<string, TensorData> {
    if (batch.views.length < 2)
      throw new TrainSetupError(`box-domain training needs two views, got ${batch.views.length}`);
    const one = this.#view(batch, 0, ctx.rng);
    const two = this.#view(batch, 1, ctx.rng);
    this.last = { targets: one.t, sampled: one.s };
    const rows1 = one.s.index.length;
    const rows2 = two.s.index.length;
    return new Map<string, TensorData>([
      ['rows1', { shape: [rows1], dtype: 'i32', data: one.s.index }],
      ['labels1', { shape: [rows1], dtype: 'i32', data: one.s.labels }],
      ['sampled1', { shape: [rows1], dtype: 'bool', data: one.s.valid }],
      ['rows2', { shape: [rows2], dtype: 'i32', data: two.s.index }],
      ['labels2', { shape: [rows2], dtype: 'i32', data: two.s.labels }],
      ['sampled2', { shape: [rows2], dtype: 'bool', data: two.s.valid }],
      ...fcosRegressionTensors(one.t, batch.size, one.s),
    ]);
  }

  losses(
    out1: BoxDomainHeadOutput,
    out2: BoxDomainHeadOutput,
    get: (name: string) => Tensor,
  ): Record<string, Tensor> {
    if (out1.centerness === undefined)
      throw new TrainSetupError('the FCOS box-domain objective needs a head with centerness');
    const d = out1.embeddings.shape[2];
    const rows1 = get('rows1');
    const contrast = this.contrastive.call({
      q: out1.embeddings.reshape([-1, d]).takeRows(rows1),
      lq: get('labels1'),
      vq: get('sampled1'),
      k: out2.embeddings.reshape([-1, d]).takeRows(get('rows2')),
      lk: get('labels2'),
      vk: get('sampled2'),
    });
    const reg = this.#regression.call(
      out1.deltas.reshape([-1, 4]).takeRows(rows1),
      out1.centerness.reshape([-1]).takeRows(rows1),
      get,
    );
    return {
      [LOSS_CONTRAST]: contrast,
      [LOSS_FCOS_BOX]: reg.box,
      [LOSS_FCOS_CENTERNESS]: reg.centerness,
    };
  }
}
