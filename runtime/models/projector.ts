// The MLP projector heads that replace a detector's classification layer for AlignDet box-domain
// pre-training (spec §3.1, MoCo v2 "fc-ReLU-fc", no BN, no predictor): the same module sits in the
// online and the momentum detector and outputs embeddings for the contrastive loss.
//   RetinaNet `retina_cls`: Conv1×1(C → C) → ReLU → Conv1×1(C → A·D), D per anchor;
//   FCOS `conv_cls`:        Conv3×3(C → C) → ReLU → Conv1×1(C → D), one embedding per point;
//   R-CNN `fc_cls`:         Linear(1024 → 1024) → ReLU → Linear(1024 → 256); DETR `projector`.
// Parameters are named as a torch.nn.Sequential (`0.*`, `2.*`; the ReLU is index 1) — the reference's
// exact module layout was not recovered, but any name containing the head's `retina_cls` /
// `conv_cls` / `fc_cls` is dropped by checkpoint surgery alike. Init: Normal(std 0.01), zero bias,
// no focal prior (spec §3.1). A detector block of runtime/models, used by the heads.
import type { ParameterBinding } from '../nn/binding.js';
import type { Initializer } from '../nn/init.js';
import { Conv2d, Linear } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';

const NORMAL_001: Initializer = { kind: 'normal', std: 0.01 };
const ZERO: Initializer = { kind: 'constant', value: 0 };

export interface ConvProjectorOptions {
  readonly inChannels: number;
  readonly hiddenChannels: number;
  readonly outChannels: number;
  /** Kernel of the first conv: 1 (RetinaNet) or 3 (FCOS); the second is always 1×1. */
  readonly firstKernel: 1 | 3;
  readonly weightInit?: Initializer;
}

/** Conv → ReLU → Conv1×1 over a feature map `[N, C, H, W]` → `[N, out, H, W]`. */
export class ConvProjector extends Module {
  readonly first: Conv2d;
  readonly second: Conv2d;
  constructor(readonly options: ConvProjectorOptions) {
    super();
    const weightInit = options.weightInit ?? NORMAL_001;
    this.first = this.addChild(
      '0',
      new Conv2d(options.inChannels, options.hiddenChannels, options.firstKernel, {
        padding: (options.firstKernel - 1) / 2,
        weightInit,
        biasInit: ZERO,
      }),
    );
    this.second = this.addChild(
      '2',
      new Conv2d(options.hiddenChannels, options.outChannels, 1, { weightInit, biasInit: ZERO }),
    );
  }
  forward(b: ParameterBinding, x: Tensor): Tensor {
    return this.second.forward(b, this.first.forward(b, x).relu());
  }
}

/** Linear → ReLU → Linear over `[..., in]` (R-CNN `fc_cls`, DETR `projector`). */
export class LinearProjector extends Module {
  readonly first: Linear;
  readonly second: Linear;
  constructor(
    inFeatures: number,
    hiddenFeatures: number,
    outFeatures: number,
    weightInit: Initializer = NORMAL_001,
  ) {
    super();
    this.first = this.addChild(
      '0',
      new Linear(inFeatures, hiddenFeatures, { weightInit, biasInit: ZERO }),
    );
    this.second = this.addChild(
      '2',
      new Linear(hiddenFeatures, outFeatures, { weightInit, biasInit: ZERO }),
    );
  }
  forward(b: ParameterBinding, x: Tensor): Tensor {
    return this.second.forward(b, this.first.forward(b, x).relu());
  }
}
