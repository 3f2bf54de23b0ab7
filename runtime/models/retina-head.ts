// The RetinaNet head, as mmdetection 2.x's `RetinaHead`: on every pyramid level (shared weights) a
// classification tower and a regression tower of `stackedConvs` 3×3 convs with ReLU (optionally a
// norm), then `retina_cls` (3×3 → A·K logits; or, for AlignDet pre-training, the projector
// Conv1×1 → ReLU → Conv1×1 → A·D embeddings) and `retina_reg` (3×3 → A·4 DeltaXYWH deltas).
// Names: `cls_convs.i.conv.*`, `reg_convs.i.conv.*`, `retina_cls.*`, `retina_reg.*` under mmdet's
// `bbox_head.`. Init (mmdet init_cfg): every conv Normal(std 0.01), zero bias; `retina_cls` bias from
// the prior probability 0.01 (supervised only). A detector block after runtime/models/fpn.ts; its
// per-level outputs go to runtime/detect (assignment, decoding) via dense-outputs.ts.
import type { ParameterBinding } from '../nn/binding.js';
import { ModelConfigError } from '../nn/errors.js';
import type { Initializer } from '../nn/init.js';
import type { ConvModule } from '../nn/conv-module.js';
import { Conv2d } from '../nn/layers.js';
import type { NormKind } from '../nn/norm.js';
import { Module, ModuleList } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import type { DenseClassifier } from './head-classifier.js';
import { classifierWidth } from './head-classifier.js';
import { headTower, runTower } from './head-tower.js';
import { ConvProjector } from './projector.js';

export interface RetinaHeadOptions {
  readonly inChannels: number;
  /** Tower width (mmdet `feat_channels`, 256); defaults to `inChannels`. */
  readonly featChannels?: number;
  /** Convs per tower (4). */
  readonly stackedConvs?: number;
  /** Anchors per location (9: 3 scales × 3 ratios). */
  readonly numAnchors?: number;
  readonly classifier: DenseClassifier;
  readonly norm?: NormKind;
}

export interface DenseLevelOutput {
  /** `[N, A·K, H, W]` logits or `[N, A·D, H, W]` embeddings. */
  readonly cls: Tensor;
  /** `[N, A·4, H, W]` box regression. */
  readonly reg: Tensor;
}

const NORMAL_001: Initializer = { kind: 'normal', std: 0.01 };
const ZERO: Initializer = { kind: 'constant', value: 0 };

export class RetinaHead extends Module {
  readonly numAnchors: number;
  /** Channels per anchor of `cls`: classes or embedding dimension. */
  readonly clsWidth: number;
  readonly clsConvs: ModuleList<ConvModule>;
  readonly regConvs: ModuleList<ConvModule>;
  readonly retinaCls: Conv2d | ConvProjector;
  readonly retinaReg: Conv2d;

  constructor(readonly options: RetinaHeadOptions) {
    super();
    const feat = options.featChannels ?? options.inChannels;
    const stacked = options.stackedConvs ?? 4;
    this.numAnchors = options.numAnchors ?? 9;
    this.clsWidth = classifierWidth(options.classifier);
    if (!(this.numAnchors > 0 && this.clsWidth > 0 && stacked >= 0 && feat > 0)) {
      throw new ModelConfigError(
        `RetinaHead: anchors (${this.numAnchors}), classifier width (${this.clsWidth}) and channels (${feat}) must be positive`,
      );
    }
    // A tower of 0 convs passes the FPN features straight to the predictors.
    const predictorIn = stacked > 0 ? feat : options.inChannels;
    this.clsConvs = this.addChild(
      'cls_convs',
      headTower(options.inChannels, feat, stacked, options.norm),
    );
    this.regConvs = this.addChild(
      'reg_convs',
      headTower(options.inChannels, feat, stacked, options.norm),
    );
    const c = options.classifier;
    this.retinaCls =
      c.kind === 'logits'
        ? this.addChild(
            'retina_cls',
            new Conv2d(predictorIn, this.numAnchors * c.numClasses, 3, {
              padding: 1,
              weightInit: NORMAL_001,
              biasInit: { kind: 'prior_prob', prior: c.priorProb ?? 0.01 },
            }),
          )
        : this.addChild(
            'retina_cls',
            new ConvProjector({
              inChannels: predictorIn,
              hiddenChannels: c.hiddenChannels ?? predictorIn,
              outChannels: this.numAnchors * c.dim,
              firstKernel: 1,
            }),
          );
    this.retinaReg = this.addChild(
      'retina_reg',
      new Conv2d(predictorIn, this.numAnchors * 4, 3, {
        padding: 1,
        weightInit: NORMAL_001,
        biasInit: ZERO,
      }),
    );
  }

  forwardLevel(b: ParameterBinding, x: Tensor): DenseLevelOutput {
    return {
      cls: this.retinaCls.forward(b, runTower(b, this.clsConvs, x)),
      reg: this.retinaReg.forward(b, runTower(b, this.regConvs, x)),
    };
  }

  /** Pyramid levels (finest first) → per-level outputs; the same weights on every level. */
  forward(b: ParameterBinding, levels: readonly Tensor[]): DenseLevelOutput[] {
    return levels.map((x) => this.forwardLevel(b, x));
  }
}
