// The ResNet backbone block (depths 18 / 34 / 50): torchvision's structure and parameter names
// (`conv1`, `bn1`, `layerN.B.convK` / `bnK`, `layerN.B.downsample.0/1`; mmdet's pytorch-style
// ResNet uses the same names under `backbone.`), a width multiplier for small test detectors,
// mmdet's `frozen_stages` (stem and the first k stages get no gradient and run under noGrad) and
// BN (running statistics under mmdet's `norm_eval`, the default) or GN norm layers (named `gn1`…
// as mmdet does; each layer takes gcd(groups, channels) groups, so GN(32) also fits the 8–64
// channels of a narrow network).
// Returns the feature maps C2–C5 selected by `outIndices`. A detector block of runtime/models, built
// from runtime/nn layers; names and shapes match runtime/io/weight-names.ts.
import type { ParameterBinding } from '../nn/binding.js';
import { ModelConfigError } from '../nn/errors.js';
import type { Initializer } from '../nn/init.js';
import { Conv2d } from '../nn/layers.js';
import type { NormKind, NormLayer } from '../nn/norm.js';
import { BatchNorm2d, makeNorm, normName } from '../nn/norm.js';
import { Module, ModuleList } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';

export type ResnetDepth = 18 | 34 | 50;

export interface ResnetOptions {
  readonly depth: ResnetDepth;
  /** Multiplies every channel count (64·m in the stem), rounded; 1 = the standard network. */
  readonly widthMultiplier?: number;
  /** Which stages' outputs to return, 0 = C2 (stride 4) … 3 = C5 (stride 32). Default all four. */
  readonly outIndices?: readonly number[];
  /** mmdet `frozen_stages`: −1 none, 0 the stem, k the stem and stages 1..k. Default −1. */
  readonly frozenStages?: number;
  /** BN (default) or GN norm layers. */
  readonly norm?: NormKind;
  /**
   * mmdet's `norm_eval` (default true, as in every AlignDet config): BN layers use their running
   * statistics in training mode too. False: batch statistics while training (mmdet mstrain runs).
   */
  readonly normEval?: boolean;
  /**
   * mmdet's `zero_init_residual` (default true there, false in torchvision): the last norm of
   * each block starts with weight 0. Only affects `initialize`.
   */
  readonly zeroInitResidual?: boolean;
}

const LAYOUT: Record<
  ResnetDepth,
  { readonly blocks: readonly number[]; readonly bottleneck: boolean }
> = {
  18: { blocks: [2, 2, 2, 2], bottleneck: false },
  34: { blocks: [3, 4, 6, 3], bottleneck: false },
  50: { blocks: [3, 4, 6, 3], bottleneck: true },
};

/** mmdet's GN backbones use GroupNorm(32). */
export const RESNET_GN_GROUPS = 32;

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * The norm layer of `channels`: GN takes gcd(groups, channels) groups (32 at the standard widths,
 * where every channel count is a multiple of 32; all channels' worth at 8–16 channels, 16 at 48).
 */
function resnetNorm(kind: NormKind, channels: number, initialWeight = 1): NormLayer {
  return makeNorm(
    kind.kind === 'gn' ? { kind: 'gn', groups: gcd(kind.groups, channels) } : kind,
    channels,
    initialWeight,
  );
}

/** mmcv KaimingInit on every backbone conv: fan_out, normal, ReLU gain. */
const KAIMING_FAN_OUT: Initializer = { kind: 'kaiming', mode: 'fan_out', distribution: 'normal' };

function conv(inC: number, outC: number, kernel: number, stride: number): Conv2d {
  return new Conv2d(inC, outC, kernel, {
    stride,
    padding: (kernel - 1) / 2,
    bias: false,
    weightInit: KAIMING_FAN_OUT,
  });
}

/** torchvision's `downsample` Sequential: 1×1 strided conv (`0`) and norm (`1`). */
class Downsample extends Module {
  readonly conv: Conv2d;
  readonly norm: NormLayer;
  constructor(inC: number, outC: number, stride: number, norm: NormKind) {
    super();
    this.conv = this.addChild('0', conv(inC, outC, 1, stride));
    this.norm = this.addChild('1', resnetNorm(norm, outC));
  }
  forward(b: ParameterBinding, x: Tensor): Tensor {
    return this.norm.forward(b, this.conv.forward(b, x));
  }
}

interface ConvSpec {
  readonly inC: number;
  readonly outC: number;
  readonly kernel: number;
  readonly stride: number;
}

/**
 * A residual block: convs `conv1…convK` each followed by its norm (`bn1…` / `gn1…`), ReLU between
 * them, the identity (or `downsample`) added before the last ReLU. torchvision's BasicBlock is
 * 3×3 → 3×3 (stride on the first); its Bottleneck (v1.5, = mmdet pytorch style) is
 * 1×1 → 3×3 (strided) → 1×1 with 4× expansion.
 */
class ResidualBlock extends Module {
  readonly convs: Conv2d[] = [];
  readonly norms: NormLayer[] = [];
  readonly downsample: Downsample | undefined;

  constructor(specs: readonly ConvSpec[], norm: NormKind, zeroInit: boolean) {
    super();
    const n = normName(norm);
    specs.forEach((s, i) => {
      const last = i === specs.length - 1;
      this.convs.push(this.addChild(`conv${i + 1}`, conv(s.inC, s.outC, s.kernel, s.stride)));
      this.norms.push(
        this.addChild(`${n}${i + 1}`, resnetNorm(norm, s.outC, last && zeroInit ? 0 : 1)),
      );
    });
    const inC = specs[0].inC;
    const outC = specs[specs.length - 1].outC;
    const stride = Math.max(...specs.map((s) => s.stride));
    this.downsample =
      stride !== 1 || inC !== outC
        ? this.addChild('downsample', new Downsample(inC, outC, stride, norm))
        : undefined;
  }

  forward(b: ParameterBinding, x: Tensor): Tensor {
    let y = x;
    this.convs.forEach((c, i) => {
      y = this.norms[i].forward(b, c.forward(b, y));
      if (i < this.convs.length - 1) y = y.relu();
    });
    const identity = this.downsample === undefined ? x : this.downsample.forward(b, x);
    return y.add(identity).relu();
  }
}

function blockSpecs(bottleneck: boolean, inC: number, planes: number, stride: number): ConvSpec[] {
  return bottleneck
    ? [
        { inC, outC: planes, kernel: 1, stride: 1 },
        { inC: planes, outC: planes, kernel: 3, stride },
        { inC: planes, outC: planes * 4, kernel: 1, stride: 1 },
      ]
    : [
        { inC, outC: planes, kernel: 3, stride },
        { inC: planes, outC: planes, kernel: 3, stride: 1 },
      ];
}

/** The stem: 7×7 stride-2 conv, norm, ReLU, 3×3 stride-2 max pool (output stride 4). */
class Stem {
  constructor(
    readonly conv: Conv2d,
    readonly norm: NormLayer,
  ) {}
  forward(b: ParameterBinding, x: Tensor): Tensor {
    return this.norm.forward(b, this.conv.forward(b, x)).relu().maxPool2d(3, 2, 1);
  }
}

export class ResNet extends Module {
  readonly depth: ResnetDepth;
  readonly outIndices: readonly number[];
  /** Channels of each returned feature map, in `outIndices` order. */
  readonly outChannels: readonly number[];
  readonly #stem: Stem;
  readonly #stages: ModuleList<ResidualBlock>[] = [];
  /** The stem's and frozen stages' modules, held in eval mode (mmdet `_freeze_stages`). */
  readonly #frozenParts: Module[] = [];

  constructor(options: ResnetOptions) {
    super();
    const layout = LAYOUT[options.depth];
    if (layout === undefined) {
      throw new ModelConfigError(
        `ResNet depth ${String(options.depth)} is not supported (18, 34 or 50)`,
      );
    }
    this.depth = options.depth;
    const m = options.widthMultiplier ?? 1;
    const width = (c: number) => Math.round(c * m);
    if (!(width(64) >= 1)) {
      throw new ModelConfigError(`ResNet width multiplier ${m} leaves the stem without channels`);
    }
    this.outIndices = [...new Set(options.outIndices ?? [0, 1, 2, 3])].sort((p, q) => p - q);
    if (this.outIndices.length === 0 || this.outIndices.some((i) => ![0, 1, 2, 3].includes(i))) {
      throw new ModelConfigError(
        `ResNet outIndices [${this.outIndices.join(', ')}] must be stage numbers 0 (C2) to 3 (C5)`,
      );
    }
    const frozen = options.frozenStages ?? -1;
    if (!Number.isInteger(frozen) || frozen < -1 || frozen > 4) {
      throw new ModelConfigError(`ResNet frozenStages ${frozen} must be an integer from −1 to 4`);
    }
    const norm = options.norm ?? { kind: 'bn' };
    const zeroInit = options.zeroInitResidual ?? true;

    const stemConv = this.addChild('conv1', conv(3, width(64), 7, 2));
    const stemNorm = this.addChild(`${normName(norm)}1`, resnetNorm(norm, width(64)));
    this.#stem = new Stem(stemConv, stemNorm);
    let inC = width(64);
    const stageChannels: number[] = [];
    layout.blocks.forEach((count, s) => {
      const planes = width(64 * 2 ** s);
      const blocks: ResidualBlock[] = [];
      for (let k = 0; k < count; k++) {
        const specs = blockSpecs(layout.bottleneck, inC, planes, s > 0 && k === 0 ? 2 : 1);
        blocks.push(new ResidualBlock(specs, norm, zeroInit));
        inC = specs[specs.length - 1].outC;
      }
      this.#stages.push(this.addChild(`layer${s + 1}`, new ModuleList(blocks)));
      stageChannels.push(inC);
    });
    this.outChannels = this.outIndices.map((i) => stageChannels[i]);
    const normEval = options.normEval ?? true;
    for (const m of this.modules()) if (m instanceof BatchNorm2d) m.normEval = normEval;
    if (frozen >= 0) this.#frozenParts.push(stemConv, stemNorm);
    for (let s = 0; s < frozen; s++) this.#frozenParts.push(this.#stages[s]);
    for (const part of this.#frozenParts) part.freeze();
    this.train(this.training);
  }

  /** torch's `train(mode)`, except that frozen stages stay in eval mode (as mmdet's ResNet). */
  override train(mode = true): this {
    super.train(mode);
    for (const part of this.#frozenParts) part.eval();
    return this;
  }

  /** Images `[N, 3, H, W]` → the feature maps of `outIndices` (C2 stride 4 … C5 stride 32). */
  forward(b: ParameterBinding, images: Tensor): Tensor[] {
    const trace = images.trace;
    // A frozen prefix of the network needs no gradient: running it under noGrad keeps its nodes
    // off the backward pass (AlignDet runs the whole frozen backbone this way, spec §1).
    const stemFrozen = this.#stem.conv.frozen && this.#stem.norm.frozen;
    let prefixFrozen = stemFrozen;
    let x = prefixFrozen
      ? trace.noGrad(() => this.#stem.forward(b, images))
      : this.#stem.forward(b, images);
    const outs: Tensor[] = [];
    this.#stages.forEach((stage, s) => {
      prefixFrozen = prefixFrozen && stage.frozen;
      const run = () => stage.items.reduce((y, block) => block.forward(b, y), x);
      x = prefixFrozen ? trace.noGrad(run) : run();
      if (this.outIndices.includes(s)) outs.push(x);
    });
    return outs;
  }
}
