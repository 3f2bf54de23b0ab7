// Issue #7's detector options from `.align` to the runner: each option a user can write in a
// `retinanet(…)` / `fcos(…)` declaration is either honoured by the detector the runner builds
// (runtime/run/build-detector.ts, fcos-detector.ts) or refused at the declaration's file:line:col
// with a message naming it. The declarations are edits of pipelines/bccd-default.align's and
// pipelines/bccd-fcos.align's `finetuned` detectors (the text edited as it is read); a RetinaNet
// fine-tuning stage with GIoU on decoded deltas instead of L1 is read into the fine-tuning step,
// other regression forms are refused at the loss. The blocks' numbers are
// checked against PyTorch in test/models; this file pins what reaches them.

import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFilesOrThrow } from '../../compiler/check/index.js';
import { readFromDisk } from '../../compiler/check/modules.js';
import { planProgram } from '../../compiler/lower/plan.js';
import { AlignError } from '../../runtime/errors.js';
import { packageRoot } from '../../runtime/package-root.js';
import { Rng } from '../../runtime/rng.js';
import {
  anchorsPerLocation,
  buildRetinaNet,
  retinaNetPlanOf,
} from '../../runtime/run/build-detector.js';
import { buildFcos, fcosPlanOf } from '../../runtime/run/fcos-detector.js';
import { stageSpecsOf } from '../../runtime/run/executor.js';
import { Declarations } from '../../runtime/run/stage-runtime.js';
import { splitModelState } from '../../runtime/run/supervised-step.js';

type Pipeline = 'bccd-default' | 'bccd-fcos';

/** A detector declaration (default `finetuned`) of a pipeline with its text passed through `edit`. */
function declaration(pipeline: Pipeline, edit: (text: string) => string, name = 'finetuned') {
  const path = join(packageRoot(), 'pipelines', `${pipeline}.align`);
  const original = readFromDisk(path);
  if (original === undefined) throw new Error(`no ${path}`);
  const edited = edit(original);
  if (edited === original) throw new Error('the edit changed nothing');
  const read = (p: string) => (p === path ? edited : readFromDisk(p));
  const file = relative(process.cwd(), path);
  const plan = planProgram(checkFilesOrThrow([file], read));
  return new Declarations(plan.declarations).get(name, 'detector', file);
}

/** Replaces, for each [from, to], the first `from` inside the `finetuned` declaration. */
function inFinetuned(...edits: readonly (readonly [string, string])[]): (text: string) => string {
  return (text) =>
    edits.reduce((t, [from, to]) => {
      const start = t.indexOf('detector finetuned =');
      const at = t.indexOf(from, start);
      if (start < 0 || at < 0) throw new Error(`no ${from} in detector finetuned`);
      return t.slice(0, at) + to + t.slice(at + from.length);
    }, text);
}

/** The rendered refusal of reading a declaration as a RetinaNet or FCOS plan. */
function refusal(read: () => unknown): string {
  try {
    read();
  } catch (e) {
    if (e instanceof AlignError) return e.render();
    throw e;
  }
  return 'not refused';
}

const RETINA_BACKBONE = 'resnet(depth: 18, width: 0.125, frozen_stages: 1)';
const RETINA_NECK = 'fpn(levels: 3..5, channels: 32, extra: "none")';
const RETINA_ANCHORS = 'strides: [8, 16, 32]';

describe('RetinaNet options reach the runner', () => {
  it('ResNet-50, width, frozen stages, FPN P3–P7 with extra convs on the input, towers, 9 anchors at strides 8–128', async () => {
    const decl = declaration(
      'bccd-default',
      inFinetuned(
        [RETINA_BACKBONE, 'resnet(depth: 50, width: 0.0625, frozen_stages: 2)'],
        [RETINA_NECK, 'fpn(levels: 3..7, channels: 32, extra: "input")'],
        ['convs: 1', 'convs: 2'],
        [RETINA_ANCHORS, 'strides: [8, 16, 32, 64, 128]'],
      ),
    );
    const plan = retinaNetPlanOf(decl);
    expect(plan).toMatchObject({
      depth: 50,
      widthMultiplier: 0.0625,
      frozenStages: 2,
      levels: [3, 7],
      extra: 'on_input',
      convs: 2,
      headChannels: 32,
      classifier: { kind: 'logits', numClasses: 3 },
    });
    expect(plan.anchors.strides).toEqual([8, 16, 32, 64, 128]);
    expect(anchorsPerLocation(plan)).toBe(9);
    const model = await buildRetinaNet(plan, Rng.fromSeed(0));
    expect(model.backbone.depth).toBe(50);
    expect(model.neck).toMatchObject({ numOuts: 5, extraConvs: 'on_input' });
    const names = model.state().map((s) => s.name);
    // Bottlenecks (conv3), two tower convs, 9 anchors × 3 classes.
    expect(names).toContain('backbone.layer4.2.conv3.weight');
    expect(names).toContain('bbox_head.cls_convs.1.conv.weight');
    const cls = model.state().find((s) => s.name === 'bbox_head.retina_cls.weight');
    expect(cls?.parameter.shape).toEqual([27, 32, 3, 3]);
    // frozen_stages: 2 freezes the stem and stages 1–2 (mmdet _freeze_stages), not stage 3.
    const { frozen } = splitModelState(model);
    const frozenNames = frozen.map((f) => f.name);
    expect(frozenNames).toContain('backbone.conv1.weight');
    expect(frozenNames).toContain('backbone.layer2.0.conv1.weight');
    expect(frozenNames).not.toContain('backbone.layer3.0.conv1.weight');
  });

  it('the AlignDet projector replaces the classifier with embed: mlp(hidden, out)', () => {
    // The pre-training detector `online` (bccd-default.align: embed: mlp(64, 32)), widened.
    const decl = declaration(
      'bccd-default',
      (t) => t.replace('mlp(64, 32)', 'mlp(48, 16)'),
      'online',
    );
    expect(retinaNetPlanOf(decl).classifier).toEqual({
      kind: 'projector',
      dim: 16,
      hiddenChannels: 48,
    });
  });

  it('FPN P2–P6 (max-pooled P6) from C2–C5, anchors at strides 4–64', async () => {
    const decl = declaration(
      'bccd-default',
      inFinetuned(
        [RETINA_NECK, 'fpn(levels: 2..6, channels: 32, extra: "none")'],
        [RETINA_ANCHORS, 'strides: [4, 8, 16, 32, 64]'],
      ),
    );
    const plan = retinaNetPlanOf(decl);
    expect(plan).toMatchObject({ levels: [2, 6], extra: 'none' });
    expect(plan.anchors.strides).toEqual([4, 8, 16, 32, 64]);
    const model = await buildRetinaNet(plan, Rng.fromSeed(0));
    expect(model.backbone.outIndices).toEqual([0, 1, 2, 3]);
    expect(model.neck).toMatchObject({ startLevel: 0, numOuts: 5, extraConvs: 'none' });
    const names = model.state().map((s) => s.name);
    expect(names).toContain('neck.lateral_convs.3.conv.weight');
    expect(names).not.toContain('neck.fpn_convs.4.conv.weight');
  });

  it.each([
    [
      'an FPN from P6 (no ResNet level to start from)',
      RETINA_NECK,
      'fpn(levels: 6..7, channels: 32, extra: "none")',
      /the FPN must start at level 2, 3, 4 or 5 \(a ResNet's C2–C5\), got 6/,
    ],
    [
      'P2–P6 with the anchors of P3–P5',
      RETINA_NECK,
      'fpn(levels: 2..6, channels: 32, extra: "none")',
      /anchors\(strides: …\) gives 3 strides but the FPN has 5 levels\n[^]*fpn\(levels: 2\.\.6\) needs strides: \[4, 8, 16, 32, 64\]/,
    ],
    [
      'anchor strides that are not the levels’ strides',
      RETINA_ANCHORS,
      'strides: [8, 16, 64]',
      /anchors\(strides: …\) gives strides \[8, 16, 64\] but the FPN levels 3\.\.5 have strides \[8, 16, 32\]/,
    ],
    [
      'a normalised FPN',
      RETINA_NECK,
      'fpn(levels: 3..5, channels: 32, extra: "none", norm: "gn")',
      /fpn\(norm: …\) is not supported by alignc run yet/,
    ],
    [
      'normalised RetinaNet towers',
      'convs: 1,',
      'convs: 1, norm: "gn",',
      /retina_head\(norm: …\) is not supported by alignc run yet/,
    ],
    [
      'ResNet-101',
      RETINA_BACKBONE,
      'resnet(depth: 101, width: 0.125)',
      /detector finetuned: ResNet-101\n[^]*use 18, 34 or 50/,
    ],
  ])('refuses %s at the declaration', (_what, from, to, message) => {
    const rendered = refusal(() =>
      retinaNetPlanOf(declaration('bccd-default', inFinetuned([from, to]))),
    );
    expect(rendered).toMatch(
      /^pipelines\/bccd-default\.align:\d+:\d+: error\[E_RUN_(UNSUPPORTED|PLAN)\]: detector finetuned/,
    );
    expect(rendered).toMatch(message);
  });
});

describe('RetinaNet fine-tuning losses', () => {
  const L1 = 'loss reg = l1(\n    out.deltas,\n    encode_deltas(out.anchors, m.targets),';
  const GIOU = 'loss reg = giou_loss(\n    decode_deltas(out.anchors, out.deltas),\n    m.targets,';

  /** The stage specs of bccd-default.align with its fine-tuning L1 term replaced by `reg`. */
  function specsWith(reg: string, weight = '1.0') {
    const path = join(packageRoot(), 'pipelines', 'bccd-default.align');
    const original = readFromDisk(path) ?? '';
    expect(original).toContain(L1);
    const at = original.indexOf(L1);
    const end = original.indexOf('), weight: 1.0', at);
    const edited =
      original.slice(0, at) +
      reg +
      original.slice(at + L1.length, end) +
      `), weight: ${weight}` +
      original.slice(end + '), weight: 1.0'.length);
    const file = relative(process.cwd(), path);
    const plan = planProgram(
      checkFilesOrThrow([file], (p) => (p === path ? edited : readFromDisk(p))),
    );
    return () => stageSpecsOf(plan);
  }

  it('reads focal + GIoU on decoded deltas (mmdet reg_decoded_bbox) into the fine-tuning step', () => {
    const finetune = specsWith(GIOU, '2.0')().find((s) => s.name === 'finetune');
    expect(finetune).toMatchObject({
      kind: 'finetune',
      regression: 'giou_loss',
      lossNames: ['cls', 'reg'],
      lossWeights: [1, 2],
    });
    // The L1 form is unchanged.
    expect(specsWith(L1)().find((s) => s.name === 'finetune')).toMatchObject({
      regression: 'l1',
    });
    // Unit stds written out are the same decoding.
    const stds = specsWith(GIOU.replace('out.deltas)', 'out.deltas, stds: [1, 1, 1, 1])'))().find(
      (s) => s.name === 'finetune',
    );
    expect(stds).toMatchObject({ regression: 'giou_loss' });
  });

  it.each([
    [
      'GIoU on the raw deltas',
      'loss reg = giou_loss(\n    out.deltas,\n    m.targets,',
      /loss reg: giou_loss in a RetinaNet stage must compare decoded boxes, giou_loss\(decode_deltas\(out\.anchors, out\.deltas\), m\.targets, …\); got giou_loss\(out\.deltas, m\.targets, …\)/,
    ],
    [
      'GIoU with other stds',
      GIOU.replace('out.deltas)', 'out.deltas, stds: [0.1, 0.1, 0.2, 0.2])'),
      /loss reg: giou_loss in a RetinaNet stage must compare decoded boxes[^]*other stds are not supported/,
    ],
    [
      'GIoU against encoded targets',
      GIOU.replace('m.targets,', 'encode_deltas(out.anchors, m.targets),'),
      /loss reg: giou_loss in a RetinaNet stage must compare decoded boxes/,
    ],
    [
      'L1 on decoded boxes',
      'loss reg = l1(\n    decode_deltas(out.anchors, out.deltas),\n    m.targets,',
      /loss reg: l1 on decoded boxes \(mmdet reg_decoded_bbox with L1Loss\) is not supported/,
    ],
  ])('refuses %s at the loss', (_what, reg, message) => {
    const rendered = refusal(specsWith(reg));
    expect(rendered).toMatch(/^pipelines\/bccd-default\.align:\d+:\d+: error\[E_RUN_UNSUPPORTED\]/);
    expect(rendered).toMatch(message);
  });
});

describe('FCOS options reach the runner', () => {
  it('FPN P3–P7 with extra convs on the output (ReLU before them), GN towers, a Scale per level', async () => {
    const decl = declaration(
      'bccd-fcos',
      inFinetuned(
        [
          'levels: 3..5, channels: 32, extra: "none"',
          'levels: 3..7, channels: 32, extra: "output"',
        ],
        ['strides: [8, 16, 32]', 'strides: [8, 16, 32, 64, 128]'],
      ),
    );
    const plan = fcosPlanOf(decl);
    expect(plan).toMatchObject({
      levels: [3, 7],
      extra: 'on_output',
      strides: [8, 16, 32, 64, 128],
    });
    const model = await buildFcos(plan, Rng.fromSeed(0));
    expect(model.neck).toMatchObject({
      numOuts: 5,
      extraConvs: 'on_output',
      reluBeforeExtraConvs: true,
    });
    const names = model.state().map((s) => s.name);
    expect(names).toContain('bbox_head.scales.4.scale');
    expect(names).toContain('bbox_head.cls_convs.0.gn.weight');
    expect(names).toContain('bbox_head.conv_centerness.weight');
  });

  it('FPN P2–P6 with points at strides 4–64; refuses strides of other levels', async () => {
    const neck = [
      'levels: 3..5, channels: 32, extra: "none"',
      'levels: 2..6, channels: 32',
    ] as const;
    const plan = fcosPlanOf(
      declaration(
        'bccd-fcos',
        inFinetuned(neck, ['strides: [8, 16, 32]', 'strides: [4, 8, 16, 32, 64]']),
      ),
    );
    expect(plan).toMatchObject({ levels: [2, 6], strides: [4, 8, 16, 32, 64] });
    const model = await buildFcos(plan, Rng.fromSeed(0));
    expect(model.neck).toMatchObject({ startLevel: 0, numOuts: 5 });
    expect(model.state().map((s) => s.name)).toContain('bbox_head.scales.4.scale');
    const rendered = refusal(() =>
      fcosPlanOf(
        declaration(
          'bccd-fcos',
          inFinetuned(neck, ['strides: [8, 16, 32]', 'strides: [8, 16, 32, 64, 128]']),
        ),
      ),
    );
    expect(rendered).toMatch(
      /^pipelines\/bccd-fcos\.align:\d+:\d+: error\[E_RUN_PLAN\]: detector finetuned: fcos_head\(strides: …\) gives strides \[8, 16, 32, 64, 128\] but the FPN levels 2\.\.6 have strides \[4, 8, 16, 32, 64\]/,
    );
  });

  it('refuses towers without GroupNorm at the declaration', () => {
    const rendered = refusal(() =>
      fcosPlanOf(declaration('bccd-fcos', inFinetuned(['norm: "gn"', 'norm: "bn"']))),
    );
    expect(rendered).toMatch(
      /^pipelines\/bccd-fcos\.align:\d+:\d+: error\[E_RUN_UNSUPPORTED\]: detector finetuned: fcos_head\(norm: "bn"\)/,
    );
  });
});
