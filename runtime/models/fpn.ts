// The FPN neck, as mmdetection 2.x's `FPN`: 1×1 lateral convs on backbone levels
// [startLevel, endLevel], a top-down path adding each coarser lateral, resized by nearest neighbour
// to the finer one's size, 3×3 output convs, then extra levels — stride-2 max pools without extra
// convs (P2–P6 for the R-CNNs) or stride-2 3×3 convs on the last input, lateral or output
// (`add_extra_convs`: RetinaNet 'on_input', FCOS 'on_output' with ReLU before the second and later
// extra convs). Names: `lateral_convs.i.conv.*`, `fpn_convs.i.conv.*` (extra convs continue
// `fpn_convs`), under mmdet's `neck.`. Init: Xavier-uniform weights, zero biases (mmdet's
// `init_cfg`). A detector block of runtime/models, between runtime/models/resnet.ts and the heads.
import type { ParameterBinding } from '../nn/binding.js';
import { ModelConfigError } from '../nn/errors.js';
import type { Initializer } from '../nn/init.js';
import { ConvModule } from '../nn/conv-module.js';
import type { NormKind } from '../nn/norm.js';
import { Module, ModuleList } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { resizeNearest } from './upsample.js';

export type ExtraConvSource = 'none' | 'on_input' | 'on_lateral' | 'on_output';

export interface FpnOptions {
  /** Channels of every backbone output the neck receives, finest first. */
  readonly inChannels: readonly number[];
  readonly outChannels: number;
  /** Number of output levels (used backbone levels plus extra levels). */
  readonly numOuts: number;
  /** First backbone output used (mmdet `start_level`, default 0). */
  readonly startLevel?: number;
  /** Last backbone output used, inclusive (mmdet 2.25 `end_level`); −1 (default) = the last. */
  readonly endLevel?: number;
  /** mmdet `add_extra_convs` (default 'none': extra levels are stride-2 max pools). */
  readonly extraConvs?: ExtraConvSource;
  /** mmdet `relu_before_extra_convs`: ReLU before every extra conv but the first. */
  readonly reluBeforeExtraConvs?: boolean;
  /** A norm layer after every conv (fine-tuning's SyncBN in the FPN; convs then have no bias). */
  readonly norm?: NormKind;
}

const XAVIER: Initializer = { kind: 'xavier', distribution: 'uniform' };
const ZERO: Initializer = { kind: 'constant', value: 0 };

export class Fpn extends Module {
  readonly startLevel: number;
  /** One past the last backbone output used. */
  readonly backboneEndLevel: number;
  readonly numOuts: number;
  readonly extraConvs: ExtraConvSource;
  readonly reluBeforeExtraConvs: boolean;
  readonly lateralConvs: ModuleList<ConvModule>;
  readonly fpnConvs: ModuleList<ConvModule>;

  constructor(readonly options: FpnOptions) {
    super();
    const numIns = options.inChannels.length;
    this.startLevel = options.startLevel ?? 0;
    const end = options.endLevel ?? -1;
    this.backboneEndLevel = end === -1 || end === numIns - 1 ? numIns : end + 1;
    this.numOuts = options.numOuts;
    this.extraConvs = options.extraConvs ?? 'none';
    this.reluBeforeExtraConvs = options.reluBeforeExtraConvs ?? false;
    const used = this.backboneEndLevel - this.startLevel;
    const where = `FPN(in [${options.inChannels.join(', ')}], start ${this.startLevel}, end ${end}, ${this.numOuts} outputs)`;
    if (numIns === 0 || this.startLevel < 0 || used < 1 || this.backboneEndLevel > numIns) {
      throw new ModelConfigError(`${where}: the used backbone levels are empty or out of range`);
    }
    if (this.numOuts < used || (this.backboneEndLevel !== numIns && this.numOuts !== used)) {
      throw new ModelConfigError(
        `${where}: needs at least ${used} outputs, and exactly ${used} when it ends before the last backbone level`,
      );
    }
    const conv = (inC: number, kernel: number, stride = 1) =>
      new ConvModule(inC, options.outChannels, kernel, {
        stride,
        padding: (kernel - 1) / 2,
        norm: options.norm,
        relu: false,
        weightInit: XAVIER,
        biasInit: ZERO,
      });
    const laterals: ConvModule[] = [];
    const outputs: ConvModule[] = [];
    for (let i = this.startLevel; i < this.backboneEndLevel; i++) {
      laterals.push(conv(options.inChannels[i], 1));
      outputs.push(conv(options.outChannels, 3));
    }
    if (this.extraConvs !== 'none') {
      for (let k = 0; k < this.numOuts - used; k++) {
        const inC =
          k === 0 && this.extraConvs === 'on_input'
            ? options.inChannels[this.backboneEndLevel - 1]
            : options.outChannels;
        outputs.push(conv(inC, 3, 2));
      }
    }
    this.lateralConvs = this.addChild('lateral_convs', new ModuleList(laterals));
    this.fpnConvs = this.addChild('fpn_convs', new ModuleList(outputs));
  }

  /** Backbone outputs (all `inChannels.length` of them) → `numOuts` maps, finest first. */
  forward(b: ParameterBinding, inputs: readonly Tensor[]): Tensor[] {
    if (inputs.length !== this.options.inChannels.length) {
      throw new ModelConfigError(
        `FPN expects ${this.options.inChannels.length} backbone feature maps, got ${inputs.length}`,
      );
    }
    const used = this.backboneEndLevel - this.startLevel;
    const laterals = this.lateralConvs.items.map((c, i) =>
      c.forward(b, inputs[i + this.startLevel]),
    );
    for (let i = used - 1; i > 0; i--) {
      const [, , h, w] = laterals[i - 1].shape;
      laterals[i - 1] = laterals[i - 1].add(resizeNearest(laterals[i], h, w));
    }
    const outs = laterals.map((l, i) => this.fpnConvs.items[i].forward(b, l));
    if (this.numOuts > used && this.extraConvs === 'none') {
      // mmdet: F.max_pool2d(out, 1, stride=2), i.e. every other pixel.
      while (outs.length < this.numOuts) outs.push(outs[outs.length - 1].maxPool2d(1, 2));
    } else if (this.numOuts > used) {
      const source =
        this.extraConvs === 'on_input'
          ? inputs[this.backboneEndLevel - 1]
          : this.extraConvs === 'on_lateral'
            ? laterals[laterals.length - 1]
            : outs[outs.length - 1];
      outs.push(this.fpnConvs.items[used].forward(b, source));
      for (let i = used + 1; i < this.numOuts; i++) {
        const prev = outs[outs.length - 1];
        outs.push(
          this.fpnConvs.items[i].forward(b, this.reluBeforeExtraConvs ? prev.relu() : prev),
        );
      }
    }
    return outs;
  }
}

/**
 * An FPN producing pyramid levels `levels[0]..levels[1]` (e.g. 3..7) from backbone outputs at
 * `inputLevels` (e.g. C2–C5 = 2..5): the used inputs are those at or above the first level; levels
 * past the last input are extra (convs from `extraConvs`, else max pools).
 */
export function fpnForLevels(options: {
  readonly inChannels: readonly number[];
  readonly inputLevels: readonly number[];
  readonly levels: readonly [number, number];
  readonly outChannels: number;
  readonly extraConvs?: ExtraConvSource;
  readonly reluBeforeExtraConvs?: boolean;
  readonly norm?: NormKind;
}): Fpn {
  const [first, last] = options.levels;
  const startLevel = options.inputLevels.indexOf(first);
  if (startLevel < 0 || last < first) {
    throw new ModelConfigError(
      `FPN levels ${first}..${last}: level ${first} is not a backbone output (have ${options.inputLevels.join(', ')})`,
    );
  }
  const lastInput = options.inputLevels[options.inputLevels.length - 1];
  return new Fpn({
    inChannels: options.inChannels,
    outChannels: options.outChannels,
    numOuts: last - first + 1,
    startLevel,
    endLevel: last >= lastInput ? -1 : options.inputLevels.indexOf(last),
    extraConvs: options.extraConvs,
    reluBeforeExtraConvs: options.reluBeforeExtraConvs,
    norm: options.norm,
  });
}
