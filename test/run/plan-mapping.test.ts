// The plan → runtime mapping of runtime/run: the default pipeline's declarations and stages read
// into the settings the runtime gets (checked against the numbers written in
// pipelines/bccd-default.align), `--set` overrides, and clear, located errors for what the runner
// does not support.

import { describe, expect, it } from 'vitest';
import { checkFilesOrThrow } from '../../compiler/check/index.js';
import { planProgram, type ProgramPlan } from '../../compiler/lower/plan.js';
import { packageRoot } from '../../runtime/package-root.js';
import { proposalSourceOf, viewPlanOf, canvasFor } from '../../runtime/run/build-data.js';
import { emaPlanOf, retinaNetPlanOf } from '../../runtime/run/build-detector.js';
import { AlignError } from '../../runtime/errors.js';
import { checkStageDeclarations, stageSpecsOf } from '../../runtime/run/executor.js';
import { applyOverride, parseOverrideValue } from '../../runtime/run/overrides.js';
import { iterationsOf, lrScheduleOf } from '../../runtime/run/stage-spec.js';
import { join, relative } from 'node:path';

const root = packageRoot();
const planOf = (file: string): ProgramPlan => planProgram(checkFilesOrThrow([file]));
const fixture = (name: string) =>
  relative(process.cwd(), join(root, 'test', 'fixtures', 'run', name));
const defaultPlan = planOf(relative(process.cwd(), join(root, 'pipelines', 'bccd-default.align')));
const decl = (plan: ProgramPlan, name: string) => plan.declarations.find((d) => d.name === name)!;

function thrown(fn: () => unknown): AlignError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AlignError) return error;
    throw error;
  }
  throw new Error('expected an AlignError');
}

describe('the default pipeline as runtime settings', () => {
  it('reads both stages', () => {
    const [pretrain, finetune] = stageSpecsOf(defaultPlan);
    expect(pretrain).toMatchObject({
      kind: 'box_domain',
      name: 'pretrain',
      views: ['two_views', 'two_views'],
      online: 'online',
      momentum: 'momentum',
      sample: 64,
      posFraction: 1,
      tau: 0.5,
      lossNames: ['contrast', 'regression'],
      assigner: { posIouThr: 0.5, negIouThr: 0.4, minPosIou: 0 },
      optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 1e-4 },
      data: { dataset: 'unlabelled', proposals: 'ss', batch: 2 },
      length: { value: 10, unit: 'iter' },
    });
    expect(finetune).toMatchObject({
      kind: 'finetune',
      view: 'train_view',
      detector: 'finetuned',
      alpha: 0.25,
      gamma: 2,
      lossNames: ['cls', 'reg'],
      lossWeights: [1, 1],
      init: {
        detector: 'finetuned',
        fromStage: 'pretrain',
        source: 'online',
        drop: ['retina_cls', 'retina_reg'],
      },
      evaluate: { detector: 'finetuned', dataset: 'cells_val', maxDets: 100 },
    });
    if (finetune.kind !== 'finetune') throw new Error('kind');
    expect(lrScheduleOf(finetune.lr, 40, 103)).toEqual({
      base: 0.02,
      schedule: { kind: 'constant' },
      warmup: { iterations: 10, startFactor: 0.1 },
    });
    expect(iterationsOf({ value: 2, unit: 'epoch' }, 103)).toBe(206);
  });

  it('reads the detectors, views and proposals', () => {
    const online = retinaNetPlanOf(decl(defaultPlan, 'online'));
    expect(online).toMatchObject({
      depth: 18,
      widthMultiplier: 32 / 256,
      frozenBackbone: true,
      levels: [3, 5],
      extra: 'none',
      convs: 1,
      headChannels: 32,
      classifier: { kind: 'projector', dim: 32, hiddenChannels: 64 },
      anchors: {
        strides: [8, 16, 32],
        ratios: [0.5, 1, 2],
        octaveBaseScale: 4,
        scalesPerOctave: 3,
      },
    });
    expect(retinaNetPlanOf(decl(defaultPlan, 'finetuned'))).toMatchObject({
      frozenBackbone: false,
      frozenStages: 1,
      classifier: { kind: 'logits', numClasses: 3 },
    });
    expect(emaPlanOf(decl(defaultPlan, 'momentum'))).toEqual({
      name: 'momentum',
      online: 'online',
      start: 0.996,
      end: 1,
    });
    const view = viewPlanOf(decl(defaultPlan, 'two_views'));
    expect(view.spec.map((s) => s.op)).toEqual(['resize', 'hflip', 'rand_aug', 'pad']);
    expect(view.scales).toEqual([
      [192, 112],
      [192, 128],
    ]);
    expect(view.mean).toEqual([123.675, 116.28, 103.53]);
    // 640×480 at short side 128 → 171×128, padded to 32 → 192×128.
    const sample = { width: 640, height: 480, labels: new Int32Array(0) };
    expect(canvasFor({ samples: [sample] } as never, [view])).toEqual([192, 128]);
    expect(proposalSourceOf(decl(defaultPlan, 'ss'))).toEqual({
      dataset: 'unlabelled',
      params: {
        mode: 'fast',
        scale: 300,
        sigma: 0.8,
        minSize: 100,
        minSide: 32,
        maxAspect: 3,
        minRelSize: 0,
        maxRelSize: 0.8,
        nms: 0.5,
        top: 20,
        seed: 0,
      },
    });
  });
});

describe('--set overrides', () => {
  it('parses values', () => {
    expect(parseOverrideValue('0.02')).toBe(0.02);
    expect(parseOverrideValue('20iters')).toEqual({ value: 20, unit: 'iter' });
    expect(parseOverrideValue('2 epochs')).toEqual({ value: 2, unit: 'epoch' });
    expect(parseOverrideValue('5%')).toEqual({ value: 5, unit: 'percent' });
    expect(parseOverrideValue('[96, 112]')).toEqual([96, 112]);
    expect(parseOverrideValue('true')).toBe(true);
  });

  it('changes declarations, stage clauses and loss weights', () => {
    let plan = applyOverride(defaultPlan, 'online.backbone.width=0.25');
    plan = applyOverride(plan, 'ss.top.k=5');
    plan = applyOverride(plan, 'finetune.train.length=3iters');
    plan = applyOverride(plan, 'finetune.optimize.optimizer.lr=0.02');
    plan = applyOverride(plan, 'finetune.reg.weight=2');
    plan = applyOverride(plan, 'pretrain.contrast.tau=0.2');
    expect(retinaNetPlanOf(decl(plan, 'online')).widthMultiplier).toBe(0.25);
    expect(proposalSourceOf(decl(plan, 'ss')).params.top).toBe(5);
    const [pretrain, finetune] = stageSpecsOf(plan);
    expect(pretrain).toMatchObject({ tau: 0.2 });
    expect(finetune).toMatchObject({ length: { value: 3, unit: 'iter' }, lossWeights: [1, 2] });
    expect(finetune.lr.base).toBe(0.02);
    // The original plan is untouched.
    expect(retinaNetPlanOf(decl(defaultPlan, 'online')).widthMultiplier).toBe(0.125);
  });

  it('names what is wrong', () => {
    expect(thrown(() => applyOverride(defaultPlan, 'onlin.neck.channels=64')).message).toContain(
      'no declaration or stage named onlin',
    );
    expect(thrown(() => applyOverride(defaultPlan, 'online.neck.channels=wide')).message).toContain(
      'the pipeline has a number there, not a string',
    );
    expect(thrown(() => applyOverride(defaultPlan, 'finetune.trian.length=3iters')).code).toBe(
      'E_RUN_OVERRIDE',
    );
    expect(
      thrown(() => applyOverride(defaultPlan, 'finetune.evaluate.everyy=2iters')).message,
    ).toContain('the evaluate clause has no argument everyy');
    // A clause's absent optional argument is accepted when its signature has it.
    expect(() => applyOverride(defaultPlan, 'finetune.evaluate.every=2iters')).not.toThrow();
    expect(thrown(() => applyOverride(defaultPlan, 'channels')).message).toContain(
      'NAME.PARAM=VALUE',
    );
  });
});

describe('what the runner does not support yet', () => {
  it("refuses aligndet-fcos's torchvision:// weights at the detector's location", () => {
    const plan = planOf(relative(process.cwd(), join(root, 'pipelines', 'aligndet-fcos.align')));
    const e = thrown(() => checkStageDeclarations(plan, stageSpecsOf(plan)));
    expect(e.code).toBe('E_RUN_UNSUPPORTED');
    expect(e.render()).toMatch(
      /^pipelines\/aligndet-fcos\.align:\d+:\d+: error\[E_RUN_UNSUPPORTED\]: detector online: weights "torchvision:\/\/resnet50" cannot be fetched/,
    );
  });

  it('refuses unsupported blocks, naming the declaration and its file:line:col', () => {
    const plan = planOf(fixture('unsupported.align'));
    const view = thrown(() => viewPlanOf(decl(plan, 'solar')));
    expect(view.render()).toContain(
      `${fixture('unsupported.align')}:7:6: error[E_RUN_UNSUPPORTED]: view solar: the runner has no solarize(…) view step yet`,
    );
    const det = thrown(() => retinaNetPlanOf(decl(plan, 'frcnn')));
    expect(det.render()).toContain(
      `${fixture('unsupported.align')}:9:10: error[E_RUN_UNSUPPORTED]: detector frcnn: faster_rcnn(…) detectors are not supported`,
    );
    const weights = thrown(() => viewPlanOf(decl(plan, 'no_norm')));
    expect(weights.code).toBe('E_RUN_PLAN');
    expect(weights.message).toContain('a view needs a normalize');
  });
});
