// Wraps a runtime/models dense detector (ResNet → FPN → RetinaNet or FCOS head with the AlignDet
// projector; FCOS adds its centerness) as the box-domain step's `BoxDomainDetector`, and splits its
// weights into the step's tensor groups: the backbone (parameters and BN buffers, frozen, shared
// by f_q and f_k) and the online neck + head (trainable). Names are the module tree's state-dict names under mmdet's prefixes
// (`backbone.`, `neck.`, `bbox_head.`), so checkpoints keep mmdetection's naming.
// Flow: runtime/models blocks → **adapter** → box-domain step (traced) → Backend.

import type { TensorData } from '../cpu/tensor-data.js';
import { flattenPriors } from '../models/dense-outputs.js';
import type { DenseDetector } from '../models/detector.js';
import type { FcosHead } from '../models/fcos-head.js';
import type { RetinaHead } from '../models/retina-head.js';
import { ParameterBinding } from '../nn/binding.js';
import type { Tensor } from '../tensor/tensor.js';
import type { NamedParameter } from '../nn/module.js';
import type { BoxDomainDetector, TensorMap } from './box-domain-step.js';
import { TrainSetupError } from './errors.js';

export interface ModuleBoxDomainParts {
  readonly detector: BoxDomainDetector;
  /** `backbone.*`: every parameter and buffer of the backbone, current values. */
  readonly backbone: Map<string, TensorData>;
  /** `neck.*` and `bbox_head.*`: the online detector's trainable parameters, current values. */
  readonly online: Map<string, TensorData>;
}

function values(entries: readonly NamedParameter[]): Map<string, TensorData> {
  return new Map(
    entries.map(({ name, parameter }) => {
      if (parameter.value === undefined)
        throw new TrainSetupError(`parameter ${name} has no value`, {
          hint: 'initialise the detector or load its weights before building the step',
        });
      return [name, { shape: parameter.shape, dtype: 'f32', data: parameter.value }];
    }),
  );
}

function bindAll(
  binding: ParameterBinding,
  entries: readonly NamedParameter[],
  params: TensorMap,
): ParameterBinding {
  for (const { name, parameter } of entries) {
    const t = params.get(name);
    if (t === undefined) throw new TrainSetupError(`the step has no tensor for ${name}`);
    binding.bind(parameter, t);
  }
  return binding;
}

/**
 * The box-domain view of `model` (a RetinaNet whose head ends in a projector). The backbone is put
 * in eval mode (frozen: BN uses its running statistics, spec §2 `norm_eval`).
 */
export function boxDomainDetectorOf(
  model: DenseDetector<RetinaHead> | DenseDetector<FcosHead>,
): ModuleBoxDomainParts {
  if (model.head.options.classifier.kind !== 'projector')
    throw new TrainSetupError(
      'box-domain pre-training needs a head whose classifier is a projector, not logits',
    );
  model.backbone.eval();
  const backboneEntries = model.backbone.state('backbone.');
  const onlineEntries = [...model.neck.state('neck.'), ...model.head.state('bbox_head.')];
  const buffer = onlineEntries.find((e) => e.parameter.kind === 'buffer');
  if (buffer !== undefined)
    throw new TrainSetupError(
      `${buffer.name} is a buffer: the neck and head must have no BN during box-domain pre-training`,
      { hint: 'AlignDet pre-trains without norms in the FPN and head (spec §3.1)' },
    );
  const embed = model.head.clsWidth;
  const detector: BoxDomainDetector = {
    backbone(params, images) {
      const b = bindAll(new ParameterBinding(images.trace), backboneEntries, params);
      return model.backbone.forward(b, images);
    },
    head(params, features) {
      const first = features[0];
      if (first === undefined) throw new TrainSetupError('the backbone returned no feature maps');
      const b = bindAll(new ParameterBinding(first.trace), onlineEntries, params);
      const levels: readonly { cls: Tensor; reg: Tensor; centerness?: Tensor }[] =
        model.head.forward(b, model.neck.forward(b, features));
      const centerness = levels.map((l) => l.centerness).filter((c) => c !== undefined);
      return {
        embeddings: flattenPriors(
          levels.map((l) => l.cls),
          embed,
        ),
        deltas: flattenPriors(
          levels.map((l) => l.reg),
          4,
        ),
        ...(centerness.length === levels.length
          ? { centerness: flattenPriors(centerness, 1) }
          : {}),
      };
    },
  };
  return { detector, backbone: values(backboneEntries), online: values(onlineEntries) };
}
