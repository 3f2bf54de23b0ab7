// The image-domain stage as runtime settings (runtime/run/image-domain-spec.ts,
// image-domain-encoder.ts): pipelines/bccd-image-domain.align's `image_domain` stage and its
// encoder read into the step's terms and the network plan, the box-domain stage's `init` from it,
// and located refusals of image-domain stages the runner cannot execute.

import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFiles, checkFilesOrThrow } from '../../compiler/check/index.js';
import { readFromDisk } from '../../compiler/check/modules.js';
import { planProgram, type ProgramPlan } from '../../compiler/lower/plan.js';
import { AlignError } from '../../runtime/errors.js';
import { packageRoot } from '../../runtime/package-root.js';
import { retinaNetPlanOf } from '../../runtime/run/build-detector.js';
import { stageSpecsOf } from '../../runtime/run/executor.js';
import { encoderPlanOf } from '../../runtime/run/image-domain-encoder.js';

const file = relative(process.cwd(), join(packageRoot(), 'pipelines', 'bccd-image-domain.align'));
const text = readFileSync(file, 'utf8');
const plan = planProgram(checkFilesOrThrow([file]));
const decl = (p: ProgramPlan, name: string) => p.declarations.find((d) => d.name === name)!;

/** The plan of the shipped pipeline with `edit` applied to its text, as `…-edited.align`. */
function planWith(edit: (t: string) => string): ProgramPlan {
  const edited = edit(text);
  expect(edited).not.toBe(text);
  const path = file.replace(/\.align$/, '-edited.align');
  const program = checkFiles([path], (p) => (p === resolve(path) ? edited : readFromDisk(p)));
  expect(program.diagnostics.map((d) => d.message)).toEqual([]);
  return planProgram(program);
}

function refusal(p: ProgramPlan): string {
  try {
    stageSpecsOf(p);
  } catch (error) {
    if (error instanceof AlignError) return error.render();
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('the image-domain stage as runtime settings', () => {
  it('reads the BYOL terms, the networks and the clauses', () => {
    const [image, pretrain] = stageSpecsOf(plan);
    expect(image).toMatchObject({
      kind: 'image_domain',
      name: 'image_domain',
      views: ['byol_view', 'byol_view'],
      online: 'online_enc',
      target: 'target_enc',
      terms: [
        {
          name: 'byol_12',
          weight: 1,
          online: { view: 0, field: 'prediction' },
          target: { view: 1, field: 'projection' },
        },
        {
          name: 'byol_21',
          weight: 1,
          online: { view: 1, field: 'prediction' },
          target: { view: 0, field: 'projection' },
        },
      ],
      data: { dataset: 'images', batch: 4 },
      length: { value: 20, unit: 'iter' },
      init: undefined,
    });
    expect(pretrain).toMatchObject({
      kind: 'box_domain',
      init: { detector: 'online', fromStage: 'image_domain', source: 'online_enc', drop: [] },
    });
    expect(encoderPlanOf(decl(plan, 'online_enc'))).toMatchObject({
      depth: 18,
      widthMultiplier: 0.125,
      frozenStages: -1,
      projector: { hidden: 64, out: 32 },
      predictor: { hidden: 64, out: 32 },
    });
    // The detector the encoder feeds has the same ResNet.
    expect(retinaNetPlanOf(decl(plan, 'online')).widthMultiplier).toBe(0.125);
  });

  it('refuses a stage whose target does not run under no_grad, at the let', () => {
    const p = planWith((t) =>
      t.replace('let k1 = no_grad(target_enc(v1))', 'let k1 = target_enc(v1)'),
    );
    expect(refusal(p)).toMatch(
      /^pipelines\/bccd-image-domain-edited\.align:\d+:3: error\[E_RUN_UNSUPPORTED\]: stage image_domain: let k1: the target target_enc must run under no_grad\(…\)$/,
    );
  });

  it('refuses a byol term that reads the online network on both sides, at the loss', () => {
    const p = planWith((t) =>
      t.replace('byol(q1.prediction, k2.projection)', 'byol(q1.prediction, q2.projection)'),
    );
    expect(refusal(p)).toMatch(
      /^pipelines\/bccd-image-domain-edited\.align:\d+:3: error\[E_RUN_UNSUPPORTED\]: stage image_domain: loss byol_12: the second argument of byol must be the target network's \.projection or \.prediction\n  hint: write byol\(q1\.prediction, k2\.projection\)$/,
    );
  });
});
