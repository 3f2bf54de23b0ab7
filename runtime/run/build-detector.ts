// A `detector` declaration of a plan as a runtime/models RetinaNet: `retinanet(backbone: resnet(…),
// neck: fpn(…), head: retina_head(…))` → DenseDetector (ResNet → FPN → RetinaHead), with the
// AlignDet projector as the classifier when the head has `embed: mlp(…)` (box-domain pre-training)
// and class logits when it has `classes: K` (fine-tuning), plus its anchor generator. An
// `ema(online, momentum: …)` declaration is the online detector's momentum copy.
// Flow: plan declarations → **runtime/run (detectors)** → training steps / evaluation.

import type { DeclarationPlan } from '../../compiler/lower/plan.js';
import { RETINANET_ANCHORS, type AnchorGeneratorConfig } from '../detect/anchors.js';
import { loadSafetensors } from '../io/safetensors.js';
import { DenseDetector, loadBackbone } from '../models/detector.js';
import { fpnForLevels, type ExtraConvSource, type Fpn } from '../models/fpn.js';
import type { DenseClassifier } from '../models/head-classifier.js';
import { ResNet, RESNET_GN_GROUPS, type ResnetDepth } from '../models/resnet.js';
import type { NormKind } from '../nn/norm.js';
import { RetinaHead } from '../models/retina-head.js';
import type { Rng } from '../rng.js';
import { ConfigReader, type BlockValue } from './config-values.js';
import { resolveDataPath } from './build-data.js';
import { RunUnsupportedError } from './errors.js';

/** The backbone and neck of a dense detector declaration (shared by RetinaNet and FCOS). */
export interface BackboneNeckPlan {
  readonly name: string;
  readonly at: string;
  readonly depth: ResnetDepth;
  /** Channel multiplier of the ResNet: `resnet(width: …)`, default 1 (the standard network). */
  readonly widthMultiplier: number;
  readonly weights: string | undefined;
  /** `frozen: true`: backbone under no_grad, BN in eval mode (box-domain pre-training). */
  readonly frozenBackbone: boolean;
  readonly frozenStages: number;
  /** `resnet(norm: "gn")`: GroupNorm backbone layers; BN when absent. */
  readonly norm?: NormKind;
  /** FPN levels `fpn(levels: a..b)`: a in 2..5 (the ResNet returns C_a…C5), b up to 7. */
  readonly levels: readonly [number, number];
  readonly channels: number;
  readonly extra: ExtraConvSource;
}

/** What the runner knows of a RetinaNet declaration. */
export interface RetinaNetPlan extends BackboneNeckPlan {
  readonly convs: number;
  readonly headChannels: number;
  readonly classifier: DenseClassifier;
  readonly anchors: AnchorGeneratorConfig;
}

/** A momentum (EMA) detector declaration. */
export interface EmaPlan {
  readonly name: string;
  readonly online: string;
  readonly start: number;
  readonly end: number;
}

const EXTRA: Record<string, ExtraConvSource> = {
  input: 'on_input',
  output: 'on_output',
  none: 'none',
};

/** Reads an `ema(…)` declaration, or undefined when the declaration is not one. */
export function emaPlanOf(decl: DeclarationPlan): EmaPlan | undefined {
  const r = new ConfigReader(`detector ${decl.name}`, decl.at);
  const b = r.block(decl.value, 'the detector');
  if (b.block !== 'ema') return undefined;
  let start = 0.996;
  let end = 1;
  const m = b.args.momentum;
  if (typeof m === 'number') start = end = m;
  else if (m !== undefined) {
    const s = r.block(m, 'momentum');
    if (s.block === 'cosine') {
      start = r.number(s.args.start, 'start');
      end = r.number(s.args.end, 'end');
    } else if (s.block === 'constant') start = end = r.number(s.args.value, 'value');
  }
  // The box-domain step schedules m = 1 − (1 − m0)(cos(πk/K) + 1)/2: a cosine that ends at 1.
  if (end !== 1)
    throw new RunUnsupportedError(
      `detector ${decl.name}: the EMA momentum must end at 1 (cosine(m0, 1.0)), got ${end}`,
      decl.at,
    );
  return { name: decl.name, online: r.ref(b.args.detector, 'detector'), start, end };
}

/** What the runner reads of any `resnet(…)` block (detectors and image-domain encoders). */
export interface ResnetArgs {
  readonly depth: ResnetDepth;
  /** `width: w`, default 1 (the standard network). */
  readonly widthMultiplier: number;
  /** A local `.safetensors` file, or none. */
  readonly weights: string | undefined;
  readonly frozenStages: number;
  /** `norm: "bn"` (default) or `"gn"` (GroupNorm, gcd(32, channels) groups per layer: resnet.ts). */
  readonly norm?: NormKind;
  /**
   * `norm_eval`: BN layers keep their running statistics in training mode (mmdet). Detectors
   * default to true (and refuse false); image-domain encoders default to false (batch statistics).
   */
  readonly normEval?: boolean;
}

/** Reads a `resnet(…)` block allowing the arguments `allowed`; refuses depths and remote weights. */
export function resnetArgsOf(
  r: ConfigReader,
  decl: DeclarationPlan,
  backbone: BlockValue,
  allowed: readonly string[],
  normEvalDefault = true,
): ResnetArgs {
  if (backbone.block !== 'resnet')
    throw new RunUnsupportedError(`detector ${decl.name}: backbone ${backbone.block}(…)`, decl.at);
  r.onlyArgs(backbone, allowed);
  const depth = r.integer(backbone.args.depth, 'depth');
  if (depth !== 18 && depth !== 34 && depth !== 50)
    throw new RunUnsupportedError(
      `detector ${decl.name}: ResNet-${depth}`,
      decl.at,
      'use 18, 34 or 50',
    );
  const weights = backbone.args.weights;
  if (weights !== undefined && !r.string(weights, 'weights').endsWith('.safetensors'))
    throw new RunUnsupportedError(
      `detector ${decl.name}: weights ${JSON.stringify(weights)} cannot be fetched by the runner`,
      decl.at,
      'give a local .safetensors file of a ResNet (torchvision or mmdet names), or leave weights out',
    );
  return {
    depth,
    widthMultiplier: r.number(backbone.args.width, 'width', 1),
    weights: weights === undefined ? undefined : r.string(weights, 'weights'),
    frozenStages: r.integer(backbone.args.frozen_stages, 'frozen_stages', -1),
    norm: normKindOf(r, backbone),
    normEval: r.boolean(backbone.args.norm_eval, 'norm_eval', normEvalDefault),
  };
}

/** `resnet(norm: "bn" | "gn")`: BatchNorm (default) or GroupNorm with mmdet's 32 groups. */
function normKindOf(r: ConfigReader, backbone: BlockValue): NormKind {
  const name = r.string(backbone.args.norm, 'norm', 'bn');
  if (name === 'bn') return { kind: 'bn' };
  if (name === 'gn') return { kind: 'gn', groups: RESNET_GN_GROUPS };
  return r.fail(`norm: "${name}" is not "bn" or "gn"`);
}

/** Reads the `resnet(…)` backbone and `fpn(…)` neck of a `retinanet(…)` / `fcos(…)` block. */
export function backboneNeckOf(
  r: ConfigReader,
  decl: DeclarationPlan,
  b: BlockValue,
): BackboneNeckPlan {
  const backbone = r.block(b.args.backbone, 'backbone');
  const neck = r.block(b.args.neck, 'neck');
  const resnet = resnetArgsOf(r, decl, backbone, [
    'depth',
    'weights',
    'frozen',
    'frozen_stages',
    'norm_eval',
    'norm',
    'width',
  ]);
  // A detector's step runs its BN layers on running statistics (mmdet `norm_eval`, every AlignDet
  // config): batch statistics would need the step to write the running-stat updates back.
  if (resnet.normEval === false)
    throw new RunUnsupportedError(
      `detector ${decl.name}: norm_eval: false is not supported for detectors; their BN layers keep running statistics`,
      decl.at,
      'remove norm_eval: false (image-domain encoder(…) backbones train BN with batch statistics by default)',
    );
  r.onlyArgs(neck, ['levels', 'channels', 'extra']);
  const channels = r.integer(neck.args.channels, 'neck channels');
  const levels = r.range(neck.args.levels, 'neck levels');
  if (levels[0] < 2 || levels[0] > 5)
    r.fail(`the FPN must start at level 2, 3, 4 or 5 (a ResNet's C2–C5), got ${levels[0]}`);
  const extraName = r.string(neck.args.extra, 'extra', 'input');
  const extra = EXTRA[extraName] ?? r.fail(`extra: "${extraName}" is not input, output or none`);
  return {
    name: decl.name,
    at: decl.at,
    ...resnet,
    frozenBackbone: r.boolean(backbone.args.frozen, 'frozen', false),
    levels,
    channels,
    extra,
  };
}

/** The stride of each FPN level `levels[0]..levels[1]`: 2^l (P2 = 4 … P7 = 128). */
export function fpnLevelStrides(levels: readonly [number, number]): number[] {
  const strides = [];
  for (let l = levels[0]; l <= levels[1]; l++) strides.push(2 ** l);
  return strides;
}

/**
 * Refuses `strides` (`what`: the head's or its anchors') that are not the FPN levels' strides:
 * one per level, each 2^l, as mmdet's anchor / point generators assume of their feature maps.
 */
export function checkLevelStrides(
  r: ConfigReader,
  what: string,
  strides: readonly number[],
  levels: readonly [number, number],
): void {
  const want = fpnLevelStrides(levels);
  if (strides.length !== want.length)
    r.fail(
      `${what} gives ${strides.length} strides but the FPN has ${want.length} levels`,
      `fpn(levels: ${levels[0]}..${levels[1]}) needs strides: [${want.join(', ')}]`,
    );
  if (strides.some((s, i) => s !== want[i]))
    r.fail(
      `${what} gives strides [${strides.join(', ')}] but the FPN levels ${levels[0]}..${levels[1]} have strides [${want.join(', ')}]`,
      `write strides: [${want.join(', ')}], or change fpn(levels: …)`,
    );
}

/** The head's classifier: the AlignDet projector (`embed: mlp(h, d)`) or `classes: K` logits. */
export function headClassifierOf(
  r: ConfigReader,
  decl: DeclarationPlan,
  head: BlockValue,
): DenseClassifier {
  if (head.args.embed !== undefined) {
    const mlp = r.block(head.args.embed, 'embed');
    const dims = r.numbers(mlp.args.dims, 'mlp dims');
    if (dims.length !== 2)
      throw new RunUnsupportedError(
        `detector ${decl.name}: the projector is mlp(hidden, out), two widths; got ${dims.length}`,
        decl.at,
      );
    return { kind: 'projector', dim: dims[1], hiddenChannels: dims[0] };
  }
  if (head.args.classes !== undefined)
    return { kind: 'logits', numClasses: r.integer(head.args.classes, 'classes') };
  return r.fail('the head needs classes: K (fine-tuning) or embed: mlp(…) (pre-training)');
}

/** The detector's ResNet and FPN, built from the plan (not initialised). */
export function buildBackboneNeck(
  p: BackboneNeckPlan,
  options: { readonly reluBeforeExtraConvs?: boolean } = {},
): { backbone: ResNet; neck: Fpn } {
  // C2…C5 (outIndices 0…3) from the first FPN level on: P2–P6 takes C2–C5, P3–P7 C3–C5.
  const inputLevels = [2, 3, 4, 5].filter((l) => l >= p.levels[0]);
  const backbone = new ResNet({
    depth: p.depth,
    widthMultiplier: p.widthMultiplier,
    outIndices: inputLevels.map((l) => l - 2),
    frozenStages: p.frozenBackbone ? -1 : p.frozenStages,
    ...(p.norm === undefined ? {} : { norm: p.norm }),
  });
  const neck = fpnForLevels({
    inChannels: backbone.outChannels,
    inputLevels,
    levels: p.levels,
    outChannels: p.channels,
    extraConvs: p.extra,
    ...(options.reluBeforeExtraConvs === true ? { reluBeforeExtraConvs: true } : {}),
  });
  return { backbone, neck };
}

/** Loads the plan's backbone weights file, if any, and freezes a `frozen: true` backbone. */
export async function finishBackbone(p: BackboneNeckPlan, backbone: ResNet): Promise<void> {
  if (p.weights !== undefined) {
    const path = resolveDataPath(p.weights);
    const file = await loadSafetensors(path);
    loadBackbone(backbone, new Map([...file.tensors].map(([k, t]) => [k, t.tensor])), path);
  }
  if (p.frozenBackbone) backbone.freeze();
}

/** Reads a `retinanet(…)` declaration. */
export function retinaNetPlanOf(decl: DeclarationPlan): RetinaNetPlan {
  const r = new ConfigReader(`detector ${decl.name}`, decl.at);
  const b = r.block(decl.value, 'the detector');
  if (b.block !== 'retinanet')
    throw new RunUnsupportedError(
      `detector ${decl.name}: ${b.block}(…) detectors are not supported by alignc run yet`,
      decl.at,
      'the runner builds retinanet(…) detectors (and their ema(…) copies)',
    );
  const head = r.block(b.args.head, 'head');
  r.onlyArgs(head, ['convs', 'channels', 'classes', 'embed', 'anchors']);
  const base = backboneNeckOf(r, decl, b);
  const { levels, channels } = base;
  const classifier = headClassifierOf(r, decl, head);
  const strides = fpnLevelStrides(levels);
  let anchors: AnchorGeneratorConfig = { ...RETINANET_ANCHORS, strides };
  if (head.args.anchors !== undefined) {
    const a = r.block(head.args.anchors, 'anchors');
    anchors = {
      strides: a.args.strides === undefined ? strides : r.numbers(a.args.strides, 'strides'),
      ratios:
        a.args.ratios === undefined ? RETINANET_ANCHORS.ratios : r.numbers(a.args.ratios, 'ratios'),
      octaveBaseScale: r.number(a.args.octave_base, 'octave_base', 4),
      scalesPerOctave: r.integer(a.args.scales, 'scales', 3),
    };
    checkLevelStrides(r, 'anchors(strides: …)', anchors.strides, levels);
  }
  return {
    ...base,
    convs: r.integer(head.args.convs, 'convs', 4),
    headChannels: r.integer(head.args.channels, 'head channels', channels),
    classifier,
    anchors,
  };
}

/** Anchors per location of a plan's generator. */
export function anchorsPerLocation(p: RetinaNetPlan): number {
  return p.anchors.ratios.length * (p.anchors.scalesPerOctave ?? 1);
}

/** Builds and initialises the detector (loading backbone weights when the plan names a file). */
export async function buildRetinaNet(
  p: RetinaNetPlan,
  rng: Rng,
): Promise<DenseDetector<RetinaHead>> {
  const { backbone, neck } = buildBackboneNeck(p);
  const head = new RetinaHead({
    inChannels: p.channels,
    featChannels: p.headChannels,
    stackedConvs: p.convs,
    numAnchors: anchorsPerLocation(p),
    classifier: p.classifier,
  });
  const det = new DenseDetector(backbone, neck, head).initialize(rng);
  await finishBackbone(p, backbone);
  return det;
}
