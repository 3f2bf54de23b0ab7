// The FCOS head, as mmdetection 2.x's `FCOSHead`: per pyramid level (shared weights) a
// classification and a regression tower of `stackedConvs` 3×3 conv → GN(32) → ReLU (no conv bias,
// mmcv `bias='auto'`), then `conv_cls` (3×3 → K logits; for AlignDet pre-training the projector
// Conv3×3 → ReLU → Conv1×1 → D), `conv_reg` (3×3 → 4, times the level's learnable `Scale`, then
// `exp` — or ReLU, ×stride at inference, with `normOnBbox`) and `conv_centerness` (3×3 → 1) on the
// regression tower (`centernessOnReg`, default) or the classification tower (FCOSHead's own
// default). Names: `cls_convs.i.conv.weight`, `cls_convs.i.gn.*`, `reg_convs…`, `conv_cls.*`,
// `conv_reg.*`, `conv_centerness.*`, `scales.i.scale`, under mmdet's `bbox_head.`. Init: every conv
// Normal(std 0.01), zero bias, `conv_cls` bias from prior 0.01 (supervised only); GN 1/0; scales
// 1. A detector block after runtime/models/fpn.ts.
import type { ParameterBinding } from '../nn/binding.js';
import { ModelConfigError } from '../nn/errors.js';
import type { Initializer } from '../nn/init.js';
import type { ConvModule } from '../nn/conv-module.js';
import { Conv2d, Scale } from '../nn/layers.js';
import type { NormKind } from '../nn/norm.js';
import { Module, ModuleList } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import type { DenseClassifier } from './head-classifier.js';
import { classifierWidth } from './head-classifier.js';
import { ConvProjector } from './projector.js';
import { headTower, runTower } from './head-tower.js';

export interface FcosHeadOptions {
  readonly inChannels: number;
  readonly featChannels?: number;
  readonly stackedConvs?: number;
  /** One per pyramid level (8, 16, 32, 64, 128 for P3–P7); sets the number of `scales`. */
  readonly strides: readonly number[];
  readonly classifier: DenseClassifier;
  /** Tower norm; default GN with 32 groups. */
  readonly norm?: NormKind;
  /** Centerness from the regression tower (default true) or the classification tower. */
  readonly centernessOnReg?: boolean;
  /** ReLU instead of exp on the scaled regression, and ×stride outside training. Default false. */
  readonly normOnBbox?: boolean;
}

export interface FcosLevelOutput {
  /** `[N, K, H, W]` logits or `[N, D, H, W]` embeddings. */
  readonly cls: Tensor;
  /** `[N, 4, H, W]` (l, t, r, b) distances (positive). */
  readonly reg: Tensor;
  /** `[N, 1, H, W]` centerness logits. */
  readonly centerness: Tensor;
}

const NORMAL_001: Initializer = { kind: 'normal', std: 0.01 };
const ZERO: Initializer = { kind: 'constant', value: 0 };

export class FcosHead extends Module {
  readonly clsWidth: number;
  readonly centernessOnReg: boolean;
  readonly normOnBbox: boolean;
  readonly clsConvs: ModuleList<ConvModule>;
  readonly regConvs: ModuleList<ConvModule>;
  readonly convCls: Conv2d | ConvProjector;
  readonly convReg: Conv2d;
  readonly convCenterness: Conv2d;
  readonly scales: ModuleList<Scale>;

  constructor(readonly options: FcosHeadOptions) {
    super();
    const feat = options.featChannels ?? options.inChannels;
    const stacked = options.stackedConvs ?? 4;
    const norm = options.norm ?? { kind: 'gn', groups: 32 };
    this.clsWidth = classifierWidth(options.classifier);
    this.centernessOnReg = options.centernessOnReg ?? true;
    this.normOnBbox = options.normOnBbox ?? false;
    if (options.strides.length === 0 || !(this.clsWidth > 0 && feat > 0 && stacked >= 0)) {
      throw new ModelConfigError(
        `FcosHead: needs at least one stride and positive channels (classifier ${this.clsWidth}, towers ${feat})`,
      );
    }
    const predictorIn = stacked > 0 ? feat : options.inChannels;
    this.clsConvs = this.addChild('cls_convs', headTower(options.inChannels, feat, stacked, norm));
    this.regConvs = this.addChild('reg_convs', headTower(options.inChannels, feat, stacked, norm));
    const c = options.classifier;
    const conv3 = (outC: number, biasInit: Initializer) =>
      new Conv2d(predictorIn, outC, 3, { padding: 1, weightInit: NORMAL_001, biasInit });
    this.convCls =
      c.kind === 'logits'
        ? this.addChild(
            'conv_cls',
            conv3(c.numClasses, { kind: 'prior_prob', prior: c.priorProb ?? 0.01 }),
          )
        : this.addChild(
            'conv_cls',
            new ConvProjector({
              inChannels: predictorIn,
              hiddenChannels: c.hiddenChannels ?? predictorIn,
              outChannels: c.dim,
              firstKernel: 3,
            }),
          );
    this.convReg = this.addChild('conv_reg', conv3(4, ZERO));
    this.convCenterness = this.addChild('conv_centerness', conv3(1, ZERO));
    this.scales = this.addChild('scales', new ModuleList(options.strides.map(() => new Scale(1))));
  }

  forwardLevel(b: ParameterBinding, x: Tensor, level: number): FcosLevelOutput {
    const clsFeat = runTower(b, this.clsConvs, x);
    const regFeat = runTower(b, this.regConvs, x);
    const cls = this.convCls.forward(b, clsFeat);
    const centerness = this.convCenterness.forward(b, this.centernessOnReg ? regFeat : clsFeat);
    const scaled = this.scales.items[level].forward(b, this.convReg.forward(b, regFeat));
    let reg: Tensor;
    if (this.normOnBbox) {
      reg = scaled.relu();
      if (!this.training) reg = reg.mul(this.options.strides[level]);
    } else {
      reg = scaled.exp();
    }
    return { cls, reg, centerness };
  }

  forward(b: ParameterBinding, levels: readonly Tensor[]): FcosLevelOutput[] {
    if (levels.length !== this.options.strides.length) {
      throw new ModelConfigError(
        `FcosHead has ${this.options.strides.length} strides (one Scale per level) but got ${levels.length} feature maps`,
      );
    }
    return levels.map((x, i) => this.forwardLevel(b, x, i));
  }
}
