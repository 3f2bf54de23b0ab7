// The configuration built-ins of `.align`: datasets, proposal generators and filters, view
// augmentations, detector blocks, schedules, optimizers and metrics. Data only (see spec.ts); the
// checker validates every call against these signatures and compiler/lower will hand the checked
// arguments to the runtime routine of the same name.

import type { AlignType, DetectorFamily, Domain } from '../types.js';
import { spec as s, type BuiltinSig, type ParamSig } from './spec.js';

function block(
  name: string,
  domain: Domain,
  doc: string,
  params: ParamSig[],
  props: (
    get: (n: string) => AlignType | undefined,
    all: (n: string) => readonly AlignType[],
  ) => Record<string, number> = () => ({}),
): BuiltinSig {
  return {
    name,
    doc,
    contexts: ['config', 'stage'],
    params,
    result: (args) => ({ kind: 'value', domain, builtin: name, props: props(args.get, args.all) }),
  };
}

function numberOf(t: AlignType | undefined): number | undefined {
  return t?.kind === 'number' ? t.value : undefined;
}

const p = (
  name: string,
  type: ParamSig['type'],
  doc: string,
  extra: Partial<ParamSig> = {},
): ParamSig => ({
  name,
  type,
  doc,
  ...extra,
});

function photometric(name: string, doc: string): BuiltinSig {
  return block(name, 'transform', doc, [
    p('magnitude', s.int, 'fixed magnitude 1..10; inside one_of the magnitude is drawn', {
      min: 1,
      max: 10,
    }),
    p('p', s.number, 'probability of applying it', { min: 0, max: 1 }),
  ]);
}

function detector(family: DetectorFamily, doc: string): BuiltinSig {
  return {
    name: family,
    doc,
    contexts: ['config'],
    params: [
      p('backbone', s.domain('backbone'), 'the feature extractor', { required: true }),
      p('neck', s.domain('neck'), 'the feature pyramid', { required: true }),
      p('head', s.domain('head'), 'the detection head', { required: true }),
    ],
    result: (args) => {
      const head = args.get('head');
      const props = head?.kind === 'value' ? head.props : {};
      return {
        kind: 'detector',
        family,
        embed: props.embed,
        classes: props.classes,
        regClasses: props.reg_classes,
        ema: false,
      };
    },
  };
}

function head(name: string, doc: string, extra: ParamSig[]): BuiltinSig {
  return block(
    name,
    'head',
    doc,
    [
      p('convs', s.int, 'convolutions in each tower', { min: 0, max: 8 }),
      p('channels', s.int, 'channels of the towers', { min: 1, max: 4096 }),
      p('classes', s.int, 'classes of the classifier (fine-tuning)', { min: 1, max: 10000 }),
      p('embed', s.domain('mlp'), 'projector replacing the classifier (box-domain pre-training)'),
      p('norm', s.enumOf('none', 'gn', 'bn'), 'normalisation in the towers'),
      ...extra,
    ],
    (get) => {
      const out: Record<string, number> = {};
      const classes = numberOf(get('classes'));
      if (classes !== undefined) out.classes = classes;
      const regClasses = numberOf(get('reg_classes'));
      if (regClasses !== undefined) out.reg_classes = regClasses;
      const embed = get('embed');
      if (embed?.kind === 'value' && embed.props.out !== undefined) out.embed = embed.props.out;
      return out;
    },
  );
}

/** The image-domain network: its output record is `projection` (and `prediction`) per image. */
const encoder: BuiltinSig = {
  name: 'encoder',
  doc: 'An image-domain network (BYOL): backbone, global average pool of C5, projector, optional predictor.',
  contexts: ['config'],
  params: [
    p('backbone', s.domain('backbone'), 'the feature extractor', { required: true }),
    p('projector', s.domain('mlp'), 'MLP on the pooled features', { required: true }),
    p('predictor', s.domain('mlp'), 'MLP on the projection (BYOL online network)'),
  ],
  result: (args) => {
    const out = (name: string) => {
      const m = args.get(name);
      return m?.kind === 'value' ? m.props.out : undefined;
    };
    const predict = out('predictor');
    return {
      kind: 'detector',
      family: 'encoder',
      embed: out('projector'),
      classes: undefined,
      regClasses: undefined,
      ...(predict === undefined ? {} : { predict }),
      ema: false,
    };
  },
};

export const configBuiltins: readonly BuiltinSig[] = [
  // ---- datasets
  block('coco', 'dataset', 'A COCO-format dataset (images + instances JSON).', [
    p('images', s.string, 'folder of images', { required: true }),
    p('annotations', s.string, 'COCO instances JSON', { required: true }),
    p('labels', s.bool, 'false: ignore the annotations (unlabelled pre-training)'),
    p('fraction', s.quantity('percent'), 'labelled fraction drawn with `seed`', {
      min: 0,
      max: 100,
    }),
    p('seed', s.int, 'seed of the labelled-fraction draw', { min: 0 }),
  ]),
  block('voc', 'dataset', 'A Pascal VOC dataset.', [
    p('root', s.string, 'VOCdevkit folder', { required: true }),
    p('split', s.enumOf('train', 'val', 'trainval', 'test'), 'image set', { required: true }),
    p('years', s.list(s.int), 'e.g. [2007, 2012]'),
    p('fraction', s.quantity('percent'), 'labelled fraction drawn with `seed`', {
      min: 0,
      max: 100,
    }),
    p('seed', s.int, 'seed of the labelled-fraction draw', { min: 0 }),
  ]),
  block('image_folder', 'dataset', 'Every image under a folder, without labels.', [
    p('root', s.string, 'folder of images', { required: true }),
    p('extensions', s.list(s.string), 'file extensions to include'),
  ]),
  // ---- proposals
  block(
    'selective_search',
    'proposals',
    'SoCo-style selective search on each image of a dataset.',
    [
      p('dataset', s.domain('dataset'), 'the images', { required: true }),
      p('scale', s.number, 'Felzenszwalb scale', { min: 1, max: 10000 }),
      p('sigma', s.number, 'Felzenszwalb Gaussian sigma', { min: 0, max: 10 }),
      p('min_size', s.int, 'Felzenszwalb minimum component size', { min: 1 }),
    ],
  ),
  block(
    'proposals_json',
    'proposals',
    'Proposals from a COCO-format JSON file (e.g. the released ones).',
    [
      p('dataset', s.domain('dataset'), 'the images', { required: true }),
      p('path', s.string, 'COCO JSON of boxes', { required: true }),
    ],
  ),
  block(
    'filter_boxes',
    'proposal_filter',
    'Keeps boxes by size and aspect (SoCo filter_ratio_size).',
    [
      p('min_side', s.number, 'minimum width and height in pixels', { min: 0 }),
      p('max_aspect', s.number, 'maximum of w/h and h/w', { min: 1 }),
      p('min_rel_size', s.number, 'minimum sqrt(wh)/sqrt(WH)', { min: 0, max: 1 }),
      p('max_rel_size', s.number, 'maximum sqrt(wh)/sqrt(WH)', { min: 0, max: 1 }),
    ],
  ),
  block('nms', 'proposal_filter', 'Greedy non-maximum suppression in file order.', [
    p('iou', s.number, 'suppression IoU threshold', { required: true, min: 0, max: 1 }),
  ]),
  block('top', 'proposal_filter', 'Keeps the first k boxes of each image (in file order).', [
    p('k', s.int, 'boxes kept per image', { required: true, min: 1, max: 10000 }),
  ]),
  // ---- views
  block('resize', 'transform', 'Keep-ratio resize to a short side drawn from a list or range.', [
    p('short', s.oneOf(s.list(s.int), s.range), 'short side candidates', {
      required: true,
      min: 1,
      max: 8192,
    }),
    p('max', s.int, 'cap on the long side', { min: 1, max: 8192 }),
  ]),
  block('hflip', 'transform', 'Horizontal flip of image and boxes.', [
    p('p', s.number, 'flip probability', { required: true, min: 0, max: 1 }),
  ]),
  block('pad', 'transform', 'Zero-pads bottom and right to a multiple of `divisor`.', [
    p('divisor', s.int, 'size multiple', { required: true, min: 1, max: 1024 }),
  ]),
  block('normalize', 'transform', 'Per-channel (x - mean) / std in RGB.', [
    p('mean', s.list(s.number), 'RGB means', { required: true }),
    p('std', s.list(s.number), 'RGB standard deviations', { required: true, min: 1e-6 }),
  ]),
  block('one_of', 'transform', 'Applies one transform drawn uniformly, with a random magnitude.', [
    p('ops', s.list(s.domain('transform')), 'the candidates', { required: true }),
    p('magnitude', s.range, 'integer magnitudes drawn uniformly', { min: 1, max: 10 }),
  ]),
  block('color_jitter', 'transform', 'BYOL-style colour jitter.', [
    p('brightness', s.number, 'strength', { min: 0, max: 1 }),
    p('contrast', s.number, 'strength', { min: 0, max: 1 }),
    p('saturation', s.number, 'strength', { min: 0, max: 1 }),
    p('hue', s.number, 'strength', { min: 0, max: 0.5 }),
    p('p', s.number, 'probability', { min: 0, max: 1 }),
  ]),
  block('grayscale', 'transform', 'Grey conversion with probability p.', [
    p('p', s.number, 'probability', { min: 0, max: 1 }),
  ]),
  block('gaussian_blur', 'transform', 'Gaussian blur with sigma drawn from a range.', [
    p('sigma', s.range, 'sigma range', { min: 0, max: 100 }),
    p('p', s.number, 'probability', { min: 0, max: 1 }),
  ]),
  block(
    'random_resized_crop',
    'transform',
    'torchvision RandomResizedCrop: a window of random area and aspect ratio, resized to size×size (image-only views).',
    [
      p('size', s.int, 'output width and height', { required: true, min: 1, max: 8192 }),
      p('scale', s.range, 'area fraction of the window, default 0.08..1.0', { min: 1e-6, max: 1 }),
      p('ratio', s.range, 'aspect ratio w/h, default 0.75..1.3333', { min: 1e-6, max: 100 }),
    ],
  ),
  photometric('identity', 'Leaves the image as it is.'),
  photometric('autocontrast', 'PIL autocontrast.'),
  photometric('equalize', 'PIL histogram equalisation.'),
  photometric('solarize', 'Inverts pixels above min(int(m*25.6), 255).'),
  photometric('color', 'PIL ImageEnhance.Color with factor 0.1 + 1.8*m/10.'),
  photometric('contrast', 'PIL ImageEnhance.Contrast with factor 0.1 + 1.8*m/10.'),
  photometric('brightness', 'PIL ImageEnhance.Brightness with factor 0.1 + 1.8*m/10.'),
  photometric('sharpness', 'PIL ImageEnhance.Sharpness with factor 0.1 + 1.8*m/10.'),
  photometric('posterize', 'Posterize to 4 - int(0.4*m) bits.'),
  // ---- detector blocks
  block('resnet', 'backbone', 'A ResNet backbone (C2–C5 outputs).', [
    p('depth', s.int, '18, 34, 50 or 101', { required: true, min: 18, max: 152 }),
    p('weights', s.string, 'initial weights, e.g. "torchvision://resnet50"'),
    p('frozen', s.bool, 'run under no_grad with BN in eval mode (AlignDet pre-training)'),
    p('frozen_stages', s.int, 'stages (stem = 0) with frozen weights', { min: -1, max: 4 }),
    p('norm_eval', s.bool, 'keep BN statistics fixed (detectors: always; encoders: default false)'),
    p('norm', s.enumOf('bn', 'gn'), 'BatchNorm (default) or GroupNorm(32): gcd(32, C) groups'),
    p('width', s.number, 'multiplies every channel count (1 = the standard network)', {
      min: 0.01,
      max: 8,
    }),
  ]),
  block('fpn', 'neck', 'A feature pyramid network.', [
    p('levels', s.range, 'pyramid levels, e.g. 3..7', { required: true, min: 2, max: 7 }),
    p('channels', s.int, 'output channels', { required: true, min: 1, max: 4096 }),
    p('extra', s.enumOf('input', 'output', 'none'), 'where extra levels are computed from'),
    p('norm', s.enumOf('none', 'gn', 'bn', 'syncbn'), 'normalisation'),
  ]),
  block('anchors', 'anchors', 'RetinaNet-style anchor generator.', [
    p('octave_base', s.number, 'base scale', { min: 1 }),
    p('scales', s.int, 'scales per octave', { min: 1, max: 8 }),
    p('ratios', s.list(s.number), 'aspect ratios', { min: 0.01, max: 100 }),
    p('strides', s.list(s.int), 'stride of each level', { min: 1, max: 1024 }),
  ]),
  block(
    'mlp',
    'mlp',
    'Projector: linear layers with ReLU between them, no norm (MoCo v2 fc-ReLU-fc).',
    [
      p('dims', s.int, 'layer widths, last = embedding size', {
        required: true,
        variadic: true,
        min: 1,
        max: 65536,
      }),
    ],
    (_get, all): Record<string, number> => {
      const dims = all('dims');
      const last = dims[dims.length - 1];
      return last?.kind === 'number' && last.value !== undefined ? { out: last.value } : {};
    },
  ),
  head('retina_head', 'RetinaNet head: class and box towers, 9 anchors per location.', [
    p('anchors', s.domain('anchors'), 'the anchor generator'),
  ]),
  head('fcos_head', 'FCOS head: towers with GN, distances, centerness.', [
    p('strides', s.list(s.int), 'point strides per level', { min: 1, max: 1024 }),
    p('ranges', s.list(s.number), 'regress-range boundaries', { min: -1 }),
  ]),
  head('rcnn_head', 'Faster R-CNN RPN + RoIAlign + Shared4Conv1FC box head.', [
    p('rpn_pre_nms', s.int, 'proposals before NMS', { min: 1 }),
    p('rpn_keep', s.int, 'proposals kept after NMS', { min: 1 }),
    p('roi_size', s.int, 'RoIAlign output size', { min: 1, max: 32 }),
    p('reg_classes', s.int, 'class-specific box regression over this many classes', {
      min: 1,
      max: 10000,
    }),
  ]),
  detector('retinanet', 'A RetinaNet detector.'),
  detector('fcos', 'An FCOS detector.'),
  detector('faster_rcnn', 'A Faster R-CNN detector.'),
  encoder,
  // ---- schedules, optimizers, metrics
  block('cosine', 'schedule', 'Rises from `start` to `end` along a half cosine over the stage.', [
    p('start', s.number, 'value at iteration 0', { required: true, min: 0, max: 1 }),
    p('end', s.number, 'value at the last iteration', { required: true, min: 0, max: 1 }),
  ]),
  block('constant', 'schedule', 'A fixed value.', [
    p('value', s.number, 'the value', { required: true, min: 0, max: 1 }),
  ]),
  block('sgd', 'optimizer', 'SGD with momentum and L2 weight decay (torch.optim.SGD).', [
    p('lr', s.number, 'learning rate', { required: true, min: 0, max: 10 }),
    p('momentum', s.number, 'momentum', { min: 0, max: 1 }),
    p('weight_decay', s.number, 'L2 weight decay', { min: 0, max: 1 }),
    p('nesterov', s.bool, 'Nesterov momentum'),
  ]),
  block('adamw', 'optimizer', 'AdamW (torch.optim.AdamW).', [
    p('lr', s.number, 'learning rate', { required: true, min: 0, max: 10 }),
    p('betas', s.list(s.number), '(beta1, beta2)', { min: 0, max: 1 }),
    p('weight_decay', s.number, 'decoupled weight decay', { min: 0, max: 1 }),
    p('eps', s.number, 'denominator epsilon', { min: 0, max: 1 }),
  ]),
  block('linear_warmup', 'warmup', 'Linear warmup from ratio × lr.', [
    p('length', s.quantity('iter', 'epoch'), 'warmup length', { required: true, min: 0 }),
    p('ratio', s.number, 'starting fraction of lr', { min: 0, max: 1 }),
  ]),
  block('constant_warmup', 'warmup', 'Constant ratio × lr during warmup (FCOS).', [
    p('length', s.quantity('iter', 'epoch'), 'warmup length', { required: true, min: 0 }),
    p('ratio', s.number, 'fraction of lr', { min: 0, max: 1 }),
  ]),
  block('step_lr', 'lr_schedule', 'Multiplies lr by gamma at each milestone.', [
    p('at', s.list(s.quantity('iter', 'epoch')), 'milestones', { required: true, min: 0 }),
    p('gamma', s.number, 'factor', { min: 0, max: 1 }),
  ]),
  block('cosine_lr', 'lr_schedule', 'Cosine annealing of lr to `min_ratio` × lr.', [
    p('min_ratio', s.number, 'final fraction of lr', { min: 0, max: 1 }),
  ]),
  block('coco_map', 'metric', 'COCO bbox mAP@[.5:.95] (pycocotools protocol).', [
    p('max_dets', s.int, 'detections per image', { min: 1, max: 10000 }),
  ]),
  block('voc_map', 'metric', 'VOC07 AP50 (11-point or area).', [
    p('iou', s.number, 'IoU threshold', { min: 0, max: 1 }),
    p('mode', s.enumOf('11points', 'area'), 'AP integration'),
  ]),
];
