// Every shipped pipeline (`pipelines/*.align`) runs end to end at tiny sizes (issue #8): the
// directory is enumerated, so a new pipeline without an entry in TABLE fails here. Each entry's
// `--set` overrides shrink it (a few images, 64-pixel views, narrow networks, one step per stage);
// the COCO pipelines read a 4-image COCO-format fixture made from BCCD
// (scripts/make-run-coco-fixture.py) and a ResNet-50 safetensors written here instead of
// `torchvision://` weights. A pipeline the runner cannot execute yet is listed with its exact
// refusal (with its `--set` list ready: drop `refused` once it runs). For the image-domain pipelines
// it also checks that the encoder's backbone weights are the ones the next stage starts from, and
// for the fine-tune-only one that imported weights are.

import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TensorData } from '../../runtime/cpu/tensor-data.js';
import { checkFilesOrThrow } from '../../compiler/check/index.js';
import { planProgram } from '../../compiler/lower/plan.js';
import { AlignError } from '../../runtime/errors.js';
import {
  loadSafetensors,
  saveSafetensors,
  type TensorToSave,
} from '../../runtime/io/safetensors.js';
import { readRunLog } from '../../runtime/io/run-log-reader.js';
import { ResNet } from '../../runtime/models/resnet.js';
import { packageRoot } from '../../runtime/package-root.js';
import { Rng } from '../../runtime/rng.js';
import { runPipeline } from '../../runtime/run/executor.js';
import { applyOverrides } from '../../runtime/run/overrides.js';
import { cpuReferenceBackend } from '../../runtime/tensor/backend.js';
import { listCheckpoints, loadCheckpoint } from '../../runtime/train/checkpoint.js';

const root = packageRoot();
mkdirSync(join(root, '.cache'), { recursive: true });
const tmp = mkdtempSync(join(root, '.cache', 'run-pipelines-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const R50 = join(tmp, 'resnet50-w0.0625.safetensors');
const R18 = join(tmp, 'resnet18-w0.125.safetensors');
const COCO = relative(process.cwd(), join(root, 'test', 'fixtures', 'run', 'coco'));

interface Entry {
  readonly set: readonly string[];
  /** The stages whose steps the run log must hold, in order. */
  readonly stages?: readonly string[];
  /** Not runnable yet: the exact message of the refusal. */
  readonly refused?: string;
}

const TINY_VIEW = (view: string) => [`${view}.resize.short=[64]`, `${view}.resize.max=96`];
const ONE_STEP = (stage: string) => [`${stage}.train.length=1iters`];
const COCO_DATA = [
  ...['unlabelled', 'labelled', 'val'].flatMap((d) => [
    `${d}.images=${COCO}/images`,
    `${d}.annotations=${COCO}/instances.json`,
  ]),
  'labelled.fraction=100%',
  // Inference with 80 classes is most of such a run's time: evaluate on 2 of the 4 images.
  'val.fraction=50%',
];
/** A COCO pipeline's detector at 1/16 width (FCOS's GN needs 32 channels for its 32 groups). */
const NARROW = (det: string, embed: boolean, channels = 16) => [
  `${det}.backbone.weights=${R50}`,
  `${det}.backbone.width=0.0625`,
  `${det}.neck.channels=${channels}`,
  `${det}.head.channels=${channels}`,
  `${det}.head.convs=1`,
  ...(embed ? [`${det}.head.embed.dims=[${channels}, ${channels}]`] : []),
];
const BCCD_BOX_DOMAIN = [
  'unlabelled.fraction=2%',
  ...TINY_VIEW('two_views'),
  ...ONE_STEP('pretrain'),
];
const BCCD_FINETUNE = [
  'cells.fraction=2%',
  'cells_val.fraction=4%',
  ...TINY_VIEW('train_view'),
  ...ONE_STEP('finetune'),
];
const BCCD_IMAGE_DOMAIN = [
  'images.fraction=2%',
  'image_domain.data.batch=2',
  ...TINY_VIEW('byol_view'),
  ...ONE_STEP('image_domain'),
];

const TABLE: Readonly<Record<string, Entry>> = {
  'bccd-default.align': {
    set: [...BCCD_BOX_DOMAIN, ...BCCD_FINETUNE],
    stages: ['pretrain', 'finetune'],
  },
  'bccd-image-domain.align': {
    set: [...BCCD_IMAGE_DOMAIN, ...BCCD_BOX_DOMAIN, ...BCCD_FINETUNE],
    stages: ['image_domain', 'pretrain', 'finetune'],
  },
  'bccd-baseline.align': {
    set: [...BCCD_IMAGE_DOMAIN, ...BCCD_FINETUNE],
    stages: ['image_domain', 'finetune'],
  },
  // Imported backbone weights (random init is what bccd-default's fine-tuning would do alone).
  'bccd-finetune-only.align': {
    set: [...BCCD_FINETUNE, `finetuned.backbone.weights=${R18}`],
    stages: ['finetune'],
  },
  'aligndet-retinanet.align': {
    set: [
      ...COCO_DATA,
      ...TINY_VIEW('soft_teacher'),
      ...TINY_VIEW('finetune_aug'),
      ...NARROW('online', true),
      ...NARROW('finetuned', false),
      'pretrain.mq.sample=64',
      'pretrain.mk.sample=64',
      ...ONE_STEP('pretrain'),
      ...ONE_STEP('finetune'),
      'finetune.evaluate.every=1iters',
    ],
    stages: ['pretrain', 'finetune'],
  },
  'bccd-fcos.align': {
    set: [...BCCD_BOX_DOMAIN, ...BCCD_FINETUNE],
    stages: ['pretrain', 'finetune'],
  },
  'bccd-fcos-baseline.align': {
    set: [...BCCD_IMAGE_DOMAIN, ...BCCD_FINETUNE],
    stages: ['image_domain', 'finetune'],
  },
  'aligndet-fcos.align': {
    set: [
      ...COCO_DATA,
      ...TINY_VIEW('soft_teacher'),
      ...TINY_VIEW('finetune_aug'),
      ...NARROW('online', true, 32),
      ...NARROW('finetuned', false, 32),
      'pretrain.mq.sample=64',
      'pretrain.mk.sample=64',
      ...ONE_STEP('pretrain'),
      ...ONE_STEP('finetune'),
      'finetune.evaluate.every=1iters',
    ],
    stages: ['pretrain', 'finetune'],
  },
  'aligndet-faster-rcnn.align': {
    set: [],
    refused:
      'pipelines/aligndet-faster-rcnn.align:29:7: error[E_RUN_UNSUPPORTED]: stage pretrain: the runner executes image-domain stages (two views, byol), box-domain stages (two views, box_infonce + l1) and supervised RetinaNet stages (one view, sigmoid_focal + l1 or giou_loss); this stage has 2 view(s) and losses bce_with_logits + box_infonce + l1 + l1\n' +
      '  hint: FCOS stages match with fcos_assign(…), image-domain stages use byol(…) losses; MoCo, Faster R-CNN and DETR stages are not wired to the runner yet',
  },
};

const files = readdirSync(join(root, 'pipelines'))
  .filter((f) => f.endsWith('.align'))
  .sort();

/** A ResNet with torchvision's names (R50: standing in for `torchvision://resnet50`). */
async function writeResnet(path: string, depth: 18 | 50, width: number): Promise<void> {
  const net = new ResNet({ depth, widthMultiplier: width }).initialize(Rng.fromSeed(depth));
  const tensors = new Map<string, TensorToSave>(
    net.state().map(({ name, parameter }) => [
      name,
      {
        tensor:
          parameter.dtype === 'int'
            ? { kind: 'int', shape: parameter.shape, data: Int32Array.from(parameter.value!) }
            : { kind: 'float', shape: parameter.shape, data: Float32Array.from(parameter.value!) },
      },
    ]),
  );
  await saveSafetensors(path, tensors);
}

beforeAll(async () => {
  await writeResnet(R50, 50, 0.0625);
  await writeResnet(R18, 18, 0.125);
});

function groupOf(runDir: string, stage: string, prefix: string): ReadonlyMap<string, TensorData> {
  const done = listCheckpoints(runDir).filter((c) => c.meta.stage === stage && c.meta.complete);
  const newest = done.sort((a, b) => b.meta.sequence - a.meta.sequence)[0];
  expect(newest, `a finished ${stage} checkpoint`).toBeDefined();
  const g = loadCheckpoint(newest.path).groups.get(prefix);
  expect(g, `${stage} checkpoint group ${prefix}`).toBeDefined();
  return g!;
}

/** Every `backbone.*` tensor of `from` equals the same-named tensor in one of `into`. */
function expectSameBackbone(
  from: ReadonlyMap<string, TensorData>,
  into: readonly ReadonlyMap<string, TensorData>[],
  names: (name: string) => boolean,
): number {
  let compared = 0;
  for (const [name, t] of from) {
    if (!name.startsWith('backbone.') || !names(name)) continue;
    const other = into.map((g) => g.get(name)).find((x) => x !== undefined);
    expect(other, name).toBeDefined();
    expect(Array.from(other!.data), name).toEqual(Array.from(t.data));
    compared++;
  }
  return compared;
}

describe('every shipped pipeline at tiny sizes', () => {
  it('has an entry for every pipeline file, and no entry without a file', () => {
    expect(files.filter((f) => TABLE[f] === undefined)).toEqual([]);
    expect(Object.keys(TABLE).filter((f) => !files.includes(f))).toEqual([]);
  });

  for (const file of files) {
    const entry = TABLE[file];
    if (entry === undefined) continue;
    it(`${file} ${entry.refused === undefined ? 'runs' : 'is refused'}`, async () => {
      const path = relative(process.cwd(), join(root, 'pipelines', file));
      const runDir = join(tmp, file.replace(/\.align$/, ''));
      const printed: string[] = [];
      const outcome = await (async () => {
        try {
          const plan = applyOverrides(planProgram(checkFilesOrThrow([path])), entry.set);
          return await runPipeline({
            plan,
            pipelineText: file,
            runDir,
            seed: 1,
            command: ['alignc', 'run', path, ...entry.set.flatMap((s) => ['--set', s])],
            backend: cpuReferenceBackend(),
            backendName: 'cpu-reference',
            out: (line) => printed.push(line),
            progressSink: { write: () => true },
            handleSignals: false,
            quiet: true,
          });
        } catch (error) {
          return { exitCode: 1, error };
        }
      })();
      if (entry.refused !== undefined) {
        expect(outcome.exitCode).toBe(1);
        expect(outcome.error).toBeInstanceOf(AlignError);
        expect((outcome.error as AlignError).render()).toBe(entry.refused);
        return;
      }
      if (outcome.error !== undefined) throw outcome.error;
      expect(outcome.exitCode).toBe(0);
      const log = readRunLog(join(runDir, 'log.jsonl'));
      expect(log.end?.status).toBe('completed');
      expect([...new Set(log.steps.map((s) => s.stage))]).toEqual(entry.stages);
      for (const s of log.steps)
        for (const [name, v] of Object.entries(s.losses))
          expect(Number.isFinite(v), `${s.stage} ${name}`).toBe(true);
      if (entry.stages?.includes('finetune'))
        expect(printed.some((l) => l.startsWith('finetune step 1: COCO bbox mAP'))).toBe(true);
      if (file === 'bccd-image-domain.align') {
        // The box-domain stage's frozen backbone is the encoder's, every tensor (BN buffers too).
        const encoder = groupOf(runDir, 'image_domain', 'encoder.');
        const frozen = groupOf(runDir, 'image_domain', 'encoder_frozen.');
        const box = groupOf(runDir, 'pretrain', 'online_backbone.backbone.');
        const n =
          expectSameBackbone(encoder, [box], () => true) +
          expectSameBackbone(frozen, [box], () => true);
        expect(n).toBe(box.size);
      }
      if (file === 'bccd-finetune-only.align') {
        // The frozen stem and layer1 are the imported file's.
        const imported = (await loadSafetensors(R18)).tensors;
        const ft = groupOf(runDir, 'finetune', 'detector_frozen.');
        let compared = 0;
        for (const [name, t] of ft)
          if (/^backbone\.(conv1|layer1\.0\.conv1)\./.test(name)) {
            expect(Array.from(t.data), name).toEqual(
              Array.from(imported.get(name.slice('backbone.'.length))!.tensor.data),
            );
            compared++;
          }
        expect(compared).toBe(2);
      }
      if (file === 'bccd-baseline.align' || file === 'bccd-fcos-baseline.align') {
        // Fine-tuning's frozen stem and layer1 (frozen_stages: 1) still hold the encoder's values.
        const encoder = groupOf(runDir, 'image_domain', 'encoder.');
        const ft = groupOf(runDir, 'finetune', 'detector_frozen.');
        const frozen = groupOf(runDir, 'image_domain', 'encoder_frozen.');
        const stemAndLayer1 = (n: string) => /^backbone\.(conv1|bn1|layer1)\./.test(n);
        const n =
          expectSameBackbone(encoder, [ft], stemAndLayer1) +
          expectSameBackbone(frozen, [ft], stemAndLayer1);
        expect(n).toBe([...ft.keys()].filter(stemAndLayer1).length);
        // BYOL trained BN on batch statistics: the running statistics it wrote into its checkpoint
        // (and fine-tuning's frozen stem now uses under norm_eval) are no longer the initial 0 / 1.
        const stemVar = frozen.get('backbone.bn1.running_var')!.data;
        expect(Array.from(stemVar).some((v) => Math.abs(v - 1) > 1e-3)).toBe(true);
        // Every BN layer's running statistics, trainable stages too (BN buffers are constants of
        // fine-tuning's step), are the ones BYOL left.
        const stats = [...ft.keys()].filter((n) => n.includes('.running_'));
        expect(stats.length).toBe(40);
        for (const n of stats) expect(ft.get(n)!.data, n).toEqual(frozen.get(n)!.data);
        expect(groupOf(runDir, 'image_domain', 'target_buffers.').size).toBeGreaterThan(0);
      }
    }, 120_000);
  }
});
