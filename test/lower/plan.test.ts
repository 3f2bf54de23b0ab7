// Tests of the program plan (compiler/lower/plan.ts): the shipped AlignDet pipeline lowered to
// configuration data and ordered stage steps, as `alignc compile --emit plan` prints it.

import { describe, expect, it } from 'vitest';
import { checkFilesOrThrow } from '../../compiler/check/index.js';
import { planProgram, type ConfigValue, type StepPlan } from '../../compiler/lower/plan.js';

const plan = planProgram(checkFilesOrThrow(['pipelines/aligndet-retinanet.align']));

function declaration(name: string): ConfigValue {
  const d = plan.declarations.find((x) => x.name === name);
  if (!d) throw new Error(`no declaration ${name}`);
  return d.value;
}

describe('program plan of pipelines/aligndet-retinanet.align', () => {
  it('evaluates declarations to configuration values', () => {
    expect(declaration('ss')).toEqual({
      pipeline: [
        {
          block: 'selective_search',
          args: { dataset: { ref: 'unlabelled' }, scale: 300, sigma: 0.9, min_size: 100 },
        },
        {
          block: 'filter_boxes',
          args: { min_side: 32, max_aspect: 3, min_rel_size: 0, max_rel_size: 0.8 },
        },
        { block: 'nms', args: { iou: 0.5 } },
        { block: 'top', args: { k: 50 } },
      ],
    });
    const momentum = declaration('momentum') as {
      block: string;
      args: Record<string, ConfigValue>;
    };
    expect(momentum.block).toBe('ema');
    expect(momentum.args.momentum).toEqual({ block: 'cosine', args: { start: 0.996, end: 1 } });
  });

  it('folds consts into the views that use them', () => {
    const view = declaration('soft_teacher') as {
      pipeline: { block: string; args: Record<string, ConfigValue> }[];
    };
    expect(view.pipeline.map((s) => s.block)).toEqual([
      'resize',
      'hflip',
      'one_of',
      'normalize',
      'pad',
    ]);
    const oneOf = view.pipeline[2].args;
    expect((oneOf.ops as { block: string }[]).map((o) => o.block)).toHaveLength(9);
    expect(oneOf.magnitude).toEqual({ from: 1, to: 9 });
  });

  it('lowers each stage to its steps in order, with loss weights and folded optimizer settings', () => {
    const pretrain = plan.stages.find((s) => s.name === 'pretrain')!;
    const ops = pretrain.steps.map((s: StepPlan) =>
      s.op === 'clause' ? s.clause : `${s.op} ${s.name}`,
    );
    expect(ops).toEqual([
      'data',
      'view v1',
      'view v2',
      'let q',
      'let k',
      'match mq',
      'match mk',
      'loss contrast',
      'loss regression',
      'optimize',
      'train',
      'checkpoint',
      'report',
    ]);
    const contrast = pretrain.steps.find((s) => s.op === 'loss' && s.name === 'contrast');
    expect(contrast).toMatchObject({ weight: 1, value: { call: 'box_infonce', type: 'f32' } });
    const optimize = pretrain.steps.find((s) => s.op === 'clause' && s.clause === 'optimize');
    expect(optimize).toMatchObject({
      args: { optimizer: { block: 'sgd', args: { lr: 0.01, momentum: 0.9, weight_decay: 1e-4 } } },
    });
    const train = pretrain.steps.find((s) => s.op === 'clause' && s.clause === 'train');
    expect(train).toMatchObject({ args: { length: { value: 12, unit: 'epoch' } } });
    expect(pretrain.steps[0].at).toMatch(/aligndet-retinanet\.align:\d+:3$/);
  });
});
