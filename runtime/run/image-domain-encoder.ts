// The image-domain network of a plan: `encoder(backbone: resnet(…), projector: mlp(h, d),
// predictor: mlp(h, d))` → a ResNet whose C5 map is average-pooled over the image, an MLP projector
// on the pooled features and, for BYOL's online network, an MLP predictor on the projection.
// Parameter names: `backbone.*` with torchvision's ResNet names (the names every detector's
// backbone has, so a later stage's `init … from:` loads them by name), `projector.0/2.*`,
// `predictor.0/2.*` (a torch.nn.Sequential of Linear, ReLU, Linear). The ResNet's norm is BN
// (batch statistics while training unless `norm_eval: true`) or GN (`norm: "gn"`).
// Flow: plan declarations → **image-domain encoder** (runtime/nn module) → image-domain step.

import type { DeclarationPlan } from '../../compiler/lower/plan.js';
import { loadSafetensors } from '../io/safetensors.js';
import { loadBackbone } from '../models/detector.js';
import { LinearProjector } from '../models/projector.js';
import { ResNet } from '../models/resnet.js';
import type { ParameterBinding } from '../nn/binding.js';
import type { Initializer } from '../nn/init.js';
import { Module } from '../nn/module.js';
import type { Rng } from '../rng.js';
import type { Tensor } from '../tensor/tensor.js';
import { resolveDataPath } from './build-data.js';
import { resnetArgsOf, type ResnetArgs } from './build-detector.js';
import { ConfigReader } from './config-values.js';
import { RunUnsupportedError } from './errors.js';

/** An MLP of the encoder: Linear(in → hidden) → ReLU → Linear(hidden → out). */
export interface MlpPlan {
  readonly hidden: number;
  readonly out: number;
}

/** What the runner knows of an `encoder(…)` declaration. */
export interface EncoderPlan extends ResnetArgs {
  readonly name: string;
  readonly at: string;
  readonly projector: MlpPlan;
  readonly predictor: MlpPlan | undefined;
}

/** torch's default Linear weight init (kaiming uniform, a = √5): embeddings of unit-ish scale. */
const TORCH_LINEAR: Initializer = {
  kind: 'kaiming',
  mode: 'fan_in',
  distribution: 'uniform',
  a: Math.sqrt(5),
};

/** Reads an `encoder(…)` declaration. */
export function encoderPlanOf(decl: DeclarationPlan): EncoderPlan {
  const r = new ConfigReader(`detector ${decl.name}`, decl.at);
  const b = r.block(decl.value, 'the detector');
  if (b.block !== 'encoder')
    throw new RunUnsupportedError(
      `detector ${decl.name}: an image-domain stage runs encoder(…) networks, not ${b.block}(…)`,
      decl.at,
      'declare detector x = encoder(backbone: resnet(…), projector: mlp(h, d), predictor: mlp(h, d))',
    );
  const resnet = resnetArgsOf(
    r,
    decl,
    r.block(b.args.backbone, 'backbone'),
    ['depth', 'weights', 'frozen_stages', 'width', 'norm', 'norm_eval'],
    // BYOL trains BN with batch statistics; `norm_eval: true` keeps the running statistics.
    false,
  );
  const mlp = (v: typeof b.args.projector, role: string): MlpPlan => {
    const dims = r.numbers(r.block(v, role).args.dims, `${role} dims`);
    if (dims.length !== 2)
      throw new RunUnsupportedError(
        `detector ${decl.name}: the ${role} is mlp(hidden, out), two widths; got ${dims.length}`,
        decl.at,
      );
    return { hidden: dims[0], out: dims[1] };
  };
  const projector = mlp(b.args.projector, 'projector');
  const predictor = b.args.predictor === undefined ? undefined : mlp(b.args.predictor, 'predictor');
  if (predictor !== undefined && predictor.out !== projector.out)
    r.fail(
      `the predictor's output (${predictor.out}) must match the projector's (${projector.out})`,
    );
  return {
    name: decl.name,
    at: decl.at,
    ...resnet,
    projector,
    predictor,
  };
}

/** The encoder's outputs for a batch of images: one row per image. */
export interface EncoderOutput {
  readonly projection: Tensor;
  readonly prediction: Tensor | undefined;
}

export class ImageEncoder extends Module {
  readonly backbone: ResNet;
  readonly projector: LinearProjector;
  readonly predictor: LinearProjector | undefined;

  constructor(readonly plan: EncoderPlan) {
    super();
    // Only C5 is pooled. BN uses batch statistics while training unless `norm_eval: true`
    // (BYOL's reference trains BN; frozen stages stay in eval mode either way).
    this.backbone = this.addChild(
      'backbone',
      new ResNet({
        depth: plan.depth,
        widthMultiplier: plan.widthMultiplier,
        outIndices: [3],
        frozenStages: plan.frozenStages,
        norm: plan.norm ?? { kind: 'bn' },
        normEval: plan.normEval ?? false,
      }),
    );
    const features = this.backbone.outChannels[0];
    const p = plan.projector;
    this.projector = this.addChild(
      'projector',
      new LinearProjector(features, p.hidden, p.out, TORCH_LINEAR),
    );
    const q = plan.predictor;
    this.predictor =
      q === undefined
        ? undefined
        : this.addChild('predictor', new LinearProjector(p.out, q.hidden, q.out, TORCH_LINEAR));
  }

  /** Images `[B, 3, H, W]` → projection `[B, D]` and, with a predictor, prediction `[B, D]`. */
  forward(b: ParameterBinding, images: Tensor): EncoderOutput {
    const [c5] = this.backbone.forward(b, images);
    const pooled = c5.mean([2, 3]);
    const projection = this.projector.forward(b, pooled);
    const prediction =
      this.predictor === undefined ? undefined : this.predictor.forward(b, projection);
    return { projection, prediction };
  }
}

/** Builds and initialises the encoder (loading backbone weights when the plan names a file). */
export async function buildEncoder(plan: EncoderPlan, rng: Rng): Promise<ImageEncoder> {
  const encoder = new ImageEncoder(plan).initialize(rng);
  if (plan.weights !== undefined) {
    const path = resolveDataPath(plan.weights);
    const file = await loadSafetensors(path);
    loadBackbone(encoder.backbone, new Map([...file.tensors].map(([k, t]) => [k, t.tensor])), path);
  }
  return encoder;
}
