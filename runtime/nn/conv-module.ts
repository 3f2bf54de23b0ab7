// mmcv's ConvModule (conv → optional norm → optional ReLU), named as mmcv names it — `conv.weight`,
// `conv.bias`, `bn.*` or `gn.*` — the unit of the FPN and of the dense heads' towers. Part of the
// module system (runtime/nn), used by runtime/models.
import type { Tensor } from '../tensor/tensor.js';
import type { ParameterBinding } from './binding.js';
import type { Initializer } from './init.js';
import { Conv2d } from './layers.js';
import { Module } from './module.js';
import type { NormKind, NormLayer } from './norm.js';
import { makeNorm, normName } from './norm.js';

export interface ConvModuleOptions {
  readonly stride?: number;
  readonly padding?: number;
  readonly norm?: NormKind;
  /** mmcv `bias='auto'`: a bias only without a norm layer. */
  readonly bias?: boolean;
  readonly relu?: boolean;
  readonly weightInit?: Initializer;
  readonly biasInit?: Initializer;
}

export class ConvModule extends Module {
  readonly conv: Conv2d;
  readonly norm: NormLayer | undefined;
  readonly relu: boolean;

  constructor(inChannels: number, outChannels: number, kernel: number, o: ConvModuleOptions = {}) {
    super();
    this.conv = this.addChild(
      'conv',
      new Conv2d(inChannels, outChannels, kernel, {
        stride: o.stride,
        padding: o.padding,
        bias: o.bias ?? o.norm === undefined,
        weightInit: o.weightInit,
        biasInit: o.biasInit,
      }),
    );
    this.norm =
      o.norm === undefined
        ? undefined
        : this.addChild(normName(o.norm), makeNorm(o.norm, outChannels));
    this.relu = o.relu ?? true;
  }

  forward(b: ParameterBinding, x: Tensor): Tensor {
    let y = this.conv.forward(b, x);
    if (this.norm !== undefined) y = this.norm.forward(b, y);
    return this.relu ? y.relu() : y;
  }
}
