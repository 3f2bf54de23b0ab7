// `.align` → runner settings for issue #9's fidelity features, on edits of
// pipelines/bccd-image-domain.align: `resnet(norm: "gn")` builds GroupNorm backbones (gcd(32, C)
// groups per layer at width 0.125) for encoders and detectors; encoders train BN on batch
// statistics unless `norm_eval: true`, detectors refuse `norm_eval: false`; and
// `random_resized_crop(…)` runs in image-domain views (canvas = its size) but is refused, at the
// view's file:line:col, in a view that carries boxes; and bccd-baseline.align's BYOL stage with a
// random-resized-crop view and a GN encoder runs end to end into a GN fine-tuning stage.

import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkFiles, checkFilesOrThrow } from '../../compiler/check/index.js';
import { readFromDisk } from '../../compiler/check/modules.js';
import { planProgram, type ProgramPlan } from '../../compiler/lower/plan.js';
import { AlignError } from '../../runtime/errors.js';
import { BatchNorm2d, GroupNorm } from '../../runtime/nn/norm.js';
import { packageRoot } from '../../runtime/package-root.js';
import { Rng } from '../../runtime/rng.js';
import { viewPlanOf } from '../../runtime/run/build-data.js';
import { buildRetinaNet, retinaNetPlanOf } from '../../runtime/run/build-detector.js';
import { checkStageDeclarations, runPipeline, stageSpecsOf } from '../../runtime/run/executor.js';
import { applyOverrides } from '../../runtime/run/overrides.js';
import { listCheckpoints, loadCheckpoint } from '../../runtime/train/checkpoint.js';
import { ImageEncoder, encoderPlanOf } from '../../runtime/run/image-domain-encoder.js';
import { imageDomainInitGroups } from '../../runtime/run/image-domain-runtime.js';
import { cpuReferenceBackend } from '../../runtime/tensor/backend.js';
import { Tensor, withTrace } from '../../runtime/tensor/tensor.js';
import { Trace } from '../../runtime/tensor/trace.js';
import { ParameterBinding } from '../../runtime/nn/binding.js';

const file = relative(process.cwd(), join(packageRoot(), 'pipelines', 'bccd-image-domain.align'));
const text = readFileSync(file, 'utf8');
mkdirSync(join(packageRoot(), '.cache'), { recursive: true });
const tmp = mkdtempSync(join(packageRoot(), '.cache', 'norm-and-crop-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const decl = (p: ProgramPlan, name: string) => p.declarations.find((d) => d.name === name)!;

function planWith(edit: (t: string) => string, source = file): ProgramPlan {
  const original = readFileSync(source, 'utf8');
  const edited = edit(original);
  expect(edited).not.toBe(original);
  const path = source.replace(/\.align$/, '-edited.align');
  const program = checkFiles([path], (p) => (p === resolve(path) ? edited : readFromDisk(p)));
  expect(program.diagnostics.map((d) => d.message)).toEqual([]);
  return planProgram(program);
}

function rendered(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    if (error instanceof AlignError) return error.render();
    throw error;
  }
  throw new Error('expected a refusal');
}

const ENCODER = 'backbone: resnet(depth: 18, width: 0.125),\n  projector';
const FINETUNED = 'resnet(depth: 18, width: 0.125, frozen_stages: 1)';
const BYOL_RESIZE = 'resize(short: [96, 112, 128], max: 192)';
const BOX_RESIZE = 'resize(short: [112, 128], max: 192)';

describe('resnet(norm:) and norm_eval', () => {
  it('builds GroupNorm backbones from norm: "gn", gcd(32, C) groups per layer', async () => {
    const p = planWith((t) =>
      t
        .replace(ENCODER, 'backbone: resnet(depth: 18, width: 0.125, norm: "gn"),\n  projector')
        .replace(FINETUNED, 'resnet(depth: 18, width: 0.125, frozen_stages: 1, norm: "gn")'),
    );
    const plan = encoderPlanOf(decl(p, 'online_enc'));
    expect(plan.norm).toEqual({ kind: 'gn', groups: 32 });
    const encoder = new ImageEncoder(plan).initialize(Rng.fromSeed(1));
    const names = encoder.state().map((e) => e.name);
    expect(names).toContain('backbone.gn1.weight');
    expect(names).toContain('backbone.layer4.1.gn2.bias');
    expect(names).toContain('backbone.layer2.0.downsample.1.weight');
    expect(names.some((n) => n.includes('running_mean') || n.includes('bn'))).toBe(false);
    const groups = encoder
      .modules()
      .filter((m): m is GroupNorm => m instanceof GroupNorm)
      .map((m) => [m.channels, m.groups]);
    // Width 0.125: 8, 16, 32, 64 channels → 8, 16, 32, 32 groups.
    expect(new Set(groups.map((g) => g.join('/')))).toEqual(
      new Set(['8/8', '16/16', '32/32', '64/32']),
    );
    // It runs, and finite.
    const trace = new Trace();
    const out = withTrace(trace, () =>
      encoder.forward(
        new ParameterBinding(trace),
        Tensor.from(
          {
            shape: [2, 3, 64, 64],
            dtype: 'f32',
            data: Float32Array.from({ length: 2 * 3 * 64 * 64 }, (_, i) => Math.sin(i)),
          },
          trace,
        ),
      ),
    );
    const projection = await out.projection.data(cpuReferenceBackend());
    expect(projection.data.every(Number.isFinite)).toBe(true);
    // The detector that fine-tunes from it has the same names, so init … from: loads them.
    const det = await buildRetinaNet(retinaNetPlanOf(decl(p, 'finetuned')), Rng.fromSeed(2));
    const detNames = new Set(det.state().map((e) => e.name));
    for (const n of names.filter((n) => n.startsWith('backbone.'))) expect(detNames).toContain(n);
  });

  it('trains encoder BN on batch statistics by default, running statistics under norm_eval', () => {
    const usesBatch = (p: ProgramPlan) =>
      new ImageEncoder(encoderPlanOf(decl(p, 'online_enc')))
        .modules()
        .filter((m): m is BatchNorm2d => m instanceof BatchNorm2d)
        .map((m) => m.usesBatchStatistics);
    expect(new Set(usesBatch(planProgram(checkFilesOrThrow([file]))))).toEqual(new Set([true]));
    const evalPlan = planWith((t) =>
      t.replace(
        ENCODER,
        'backbone: resnet(depth: 18, width: 0.125, norm_eval: true),\n  projector',
      ),
    );
    expect(new Set(usesBatch(evalPlan))).toEqual(new Set([false]));
  });

  it('refuses norm_eval: false on a detector, at its declaration', () => {
    const p = planWith((t) =>
      t.replace(FINETUNED, 'resnet(depth: 18, width: 0.125, frozen_stages: 1, norm_eval: false)'),
    );
    expect(rendered(() => retinaNetPlanOf(decl(p, 'finetuned')))).toMatch(
      /^pipelines\/bccd-image-domain-edited\.align:\d+:\d+: error\[E_RUN_UNSUPPORTED\]: detector finetuned: norm_eval: false is not supported for detectors/,
    );
  });

  it('reads the target network’s own BN statistics when a stage initialises from it', () => {
    const p = planProgram(checkFilesOrThrow([file]));
    const stage = stageSpecsOf(p).find((s) => s.kind === 'image_domain')!;
    if (stage.kind !== 'image_domain') throw new Error('expected the image-domain stage');
    const init = { detector: 'x', fromStage: stage.name, drop: [], at: 'here' } as const;
    expect(imageDomainInitGroups({ ...init, source: 'target_enc' }, stage)).toEqual([
      'encoder_frozen.',
      'target_buffers.',
      'target.',
    ]);
    expect(imageDomainInitGroups({ ...init, source: undefined }, stage)).toEqual([
      'encoder_frozen.',
      'encoder.',
    ]);
  });
});

describe('random_resized_crop in views', () => {
  it('runs in an image-domain view: a size×size canvas, torchvision defaults', () => {
    const p = planWith((t) =>
      t.replace(BYOL_RESIZE, 'random_resized_crop(size: 64, scale: 0.2..1.0)'),
    );
    checkStageDeclarations(p, stageSpecsOf(p));
    const view = viewPlanOf(decl(p, 'byol_view'), { boxes: false });
    expect(view.cropSize).toBe(64);
    expect(view.spec[0]).toEqual({
      op: 'random_resized_crop',
      size: [64, 64],
      scale: [0.2, 1],
      ratio: [3 / 4, 4 / 3],
    });
  });

  it('is refused in a view with boxes, at the view declaration', () => {
    const p = planWith((t) => t.replace(BOX_RESIZE, 'random_resized_crop(size: 64)'));
    expect(rendered(() => checkStageDeclarations(p, stageSpecsOf(p)))).toMatch(
      /^pipelines\/bccd-image-domain-edited\.align:\d+:\d+: error\[E_RUN_UNSUPPORTED\]: view two_views: random_resized_crop\(…\) is for image-only views \(image-domain stages\)/,
    );
  });

  it('refuses a resize after the crop', () => {
    const p = planWith((t) =>
      t.replace(BYOL_RESIZE, `random_resized_crop(size: 64) >> ${BYOL_RESIZE}`),
    );
    expect(rendered(() => viewPlanOf(decl(p, 'byol_view'), { boxes: false }))).toMatch(
      /resize\(…\) after random_resized_crop\(…\)/,
    );
  });
});

describe('end to end', () => {
  it('runs BYOL on random-resized crops with a GN encoder, and fine-tunes from it', async () => {
    const baseline = file.replace('bccd-image-domain', 'bccd-baseline');
    const p = planWith(
      (t) =>
        t
          .replace(/resize\(short: \[96, 112, 128\], max: 192\)/, 'random_resized_crop(size: 64)')
          .replace(
            'backbone: resnet(depth: 18, width: 0.125),',
            'backbone: resnet(depth: 18, width: 0.125, norm: "gn"),',
          )
          .replace(
            'resnet(depth: 18, width: 0.125, frozen_stages: 1)',
            'resnet(depth: 18, width: 0.125, frozen_stages: 1, norm: "gn")',
          ),
      baseline,
    );
    const set = [
      'images.fraction=2%',
      'image_domain.data.batch=2',
      'image_domain.train.length=2iters',
      'cells.fraction=2%',
      'cells_val.fraction=4%',
      'train_view.resize.short=[64]',
      'train_view.resize.max=96',
      'finetune.train.length=1iters',
    ];
    const runDir = join(tmp, 'baseline');
    const outcome = await runPipeline({
      plan: applyOverrides(p, set),
      pipelineText: 'edited',
      runDir,
      seed: 1,
      command: ['alignc', 'run', baseline],
      backend: cpuReferenceBackend(),
      backendName: 'cpu-reference',
      out: () => undefined,
      progressSink: { write: () => true },
      handleSignals: false,
      quiet: true,
    });
    if (outcome.error !== undefined) throw outcome.error;
    expect(outcome.exitCode).toBe(0);
    const group = (stage: string, prefix: string) => {
      const done = listCheckpoints(runDir).filter((c) => c.meta.stage === stage && c.meta.complete);
      return loadCheckpoint(
        done.sort((a, b) => b.meta.sequence - a.meta.sequence)[0].path,
      ).groups.get(prefix)!;
    };
    const encoder = group('image_domain', 'encoder.');
    expect(encoder.has('backbone.layer1.0.gn1.weight')).toBe(true);
    // GN has no running statistics, so no BN state at all.
    expect(
      [...group('image_domain', 'encoder_frozen.').keys()].some((n) => n.includes('running')),
    ).toBe(false);
    // Fine-tuning's frozen stem (frozen_stages: 1) holds the encoder's GN weights.
    const ft = group('finetune', 'detector_frozen.');
    expect(ft.get('backbone.gn1.weight')!.data).toEqual(encoder.get('backbone.gn1.weight')!.data);
  }, 120_000);
});
