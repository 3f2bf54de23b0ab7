// Normalisation layers with PyTorch's names and semantics: BatchNorm2d (running statistics, or batch
// statistics while training unless mmdet's `norm_eval`) and GroupNorm (FCOS towers, GN backbones),
// plus the `{kind: 'bn' | 'gn'}` choice blocks take. Tensor compositions over runtime/tensor; part of
// the module system (runtime/nn) used by runtime/models.
import type { Tensor } from '../tensor/tensor.js';
import type { ParameterBinding } from './binding.js';
import { ModelConfigError } from './errors.js';
import { channelwise } from './layers.js';
import type { Parameter } from './module.js';
import { Module } from './module.js';

/**
 * torch.nn.BatchNorm2d. In evaluation mode — and always under mmdet's `norm_eval` (every AlignDet
 * backbone; frozen ResNet stages are kept in eval mode, runtime/models/resnet.ts) — it is the
 * per-channel affine map `(x − running_mean) / sqrt(running_var + eps) · weight + bias`. In
 * training mode otherwise (the fine-tuning FPN's SyncBN: one device, so the whole batch) it
 * normalises by the batch mean and biased variance over (N, H, W) and records the running-statistic
 * updates (momentum 0.1, unbiased variance, `num_batches_tracked + 1`) on the binding; the caller
 * applies them after the step (`applyBufferUpdates`).
 */
export class BatchNorm2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  readonly runningMean: Parameter;
  readonly runningVar: Parameter;
  readonly numBatchesTracked: Parameter;
  /** mmdet `norm_eval`: running statistics even in training mode. */
  normEval = false;

  constructor(
    readonly channels: number,
    readonly eps = 1e-5,
    /** 0 for the last norm of a residual block under zero-init-residual. */
    initialWeight = 1,
    readonly momentum = 0.1,
  ) {
    super();
    this.weight = this.addParameter('weight', [channels], {
      kind: 'constant',
      value: initialWeight,
    });
    this.bias = this.addParameter('bias', [channels], { kind: 'constant', value: 0 });
    this.runningMean = this.addBuffer('running_mean', [channels], { kind: 'constant', value: 0 });
    this.runningVar = this.addBuffer('running_var', [channels], { kind: 'constant', value: 1 });
    this.numBatchesTracked = this.addBuffer(
      'num_batches_tracked',
      [],
      { kind: 'constant', value: 0 },
      'int',
    );
  }

  /** Whether the next forward uses batch statistics. */
  get usesBatchStatistics(): boolean {
    return this.training && !this.normEval;
  }

  forward(b: ParameterBinding, x: Tensor): Tensor {
    if (this.usesBatchStatistics) return this.#forwardBatch(b, x);
    const scale = b.tensor(this.weight).mul(b.tensor(this.runningVar).add(this.eps).rsqrt());
    const shift = b.tensor(this.bias).sub(b.tensor(this.runningMean).mul(scale));
    return x.mul(channelwise(scale)).add(channelwise(shift));
  }

  #forwardBatch(b: ParameterBinding, x: Tensor): Tensor {
    const [n, c, h, w] = x.shape;
    const count = n * h * w;
    if (count < 2) {
      throw new ModelConfigError(
        `BatchNorm2d(${c}) in training mode needs more than one value per channel, got input [${x.shape.join(', ')}]`,
        { hint: 'use a larger batch or feature map, or keep the norm in eval mode (norm_eval)' },
      );
    }
    const mean = x.mean([0, 2, 3], true);
    const centred = x.sub(mean);
    const variance = centred.square().mean([0, 2, 3], true);
    b.trace.noGrad(() => {
      const m = this.momentum;
      const blend = (old: Parameter, batch: Tensor) =>
        b
          .tensor(old)
          .mul(1 - m)
          .add(batch.reshape([c]).mul(m));
      b.setUpdate(this.runningMean, blend(this.runningMean, mean));
      b.setUpdate(this.runningVar, blend(this.runningVar, variance.mul(count / (count - 1))));
      b.setUpdate(this.numBatchesTracked, b.tensor(this.numBatchesTracked).add(1));
    });
    return centred
      .mul(variance.add(this.eps).rsqrt())
      .mul(channelwise(b.tensor(this.weight)))
      .add(channelwise(b.tensor(this.bias)));
  }
}

/** torch.nn.GroupNorm over NCHW: statistics per (image, group), biased variance, then affine. */
export class GroupNorm extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;

  constructor(
    readonly groups: number,
    readonly channels: number,
    readonly eps = 1e-5,
    initialWeight = 1,
  ) {
    super();
    if (!(groups > 0) || channels % groups !== 0) {
      throw new ModelConfigError(
        `GroupNorm: ${channels} channels do not split into ${groups} groups`,
        { hint: 'choose a channel count that is a multiple of the group count' },
      );
    }
    this.weight = this.addParameter('weight', [channels], {
      kind: 'constant',
      value: initialWeight,
    });
    this.bias = this.addParameter('bias', [channels], { kind: 'constant', value: 0 });
  }

  forward(b: ParameterBinding, x: Tensor): Tensor {
    const [n, c, h, w] = x.shape;
    const grouped = x.reshape([n, this.groups, (c / this.groups) * h * w]);
    const centred = grouped.sub(grouped.mean(2, true));
    const normed = centred.mul(centred.square().mean(2, true).add(this.eps).rsqrt());
    return normed
      .reshape([n, c, h, w])
      .mul(channelwise(b.tensor(this.weight)))
      .add(channelwise(b.tensor(this.bias)));
  }
}

export type NormKind = { readonly kind: 'bn' } | { readonly kind: 'gn'; readonly groups: number };
export type NormLayer = BatchNorm2d | GroupNorm;

/** A norm layer of `kind` over `channels` (`initialWeight` 0 for zero-init-residual). */
export function makeNorm(kind: NormKind, channels: number, initialWeight = 1): NormLayer {
  switch (kind.kind) {
    case 'bn':
      return new BatchNorm2d(channels, 1e-5, initialWeight);
    case 'gn':
      return new GroupNorm(kind.groups, channels, 1e-5, initialWeight);
    default:
      return kind satisfies never;
  }
}

/** mmcv's abbreviation of a norm kind, used in layer names (`bn1`, `gn1`, `conv.gn`). */
export function normName(kind: NormKind): 'bn' | 'gn' {
  return kind.kind;
}
