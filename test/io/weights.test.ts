// ResNet names and shapes against torchvision's state dicts (scripts/make-detect-goldens.py), the
// torchvision ↔ mmdetection mapping, backbone matching, and AlignDet's checkpoint surgery.

import { describe, expect, it } from 'vitest';
import {
  extractDetectorWeights,
  CheckpointSurgeryError,
} from '../../runtime/io/checkpoint-surgery.js';
import type { HostTensor } from '../../runtime/io/safetensors.js';
import {
  matchResnetBackbone,
  mmdetToTorchvision,
  resnetStateEntries,
  torchvisionToMmdet,
  WeightNameError,
  type ResnetDepth,
} from '../../runtime/io/weight-names.js';
import { loadGolden } from '../detect/golden.js';

const golden = loadGolden<Record<string, [string, number[]][]>>('io-resnet-keys.json');

function fakeCheckpoint(
  entries: { name: string; shape: readonly number[] }[],
  prefix = '',
): Map<string, HostTensor> {
  return new Map(
    entries.map((e) => [
      prefix + e.name,
      { kind: 'float', shape: e.shape, data: new Float32Array(e.shape.reduce((a, b) => a * b, 1)) },
    ]),
  );
}

describe('ResNet names', () => {
  for (const depth of [18, 34, 50] as const) {
    it(`ResNet-${depth} entries equal torchvision's state dict (names, order, shapes)`, () => {
      const ours = resnetStateEntries(depth, { includeClassifier: true }).map((e) => [
        e.name,
        e.shape,
      ]);
      expect(ours).toEqual(golden[String(depth)]);
    });
  }

  it('maps torchvision ↔ mmdetection names', () => {
    expect(torchvisionToMmdet('layer1.0.bn1.running_mean')).toBe(
      'backbone.layer1.0.bn1.running_mean',
    );
    expect(torchvisionToMmdet('fc.weight')).toBeUndefined();
    expect(mmdetToTorchvision('backbone.layer4.2.conv3.weight')).toBe('layer4.2.conv3.weight');
    expect(mmdetToTorchvision('neck.fpn_convs.0.conv.weight')).toBeUndefined();
  });

  it('width multiplier scales every channel count', () => {
    const small = resnetStateEntries(18, { widthMultiplier: 0.25 });
    expect(small[0].shape).toEqual([16, 3, 7, 7]);
    expect(small.find((e) => e.name === 'layer4.1.conv2.weight')!.shape).toEqual([128, 128, 3, 3]);
  });

  it('matches a backbone in torchvision or mmdet naming and reports what is wrong', () => {
    const entries = resnetStateEntries(18, { includeClassifier: true });
    const tv = matchResnetBackbone(fakeCheckpoint(entries), 18, 'r18.safetensors');
    expect(tv.tensors.size).toBe(entries.length - 2);
    expect(tv.unused).toEqual(['fc.weight', 'fc.bias']);
    const mm = fakeCheckpoint(
      entries.filter((e) => !e.name.startsWith('fc.')),
      'backbone.',
    );
    mm.set('neck.lateral_convs.0.conv.weight', {
      kind: 'float',
      shape: [1],
      data: new Float32Array(1),
    });
    expect(matchResnetBackbone(mm, 18, 'det.safetensors').unused).toEqual([
      'neck.lateral_convs.0.conv.weight',
    ]);
    const wrongDepth = (d: ResnetDepth) => () =>
      matchResnetBackbone(fakeCheckpoint(entries), d, 'r18.safetensors');
    expect(wrongDepth(34)).toThrow(WeightNameError);
    expect(wrongDepth(34)).toThrow(
      /r18\.safetensors: not a ResNet-34 checkpoint: missing "layer1\.2\.conv1\.weight"/,
    );
    expect(wrongDepth(50)).toThrow(/has shape \[64, 64, 3, 3\], expected \[64, 64, 1, 1\]/);
  });
});

describe('checkpoint surgery', () => {
  const keys = [
    'online_backbone.backbone.conv1.weight',
    'online_backbone.neck.fpn_convs.0.conv.weight',
    'online_backbone.bbox_head.cls_convs.0.conv.weight',
    'online_backbone.bbox_head.retina_cls.0.weight',
    'online_backbone.bbox_head.retina_reg.weight',
    'online_backbone.bbox_head.conv_centerness.bias',
    'online_backbone.rpn_head.rpn_cls.weight',
    'target_backbone.backbone.conv1.weight',
  ];
  const ckpt = new Map(keys.map((k, i) => [k, i]));

  it('keeps the online detector minus the final cls/reg/centerness layers, as the reference', () => {
    const r = extractDetectorWeights(ckpt, 'pre.safetensors');
    expect([...r.kept.keys()]).toEqual([
      'backbone.conv1.weight',
      'neck.fpn_convs.0.conv.weight',
      'bbox_head.cls_convs.0.conv.weight',
      'rpn_head.rpn_cls.weight',
    ]);
    expect(r.dropped).toEqual([
      'bbox_head.retina_cls.0.weight',
      'bbox_head.retina_reg.weight',
      'bbox_head.conv_centerness.bias',
    ]);
    expect(r.ignored).toEqual(['target_backbone.backbone.conv1.weight']);
    expect(extractDetectorWeights(ckpt, 'pre.safetensors', { keepHeads: true }).kept.size).toBe(7);
  });

  it('fails clearly when nothing is under the prefix', () => {
    expect(() => extractDetectorWeights(ckpt, 'pre.safetensors', { prefix: 'model.' })).toThrow(
      CheckpointSurgeryError,
    );
  });
});
