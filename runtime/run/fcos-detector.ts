// An `fcos(backbone: resnet(…), neck: fpn(…), head: fcos_head(…))` declaration of a plan as a
// runtime/models FCOS: DenseDetector (ResNet → FPN → FcosHead), with the AlignDet projector as
// `conv_cls` when the head has `embed: mlp(…)` (box-domain pre-training) and class logits when it
// has `classes: K` (fine-tuning). As mmdet's FCOS: GN(32) towers, one learnable Scale per level,
// `exp` on the regression, ReLU before the FPN's extra convs, points at the true strides (8, 16, …;
// aligndet-spec §10.7). Flow: plan declarations → **runtime/run (FCOS detector)** → steps / eval.

import type { DeclarationPlan } from '../../compiler/lower/plan.js';
import { DenseDetector } from '../models/detector.js';
import { FcosHead } from '../models/fcos-head.js';
import type { DenseClassifier } from '../models/head-classifier.js';
import type { Rng } from '../rng.js';
import {
  backboneNeckOf,
  buildBackboneNeck,
  checkLevelStrides,
  finishBackbone,
  fpnLevelStrides,
  headClassifierOf,
  type BackboneNeckPlan,
} from './build-detector.js';
import { ConfigReader } from './config-values.js';
import { RunUnsupportedError } from './errors.js';

/** What the runner knows of an FCOS declaration. */
export interface FcosPlan extends BackboneNeckPlan {
  readonly convs: number;
  readonly headChannels: number;
  readonly classifier: DenseClassifier;
  /** Point stride of each pyramid level. */
  readonly strides: readonly number[];
}

/** mmdet's FCOS GroupNorm: 32 groups in every tower conv. */
const GN_GROUPS = 32;

/** Reads an `fcos(…)` declaration. */
export function fcosPlanOf(decl: DeclarationPlan): FcosPlan {
  const r = new ConfigReader(`detector ${decl.name}`, decl.at);
  const b = r.block(decl.value, 'the detector');
  if (b.block !== 'fcos')
    throw new RunUnsupportedError(
      `detector ${decl.name}: an FCOS stage needs an fcos(…) detector, not ${b.block}(…)`,
      decl.at,
    );
  const head = r.block(b.args.head, 'head');
  if (head.block !== 'fcos_head')
    throw new RunUnsupportedError(
      `detector ${decl.name}: head ${head.block}(…) in an fcos(…) detector`,
      decl.at,
      'use fcos_head(…)',
    );
  r.onlyArgs(head, ['convs', 'channels', 'classes', 'embed', 'norm', 'strides', 'ranges']);
  const base = backboneNeckOf(r, decl, b);
  const norm = r.string(head.args.norm, 'norm', 'gn');
  if (norm !== 'gn')
    throw new RunUnsupportedError(
      `detector ${decl.name}: fcos_head(norm: "${norm}")`,
      decl.at,
      'the runner builds mmdet FCOS towers with GroupNorm(32): norm: "gn"',
    );
  const headChannels = r.integer(head.args.channels, 'head channels', base.channels);
  if (headChannels % GN_GROUPS !== 0)
    r.fail(`the FCOS towers use GroupNorm(${GN_GROUPS}): channels must be a multiple of 32`);
  const strides =
    head.args.strides === undefined
      ? fpnLevelStrides(base.levels)
      : r.numbers(head.args.strides, 'strides');
  checkLevelStrides(r, 'fcos_head(strides: …)', strides, base.levels);
  return {
    ...base,
    convs: r.integer(head.args.convs, 'convs', 4),
    headChannels,
    classifier: headClassifierOf(r, decl, head),
    strides,
  };
}

/** Builds and initialises the FCOS (loading backbone weights when the plan names a file). */
export async function buildFcos(p: FcosPlan, rng: Rng): Promise<DenseDetector<FcosHead>> {
  const { backbone, neck } = buildBackboneNeck(p, { reluBeforeExtraConvs: true });
  const head = new FcosHead({
    inChannels: p.channels,
    featChannels: p.headChannels,
    stackedConvs: p.convs,
    strides: p.strides,
    classifier: p.classifier,
    norm: { kind: 'gn', groups: GN_GROUPS },
  });
  const det = new DenseDetector(backbone, neck, head).initialize(rng);
  await finishBackbone(p, backbone);
  return det;
}
