// A one-stage dense detector as mmdetection composes it: `backbone` (ResNet) → `neck` (FPN) →
// `bbox_head` (RetinaNet or FCOS head). Being a module tree with those child names, its state dict
// uses mmdet's names (`backbone.layer1.0.conv1.weight`, `neck.fpn_convs.0.conv.bias`,
// `bbox_head.retina_cls.weight`…), so checkpoints move between alignc and mmdetection by name, and
// AlignDet's checkpoint surgery (runtime/io/checkpoint-surgery.ts) applies unchanged. Also loads an
// ImageNet ResNet into the backbone from either naming. The top of runtime/models.
import type { HostTensor } from '../io/safetensors.js';
import { MMDET_BACKBONE_PREFIX } from '../io/weight-names.js';
import type { ParameterBinding } from '../nn/binding.js';
import { ParameterLoadError } from '../nn/errors.js';
import { Module } from '../nn/module.js';
import type { LoadReport } from '../nn/state.js';
import { loadState } from '../nn/state.js';
import type { Tensor } from '../tensor/tensor.js';
import type { FcosHead, FcosLevelOutput } from './fcos-head.js';
import type { Fpn } from './fpn.js';
import type { DenseLevelOutput, RetinaHead } from './retina-head.js';
import type { ResNet } from './resnet.js';

export class DenseDetector<H extends RetinaHead | FcosHead> extends Module {
  constructor(
    readonly backbone: ResNet,
    readonly neck: Fpn,
    readonly head: H,
  ) {
    super();
    this.addChild('backbone', backbone);
    this.addChild('neck', neck);
    this.addChild('bbox_head', head);
  }

  /** Pyramid features P_first … P_last for images `[N, 3, H, W]`. */
  features(b: ParameterBinding, images: Tensor): Tensor[] {
    return this.neck.forward(b, this.backbone.forward(b, images));
  }

  forward(
    b: ParameterBinding,
    images: Tensor,
  ): H extends FcosHead ? FcosLevelOutput[] : DenseLevelOutput[];
  forward(b: ParameterBinding, images: Tensor): (FcosLevelOutput | DenseLevelOutput)[] {
    return this.head.forward(b, this.features(b, images));
  }
}

/**
 * Loads a ResNet's weights from a checkpoint with torchvision names (a user's ImageNet model, its
 * `fc.*` classifier ignored) or mmdetection names (`backbone.` prefix, the rest of the detector
 * ignored). Every backbone tensor must be present with its shape, except BN batch counters.
 */
export function loadBackbone(
  backbone: ResNet,
  checkpoint: ReadonlyMap<string, HostTensor>,
  file: string,
): LoadReport {
  const mmdetStyle = [...checkpoint.keys()].some((k) => k.startsWith(MMDET_BACKBONE_PREFIX));
  const report = loadState(backbone, checkpoint, {
    file,
    prefix: mmdetStyle ? MMDET_BACKBONE_PREFIX : '',
  });
  const missing = report.missing.filter((n) => !n.endsWith('num_batches_tracked'));
  if (missing.length > 0) {
    throw new ParameterLoadError(
      `${file}: not a ResNet-${backbone.depth} checkpoint of this width: missing ${missing
        .slice(0, 6)
        .map((n) => `"${n}"`)
        .join(', ')}${missing.length > 6 ? ` and ${missing.length - 6} more` : ''}`,
      { hint: 'check the depth and width multiplier match the checkpoint' },
    );
  }
  return report;
}
