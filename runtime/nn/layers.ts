// The basic layers detector blocks are made of — Conv2d, Linear and mmcv's Scale — with PyTorch's
// parameter names and shapes and a forward pass written with Tensor ops (so autodiff and every
// backend get them for free). Norm layers are in norm.ts, mmcv's ConvModule in conv-module.ts.
// Built on runtime/nn/module.ts; used by runtime/models.
import type { Tensor } from '../tensor/tensor.js';
import type { ParameterBinding } from './binding.js';
import { ModelConfigError } from './errors.js';
import type { Initializer } from './init.js';
import type { Parameter } from './module.js';
import { Module } from './module.js';

/** torch.nn.Conv2d's default: kaiming_uniform_(a = sqrt(5)) on fan_in. */
export const TORCH_DEFAULT_WEIGHT: Initializer = {
  kind: 'kaiming',
  mode: 'fan_in',
  distribution: 'uniform',
  a: Math.sqrt(5),
};

export interface Conv2dOptions {
  readonly stride?: number;
  readonly padding?: number;
  readonly dilation?: number;
  readonly groups?: number;
  readonly bias?: boolean;
  readonly weightInit?: Initializer;
  readonly biasInit?: Initializer;
}

/** Per-channel vector `[C]` → `[1, C, 1, 1]`, for broadcasting over NCHW. */
export function channelwise(v: Tensor): Tensor {
  return v.reshape([1, -1, 1, 1]);
}

export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | undefined;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    readonly options: Conv2dOptions = {},
  ) {
    super();
    const groups = options.groups ?? 1;
    if (!(inChannels > 0 && outChannels > 0 && kernel > 0) || inChannels % groups !== 0) {
      throw new ModelConfigError(
        `Conv2d(${inChannels} → ${outChannels}, ${kernel}×${kernel}, groups ${groups}): channels must be positive and divisible by groups`,
      );
    }
    const shape = [outChannels, inChannels / groups, kernel, kernel];
    this.weight = this.addParameter('weight', shape, options.weightInit ?? TORCH_DEFAULT_WEIGHT);
    this.bias =
      options.bias === false
        ? undefined
        : this.addParameter(
            'bias',
            [outChannels],
            options.biasInit ?? {
              kind: 'torch_default_bias',
              fanIn: (inChannels / groups) * kernel * kernel,
            },
          );
  }

  forward(b: ParameterBinding, x: Tensor): Tensor {
    const y = x.conv2d(b.tensor(this.weight), {
      stride: this.options.stride ?? 1,
      padding: this.options.padding ?? 0,
      dilation: this.options.dilation ?? 1,
      groups: this.options.groups ?? 1,
    });
    return this.bias === undefined ? y : y.add(channelwise(b.tensor(this.bias)));
  }
}

/** torch.nn.Linear: `y = x Wᵀ + b` over the last axis, weight `[out, in]`. */
export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | undefined;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: { bias?: boolean; weightInit?: Initializer; biasInit?: Initializer } = {},
  ) {
    super();
    this.weight = this.addParameter(
      'weight',
      [outFeatures, inFeatures],
      options.weightInit ?? TORCH_DEFAULT_WEIGHT,
    );
    this.bias =
      options.bias === false
        ? undefined
        : this.addParameter(
            'bias',
            [outFeatures],
            options.biasInit ?? { kind: 'torch_default_bias', fanIn: inFeatures },
          );
  }

  forward(b: ParameterBinding, x: Tensor): Tensor {
    const y = x.matmul(b.tensor(this.weight).transpose());
    return this.bias === undefined ? y : y.add(b.tensor(this.bias));
  }
}

/** mmcv's Scale: one learnable scalar (shape `[]`), FCOS's per-level regression scale. */
export class Scale extends Module {
  readonly scale: Parameter;
  constructor(initial = 1) {
    super();
    this.scale = this.addParameter('scale', [], { kind: 'constant', value: initial });
  }
  forward(b: ParameterBinding, x: Tensor): Tensor {
    return x.mul(b.tensor(this.scale));
  }
}
