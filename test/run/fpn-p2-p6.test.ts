// FPN P2–P6 from `.align` to a trained and evaluated detector (issue #7): a `retinanet(…)` and an
// `fcos(…)` with `fpn(levels: 2..6, extra: "none")` (test/fixtures/run/p2-p6.align) get a ResNet
// that returns C2–C5, an FPN with four laterals and a max-pooled P6 (mmdet's names), pyramid maps
// at strides 4…64 that match the anchor / point grids the runner computes, and each fine-tunes 2
// steps and evaluates with COCO mAP on the CPU reference. The FPN's numbers are checked against an
// mmdet transcription in test/models/heads.test.ts ("FPN P2–P6"); this file pins that the runner
// reaches it.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkFilesOrThrow } from '../../compiler/check/index.js';
import { readFromDisk } from '../../compiler/check/modules.js';
import { planProgram } from '../../compiler/lower/plan.js';
import type { TensorData } from '../../runtime/cpu/tensor-data.js';
import { featureMapSizes } from '../../runtime/detect/anchors.js';
import type { CocoResultJson } from '../../runtime/eval/coco-format.js';
import { AlignError } from '../../runtime/errors.js';
import type { DenseDetector } from '../../runtime/models/detector.js';
import type { FcosHead } from '../../runtime/models/fcos-head.js';
import type { RetinaHead } from '../../runtime/models/retina-head.js';
import { readRunLog } from '../../runtime/io/run-log-reader.js';
import { ParameterBinding } from '../../runtime/nn/binding.js';
import { packageRoot } from '../../runtime/package-root.js';
import { Rng } from '../../runtime/rng.js';
import { buildRetinaNet, retinaNetPlanOf } from '../../runtime/run/build-detector.js';
import { canvasFor, openDeclaredDataset, viewPlanOf } from '../../runtime/run/build-data.js';
import { detect } from '../../runtime/run/evaluate.js';
import { runPipeline, stageSpecsOf } from '../../runtime/run/executor.js';
import { buildFcos, fcosPlanOf } from '../../runtime/run/fcos-detector.js';
import { detectFcos } from '../../runtime/run/fcos-evaluate.js';
import { fcosTargetConfigOf } from '../../runtime/run/fcos-stage-runtime.js';
import { Declarations } from '../../runtime/run/stage-runtime.js';
import { cpuReferenceBackend } from '../../runtime/tensor/backend.js';
import { Tensor, withTrace } from '../../runtime/tensor/tensor.js';
import { Trace } from '../../runtime/tensor/trace.js';
import { listCheckpoints, loadCheckpoint } from '../../runtime/train/checkpoint.js';

const root = packageRoot();
mkdirSync(join(root, '.cache'), { recursive: true });
const tmp = mkdtempSync(join(root, '.cache', 'run-p2p6-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const file = relative(process.cwd(), join(root, 'test', 'fixtures', 'run', 'p2-p6.align'));
const plan = planProgram(checkFilesOrThrow([file]));
const decls = new Declarations(plan.declarations);
const STRIDES = [4, 8, 16, 32, 64];

/** The FPN maps' [H, W] of a zero image of 64×96 (the fixture's padded view size). */
function pyramidSizes(model: DenseDetector<RetinaHead> | DenseDetector<FcosHead>): number[][] {
  const trace = new Trace();
  return withTrace(trace, () => {
    const image = Tensor.from(
      { shape: [1, 3, 64, 96], dtype: 'f32', data: new Float32Array(3 * 64 * 96) },
      trace,
    );
    return model.features(new ParameterBinding(trace, model), image).map((t) => t.shape.slice(2));
  });
}

describe('FPN P2–P6 detectors', () => {
  it('RetinaNet: C2–C5 into four laterals, P6 max-pooled, anchors at strides 4–64', async () => {
    const p = retinaNetPlanOf(decls.get('retina', 'detector', file));
    expect(p).toMatchObject({ levels: [2, 6], extra: 'none' });
    expect(p.anchors.strides).toEqual(STRIDES);
    const model = await buildRetinaNet(p, Rng.fromSeed(0));
    expect(model.backbone.outIndices).toEqual([0, 1, 2, 3]);
    expect(model.neck).toMatchObject({ startLevel: 0, numOuts: 5, extraConvs: 'none' });
    const names = model.state().map((s) => s.name);
    // mmdet's names: lateral_convs.0 takes C2; no fpn_convs.4 (P6 is a max pool, not a conv).
    expect(names.filter((n) => n.startsWith('neck.') && n.endsWith('.conv.weight'))).toEqual([
      'neck.lateral_convs.0.conv.weight',
      'neck.lateral_convs.1.conv.weight',
      'neck.lateral_convs.2.conv.weight',
      'neck.lateral_convs.3.conv.weight',
      'neck.fpn_convs.0.conv.weight',
      'neck.fpn_convs.1.conv.weight',
      'neck.fpn_convs.2.conv.weight',
      'neck.fpn_convs.3.conv.weight',
    ]);
    // C2 of ResNet-18 at width 1/8 has 8 channels.
    const lateral0 = model.state().find((s) => s.name === 'neck.lateral_convs.0.conv.weight');
    expect(lateral0?.parameter.shape).toEqual([32, 8, 1, 1]);
    const grids = featureMapSizes({ height: 64, width: 96 }, p.anchors.strides);
    expect(pyramidSizes(model)).toEqual(grids.map((g) => [g.height, g.width]));
  });

  it('FCOS: the same neck, ReLU-free max-pool P6, points at strides 4–64', async () => {
    const p = fcosPlanOf(decls.get('point', 'detector', file));
    expect(p).toMatchObject({ levels: [2, 6], extra: 'none', strides: STRIDES });
    const model = await buildFcos(p, Rng.fromSeed(0));
    expect(model.neck).toMatchObject({ startLevel: 0, numOuts: 5, extraConvs: 'none' });
    const names = model.state().map((s) => s.name);
    expect(names).toContain('neck.lateral_convs.3.conv.weight');
    expect(names).toContain('bbox_head.scales.4.scale');
    expect(names).not.toContain('bbox_head.scales.5.scale');
    const grids = featureMapSizes({ height: 64, width: 96 }, p.strides);
    expect(pyramidSizes(model)).toEqual(grids.map((g) => [g.height, g.width]));
  });

  it('refuses fcos_assign ranges without one boundary per P2–P6 level, at the match', () => {
    const path = join(root, 'test', 'fixtures', 'run', 'p2-p6.align');
    const text = readFromDisk(path) ?? '';
    const edited = text.replace('ranges: [-1, 8, 16, 32, 64]', 'ranges: [-1, 8, 16, 32]');
    expect(edited).not.toBe(text);
    const read = (f: string) => (f === path ? edited : readFromDisk(f));
    const [, spec] = stageSpecsOf(planProgram(checkFilesOrThrow([file], read)));
    if (spec.kind !== 'fcos_finetune')
      throw new Error(`not an FCOS fine-tuning stage: ${spec.kind}`);
    const p = fcosPlanOf(decls.get('point', 'detector', file));
    let rendered = 'not refused';
    try {
      fcosTargetConfigOf(spec, p, spec.matchAt);
    } catch (e) {
      if (!(e instanceof AlignError)) throw e;
      rendered = e.render();
    }
    expect(rendered).toContain(
      `${file}:66:3: error[E_RUN_PLAN]: fcos_assign: ranges has 4 level boundaries but detector point has 5 levels (strides 4, 8, 16, 32, 64)`,
    );
  });

  const runDir = join(tmp, 'run');
  it('fine-tune 2 steps each and evaluate with COCO mAP (CPU reference)', async () => {
    const printed: string[] = [];
    const outcome = await runPipeline({
      plan,
      pipelineText: 'p2-p6',
      runDir,
      seed: 0,
      command: ['alignc', 'run', file],
      backend: cpuReferenceBackend(),
      backendName: 'cpu-reference',
      out: (line) => printed.push(line),
      progressSink: { write: () => true },
      handleSignals: false,
      quiet: true,
    });
    if (outcome.error !== undefined) throw outcome.error;
    const log = readRunLog(join(runDir, 'log.jsonl'));
    expect(log.end?.status).toBe('completed');
    expect(log.steps.map((s) => `${s.stage}:${s.step}`)).toEqual([
      'retina_p2:1',
      'retina_p2:2',
      'fcos_p2:1',
      'fcos_p2:2',
    ]);
    expect(Object.keys(log.steps[0].losses).sort()).toEqual(['cls', 'reg']);
    expect(Object.keys(log.steps[2].losses).sort()).toEqual(['box', 'centerness', 'cls']);
    for (const s of log.steps)
      for (const v of Object.values(s.losses)) expect(Number.isFinite(v)).toBe(true);
    expect(outcome.evaluations.map((e) => [e.stage, e.report.counts.images])).toEqual([
      ['retina_p2', 4],
      ['fcos_p2', 4],
    ]);
    for (const e of outcome.evaluations) {
      const ap = e.report.byName.AP;
      expect(ap).toBeGreaterThanOrEqual(0);
      expect(ap).toBeLessThanOrEqual(1);
    }
    // The checkpoints hold the P2–P6 neck under mmdet's names.
    for (const stage of ['retina_p2', 'fcos_p2']) {
      const c = listCheckpoints(runDir).find((x) => x.meta.stage === stage && x.meta.complete);
      const detector = loadCheckpoint(c!.path).groups.get('detector.')!;
      expect(detector.get('neck.lateral_convs.0.conv.weight')?.shape).toEqual([32, 8, 1, 1]);
      expect(detector.has('neck.fpn_convs.4.conv.weight')).toBe(false);
    }
  }, 900_000);

  /** The detector's tensors of a stage's last checkpoint, with `edits` applied (name → value). */
  function trainedWeights(stage: string, edits: Record<string, number>): Map<string, TensorData> {
    const c = listCheckpoints(runDir).find((x) => x.meta.stage === stage && x.meta.complete);
    const groups = loadCheckpoint(c!.path).groups;
    const weights = new Map<string, TensorData>();
    for (const [prefix, group] of groups)
      if (prefix.startsWith('detector')) for (const [k, t] of group) weights.set(k, t);
    for (const [name, value] of Object.entries(edits)) {
      const t = weights.get(name)!;
      weights.set(name, { ...t, data: new Float32Array(t.data.length).fill(value) });
    }
    return weights;
  }

  const dataset = () => openDeclaredDataset(decls.get('four', 'dataset', file));
  const view = viewPlanOf(decls.get('plain', 'view', file));

  /** The detections' boxes in the resized image (short side 64) that no image border clipped. */
  async function resizedBoxes(results: readonly CocoResultJson[]): Promise<number[][]> {
    const sizes = new Map((await dataset()).samples.map((x) => [x.imageId, x] as const));
    return results.flatMap((r) => {
      const image = sizes.get(r.image_id)!;
      const [x, y, w, h] = r.bbox;
      if (x < 0.5 || y < 0.5 || x + w > image.width - 0.5 || y + h > image.height - 0.5) return [];
      const s = 64 / Math.min(image.width, image.height);
      return [[x * s, y * s, w * s, h * s]];
    });
  }

  it('evaluation decodes P2: unclipped RetinaNet boxes are anchors of P2–P6 sizes, P2 (stride 4) among them', async () => {
    // Regression zeroed: every box is its anchor (side 2^(l+2)·2^(k/3) at level l); scores raised.
    // Anchors of P4–P6 (64–203 px) never fit the 64×85 image unclipped, so P2's small ones are
    // what this sees (all of the unclipped boxes at seed 0).
    const weights = trainedWeights('retina_p2', {
      'bbox_head.retina_reg.weight': 0,
      'bbox_head.retina_reg.bias': 0,
      'bbox_head.retina_cls.bias': 0,
    });
    const d = await dataset();
    const p = retinaNetPlanOf(decls.get('retina', 'detector', file));
    const options = {
      model: await buildRetinaNet(p, Rng.fromSeed(0)),
      anchors: p.anchors,
      weights,
      dataset: d,
      view,
      canvas: canvasFor(d, [view]),
      seed: 0,
      maxDets: 100,
      backend: cpuReferenceBackend(),
    };
    const results = await detect(options);
    expect(results).toHaveLength(4 * 100);
    const levels = (await resizedBoxes(results)).map(([, , w, h]) => {
      const octave = Math.log2(Math.sqrt(w * h)) - 2; // l + k/3
      expect(
        Math.abs(octave * 3 - Math.round(octave * 3)),
        `side ${Math.sqrt(w * h)}`,
      ).toBeLessThan(0.05);
      return Math.floor(Math.round(octave * 3) / 3);
    });
    expect(levels.length).toBeGreaterThan(100);
    expect(levels.every((l) => l >= 2 && l <= 6)).toBe(true);
    expect(levels).toContain(2);
    // Priors of other strides than the pyramid's are refused, not paired with the wrong outputs.
    await expect(
      detect({ ...options, anchors: { ...p.anchors, strides: [8, 16, 32, 64, 128] } }),
    ).rejects.toThrow(
      /evaluation: the detector's pyramid maps are 16×24, 8×12, 4×6, 2×3, 1×2 but the priors of strides 8, 16, 32, 64, 128 lie on 8×12, 4×6, 2×3, 1×2, 1×1/,
    );
  }, 300_000);

  it('evaluation decodes every level: FCOS boxes sit on P2 points and on P3–P6 points', async () => {
    // Distances exp(0) = 1 px: each box is a 2-px square around its point ((x + ½)·stride).
    const weights = trainedWeights('fcos_p2', {
      'bbox_head.conv_reg.weight': 0,
      'bbox_head.conv_reg.bias': 0,
      'bbox_head.conv_cls.bias': 0,
    });
    const d = await dataset();
    const results = await detectFcos({
      model: await buildFcos(fcosPlanOf(decls.get('point', 'detector', file)), Rng.fromSeed(0)),
      weights,
      dataset: d,
      view,
      canvas: canvasFor(d, [view]),
      seed: 0,
      maxDets: 100,
      backend: cpuReferenceBackend(),
    });
    expect(results.length).toBeGreaterThan(100);
    // Centre rows in the resized image: P2 points at 2 mod 4, P3–P6 points at 0 mod 4.
    const rows = (await resizedBoxes(results)).map(([, y, , h]) => (y + h / 2) % 4);
    expect(rows.length).toBeGreaterThan(100);
    expect(rows.every((r) => Math.abs(r - 2) < 0.5 || r < 0.5 || r > 3.5)).toBe(true);
    expect(rows.some((r) => Math.abs(r - 2) < 0.5)).toBe(true);
    expect(rows.some((r) => r < 0.5 || r > 3.5)).toBe(true);
  }, 300_000);
});
