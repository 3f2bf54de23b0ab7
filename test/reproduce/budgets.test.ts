// Every budget's --set overrides fit every reproduction pipeline (runtime/report/reproduce-budgets.ts
// + pipelines/reproduce/*.align): applied to the plan and read into stage specs and declarations as
// `alignc run` does before it starts, so a bad path in the `small` or `full` budget — which CI never
// runs — fails here in a second instead of at the start of a long run, and the sizes arrive.

import { describe, expect, it } from 'vitest';
import { checkFilesOrThrow } from '../../compiler/check/index.js';
import { planProgram } from '../../compiler/lower/plan.js';
import { packageRoot } from '../../runtime/package-root.js';
import { checkStageDeclarations, stageSpecsOf } from '../../runtime/run/executor.js';
import { applyOverrides } from '../../runtime/run/overrides.js';
import { BUDGET_NAMES, BUDGETS } from '../../runtime/report/reproduce-budgets.js';
import { buildMatrix, DETECTORS } from '../../runtime/report/reproduce-matrix.js';

describe('reproduction budgets', () => {
  for (const budget of BUDGET_NAMES)
    for (const detector of DETECTORS)
      it(`${budget} fits ${detector}.align`, () => {
        const matrix = buildMatrix({
          root: packageRoot(),
          outDir: 'unused',
          budget: BUDGETS[budget],
          detectors: [detector],
        });
        expect(matrix.detectors[0].settings).toEqual(['scratch', 'image', 'aligndet']);
        const run = matrix.runs.find((r) => r.kind === 'finetune')!;
        const plan = applyOverrides(planProgram(checkFilesOrThrow([run.pipeline])), run.overrides);
        const specs = stageSpecsOf(plan);
        expect(specs.map((s) => s.name)).toEqual([
          'pretrain_image',
          'pretrain_box',
          'finetune_scratch',
          'finetune_image',
          'finetune_aligndet',
        ]);
        checkStageDeclarations(plan, specs);
        // The values arrive (a misspelt clause argument would not be refused by --set).
        const b = BUDGETS[budget];
        for (const s of specs) {
          const pretrain = s.name.startsWith('pretrain');
          const iterations = pretrain ? b.pretrainIterations : b.finetuneIterations;
          expect(s.length).toEqual({ value: iterations, unit: 'iter' });
          if (s.kind === 'finetune' || s.kind === 'fcos_finetune')
            expect(s.evaluate?.every).toEqual({ value: b.evaluateEvery, unit: 'iter' });
        }
      });
});
