// FCOS centre sampling from `.align` to the assignment (issue #7: "FCOS target assignment …
// optional centre sampling"): `fcos_assign(…, center_sampling: true, center_radius: r)` added to
// the match steps of pipelines/bccd-fcos.align (its text edited as it is read) reaches the stage specs of both FCOS stage
// kinds and the FcosTargetConfig the steps assign with (runtime/run/fcos-stage-runtime.ts). The
// assignment itself is checked against mmdet in test/detect/assign.test.ts; here a hand-worked
// case shows that the plan's flag and radius are the ones applied: one 24×24 box [16, 16, 40, 40] on
// a 64×64 canvas, levels of stride 8 / 16 / 32 with bccd-fcos's ranges [-1, 32, 64]. Without
// centre sampling the 3×3 stride-8 points strictly inside the box (x, y ∈ {20, 28, 36}) are
// positive; with a radius of 0.5 strides the centre region is [24, 32]², which holds only (28, 28).

import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFilesOrThrow } from '../../compiler/check/index.js';
import { readFromDisk } from '../../compiler/check/modules.js';
import { planProgram } from '../../compiler/lower/plan.js';
import { gridPoints } from '../../runtime/detect/anchors.js';
import { fcosTargets, type FcosTargetConfig } from '../../runtime/detect/fcos-targets.js';
import { AlignError } from '../../runtime/errors.js';
import { packageRoot } from '../../runtime/package-root.js';
import { stageSpecsOf } from '../../runtime/run/executor.js';
import { fcosPlanOf } from '../../runtime/run/fcos-detector.js';
import { fcosTargetConfigOf } from '../../runtime/run/fcos-stage-runtime.js';
import { Declarations } from '../../runtime/run/stage-runtime.js';

const file = relative(process.cwd(), join(packageRoot(), 'pipelines', 'bccd-fcos.align'));

/** The FCOS stage specs of bccd-fcos.align with `extra` arguments added to named match steps. */
function specs(extra: Readonly<Record<string, string>>) {
  const text = readFromDisk(join(packageRoot(), 'pipelines', 'bccd-fcos.align'));
  if (text === undefined) throw new Error('no bccd-fcos.align');
  let edited = text;
  for (const [match, args] of Object.entries(extra)) {
    const line = new RegExp(`(match ${match} = fcos_assign\\(.*)\\)\n`);
    if (!line.test(edited)) throw new Error(`no match ${match}`);
    edited = edited.replace(line, `$1, ${args})\n`);
  }
  const read = (p: string) => (p.endsWith('bccd-fcos.align') ? edited : readFromDisk(p));
  const plan = planProgram(checkFilesOrThrow([file], read));
  const [pre, ft] = stageSpecsOf(plan);
  if (pre.kind !== 'fcos_box_domain' || ft.kind !== 'fcos_finetune')
    throw new Error(`not FCOS stages: ${pre.kind}, ${ft.kind}`);
  const decls = new Declarations(plan.declarations);
  return { pre, ft, detector: fcosPlanOf(decls.get(ft.detector, 'detector', ft.at)) };
}

/** Positive point indices (level-major, then y·W + x) of the one-box hand case. */
function positives(config: FcosTargetConfig): number[] {
  const maps = [8, 4, 2].map((n) => ({ height: n, width: n }));
  const points = gridPoints(config.strides, maps);
  const t = fcosTargets(
    config,
    points,
    new Float32Array([16, 16, 40, 40]),
    new Int32Array([0]),
    -1,
  );
  return [...t.gtIndices.keys()].filter((i) => t.gtIndices[i] === 0);
}

const at = (x: number, y: number) => y * 8 + x; // a stride-8 point's index (level 0 comes first)

describe('FCOS centre sampling in a plan', () => {
  it('is off by default: every point strictly inside the box (within its level range) is positive', () => {
    const { ft, pre, detector } = specs({});
    expect(ft).toMatchObject({ centerSampling: false, centerRadius: 1.5 });
    expect(pre).toMatchObject({ centerSampling: false, centerRadius: 1.5 });
    const config = fcosTargetConfigOf(ft, detector, ft.matchAt);
    expect(config).toMatchObject({ strides: [8, 16, 32], centerSampling: false });
    expect(positives(config)).toEqual(
      [2, 3, 4].flatMap((y) => [2, 3, 4].map((x) => at(x, y))), // (20|28|36, 20|28|36)
    );
  });

  it('center_sampling / center_radius reach both stage kinds and the assignment', () => {
    const { ft, pre, detector } = specs({
      m: 'center_sampling: true, center_radius: 0.5',
      mq: 'center_sampling: true',
      mk: 'center_sampling: true',
    });
    expect(ft).toMatchObject({ centerSampling: true, centerRadius: 0.5 });
    expect(pre).toMatchObject({ centerSampling: true, centerRadius: 1.5 });
    const config = fcosTargetConfigOf(ft, detector, ft.matchAt);
    expect(config).toMatchObject({ centerSampling: true, centerSampleRadius: 0.5 });
    expect(positives(config)).toEqual([at(3, 3)]); // (28, 28) only
    // The default radius (1.5 strides = 12 px) covers the whole 24-px box: the 9 points again.
    expect(positives(fcosTargetConfigOf(pre, detector, pre.matchAt))).toHaveLength(9);
  });

  it("refuses views of a box-domain stage that sample centres differently, at the match's line", () => {
    let message = 'not refused';
    try {
      specs({ mq: 'center_sampling: true' });
    } catch (e) {
      message = (e as AlignError).render();
    }
    expect(message).toMatch(
      /^pipelines\/bccd-fcos\.align:\d+:\d+: error\[E_RUN_UNSUPPORTED\]: match mk: the two views' fcos_assign\(…\) must have the same ranges and sample, and the same centre sampling/,
    );
  });
});
