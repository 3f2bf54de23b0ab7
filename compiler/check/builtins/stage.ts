// Built-ins that live in stages: the `ema` momentum copy, `no_grad`, the matchers, the records a
// view / detector call / matcher yields (their fields and symbolic shapes), and the signatures of
// the stage clauses (`data`, `optimize`, `train`, …). Data for compiler/check; compiler/lower will
// map each to a stage-plan step or a host routine.

import type { ClauseKind } from '../../../grammar/ast.js';
import { tensor, UNKNOWN, type AlignType, type TensorType } from '../types.js';
import { spec as s, type BuiltinSig, type ParamSig } from './spec.js';

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

function record(name: string, fields: Record<string, AlignType>): AlignType {
  return { kind: 'record', name, fields: new Map(Object.entries(fields)) };
}

/** One augmented view of the batch: `view v1 = aug` makes `v1` this record. */
export function sampleRecord(): AlignType {
  return record('view sample', {
    image: tensor('f32', 'B', 3, 'H', 'W'),
    boxes: tensor('f32', 'P', 4),
    ids: tensor('i32', 'P'),
    labels: tensor('i32', 'P'),
    box_image: tensor('i32', 'P'),
  });
}

/** What `detector(view)` returns; shapes are per view, so the sample count is named after it. */
export function detectorOutput(det: AlignType, view: string): AlignType {
  if (det.kind !== 'detector') return UNKNOWN;
  const S = `S_${view}`;
  const fields: Record<string, AlignType> = {
    image: tensor('i32', S),
    deltas: tensor('f32', S, 4),
  };
  switch (det.family) {
    case 'retinanet':
      fields.anchors = tensor('f32', S, 4);
      break;
    case 'fcos':
      fields.points = tensor('f32', S, 2);
      fields.strides = tensor('f32', S);
      fields.centerness = tensor('f32', S);
      delete fields.deltas;
      fields.distances = tensor('f32', S, 4);
      break;
    case 'encoder':
      return encoderOutput(det);
    case 'faster_rcnn':
      fields.rois = tensor('f32', S, 4);
      fields.rpn_anchors = tensor('f32', `R_${view}`, 4);
      fields.rpn_logits = tensor('f32', `R_${view}`);
      fields.rpn_deltas = tensor('f32', `R_${view}`, 4);
      break;
    default:
      return det.family satisfies never;
  }
  if (det.regClasses !== undefined) fields.deltas = tensor('f32', S, det.regClasses, 4);
  if (det.embed !== undefined) fields.embed = tensor('f32', S, det.embed);
  if (det.classes !== undefined) fields.logits = tensor('f32', S, det.classes);
  return record(`${det.family} output`, fields);
}

/** An encoder on a view: one row per image of the batch (`B`, as the view's image). */
function encoderOutput(det: Extract<AlignType, { kind: 'detector' }>): AlignType {
  const fields: Record<string, AlignType> = {};
  if (det.embed !== undefined) fields.projection = tensor('f32', 'B', det.embed);
  if (det.predict !== undefined) fields.prediction = tensor('f32', 'B', det.predict);
  return record('encoder output', fields);
}

function matchRecord(samples: TensorType | undefined): AlignType {
  const S = samples?.shape[0] ?? { kind: 'sym', name: 'S' };
  return record('match', {
    labels: tensor('i32', S),
    box: tensor('i32', S),
    targets: tensor('f32', S, 4),
    positive: tensor('bool', S),
    assigned: tensor('bool', S),
    sampled: tensor('bool', S),
    num_positive: tensor('f32'),
  });
}

function firstTensor(t: AlignType | undefined): TensorType | undefined {
  return t?.kind === 'tensor' ? t : undefined;
}

export const stageBuiltins: readonly BuiltinSig[] = [
  {
    name: 'ema',
    doc: 'A momentum copy of a detector: every parameter follows θk ← m·θk + (1−m)·θq after each step.',
    contexts: ['config'],
    params: [
      p('detector', s.detector, 'the online detector', { required: true }),
      p('momentum', s.oneOf(s.domain('schedule'), s.number), 'm, fixed or scheduled', {
        required: true,
        min: 0,
        max: 1,
      }),
    ],
    result: (args) => {
      const d = args.get('detector');
      return d?.kind === 'detector' ? { ...d, ema: true } : UNKNOWN;
    },
  },
  {
    name: 'no_grad',
    doc: 'Evaluates its argument without recording gradients.',
    contexts: ['stage'],
    params: [
      p(
        'value',
        s.oneOf(
          s.tensor,
          s.record('retinanet output'),
          s.record('fcos output'),
          s.record('faster_rcnn output'),
          s.record('encoder output'),
        ),
        'anything',
        { required: true },
      ),
    ],
    result: (args) => args.get('value') ?? UNKNOWN,
  },
  {
    name: 'max_iou',
    doc: 'MaxIoU assignment of anchors to boxes with low-quality matching and a random sampler (mmdet MaxIoUAssigner + RandomSampler).',
    contexts: ['stage'],
    params: [
      p('anchors', s.tensor, 'f32[S, 4] anchors or proposals', { required: true }),
      p('boxes', s.tensor, 'f32[P, 4] target boxes', { required: true }),
      p('labels', s.tensor, 'i32[P] label of each box (instance id or class)', { required: true }),
      p('pos', s.number, 'IoU at or above which an anchor is positive', {
        required: true,
        min: 0,
        max: 1,
      }),
      p('neg', s.number, 'IoU below which an anchor is negative', {
        required: true,
        min: 0,
        max: 1,
      }),
      p('min_pos', s.number, 'minimum IoU of a low-quality match', { min: 0, max: 1 }),
      p('low_quality', s.bool, 'give every box its best anchor(s)'),
      p('sample', s.int, 'anchors sampled per image (0 = all)', { min: 0, max: 1000000 }),
      p('pos_fraction', s.number, 'largest fraction of positives in the sample', {
        min: 0,
        max: 1,
      }),
      p('negatives', s.bool, 'false: sample positives only (the AlignDet RoI head)'),
    ],
    result: (args) => matchRecord(firstTensor(args.get('anchors'))),
  },
  {
    name: 'fcos_assign',
    doc: 'FCOS point assignment: inside the box and within the level range; ties to the smallest box.',
    contexts: ['stage'],
    params: [
      p('points', s.tensor, 'f32[S, 2] points', { required: true }),
      p('strides', s.tensor, 'f32[S] stride of each point', { required: true }),
      p('boxes', s.tensor, 'f32[P, 4] target boxes', { required: true }),
      p('labels', s.tensor, 'i32[P] label of each box', { required: true }),
      p('ranges', s.list(s.number), 'regress-range boundaries per level', { min: -1 }),
      p('sample', s.int, 'points sampled per batch (0 = all)', { min: 0, max: 1000000 }),
      p(
        'center_sampling',
        s.bool,
        'positives only within center_radius × stride of the box centre (mmdet center_sampling)',
      ),
      p('center_radius', s.number, 'radius of centre sampling in strides, default 1.5', {
        min: 0,
        max: 100,
      }),
    ],
    result: (args) => matchRecord(firstTensor(args.get('points'))),
  },
  {
    name: 'hungarian',
    doc: 'Optimal one-to-one assignment minimising a cost matrix (host routine, scipy linear_sum_assignment).',
    contexts: ['stage'],
    params: [
      p('cost', s.tensor, 'f32[Q, G] cost of query q for box g', { required: true }),
      p('boxes', s.tensor, 'f32[G, 4] target boxes', { required: true }),
      p('labels', s.tensor, 'i32[G] label of each box', { required: true }),
    ],
    result: (args) => matchRecord(firstTensor(args.get('cost'))),
  },
];

export interface ClauseSig {
  readonly clause: ClauseKind;
  readonly doc: string;
  readonly repeatable: boolean;
  readonly params: readonly ParamSig[];
}

export const clauseSignatures: Readonly<Record<ClauseKind, ClauseSig>> = {
  data: {
    clause: 'data',
    doc: 'Where the stage’s batches come from.',
    repeatable: false,
    params: [
      p('dataset', s.domain('dataset'), 'the images', { required: true }),
      p('proposals', s.domain('proposals'), 'pseudo boxes replacing the annotations'),
      p('batch', s.int, 'images per step', { required: true, min: 1, max: 4096 }),
      p('shuffle', s.bool, 'shuffle each epoch'),
      p('seed', s.int, 'seed of shuffling and augmentation', { min: 0 }),
      p('group_aspect', s.bool, 'batch images of like aspect ratio'),
    ],
  },
  optimize: {
    clause: 'optimize',
    doc: 'The optimizer, the detectors it trains, and the learning-rate schedule.',
    repeatable: false,
    params: [
      p('optimizer', s.domain('optimizer'), 'sgd(…) or adamw(…)', { required: true }),
      p(
        'params',
        s.oneOf(s.detector, s.list(s.detector)),
        'the detectors whose trainable parameters it updates',
        { required: true },
      ),
      p('warmup', s.domain('warmup'), 'learning-rate warmup'),
      p('schedule', s.domain('lr_schedule'), 'learning-rate schedule after warmup'),
      p('clip', s.number, 'gradient L2-norm clip', { min: 0 }),
    ],
  },
  train: {
    clause: 'train',
    doc: 'How long the stage runs.',
    repeatable: false,
    params: [
      p('length', s.quantity('epoch', 'iter'), 'e.g. 12 epochs or 90000 iters', {
        required: true,
        min: 1,
      }),
    ],
  },
  checkpoint: {
    clause: 'checkpoint',
    doc: 'Where and how often the trained detectors are saved (safetensors).',
    repeatable: false,
    params: [
      p('path', s.string, 'output folder', { required: true }),
      p('every', s.quantity('epoch', 'iter'), 'interval', { min: 1 }),
      p('keep', s.int, 'checkpoints kept (0 = all)', { min: 0 }),
    ],
  },
  evaluate: {
    clause: 'evaluate',
    doc: 'Evaluates a detector on a dataset.',
    repeatable: true,
    params: [
      p('detector', s.detector, 'the detector evaluated', { required: true }),
      p('data', s.domain('dataset'), 'the evaluation images and annotations', { required: true }),
      p('metric', s.domain('metric'), 'coco_map() or voc_map()', { required: true }),
      p('every', s.quantity('epoch', 'iter'), 'interval (default: at the end)', { min: 1 }),
    ],
  },
  init: {
    clause: 'init',
    doc: 'Initialises a detector from an earlier stage or a checkpoint, dropping some weights.',
    repeatable: true,
    params: [
      p('detector', s.detector, 'the detector initialised', { required: true }),
      p('from', s.oneOf(s.stage, s.string), 'an earlier stage or a checkpoint path', {
        required: true,
      }),
      p('source', s.detector, 'which detector of that stage (default: the same one)'),
      p('drop', s.list(s.string), 'weights whose name contains any of these are not loaded'),
    ],
  },
  report: {
    clause: 'report',
    doc: 'How often losses and learning rates are written to the JSONL log.',
    repeatable: false,
    params: [p('every', s.quantity('iter', 'epoch'), 'interval', { required: true, min: 1 })],
  },
};
