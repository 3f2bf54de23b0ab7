// `max_iou(…)` settings from `.align` to the RetinaNet steps (issue #7: "the MaxIoU assigner (pos/neg
// thresholds, min_pos_iou, low-quality matches), the random pos/neg sampler with quotas"): every
// argument the checker accepts is read or refused, never silently dropped. On edits of
// pipelines/bccd-default.align (its text edited as it is read): the box-domain stage's thresholds,
// quota and `negatives: false` reach the assigner and sampler (runtime/run/stage-spec.ts
// `assignerOf`, `boxDomainSamplerOf`, the config runtime/train/box-targets.ts samples with); views
// that disagree, and sampling arguments in a fine-tuning stage, are refused at the match's
// file:line:col. The assigner and sampler themselves are checked against mmdet in
// test/detect/assign.test.ts.

import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFilesOrThrow } from '../../compiler/check/index.js';
import { readFromDisk } from '../../compiler/check/modules.js';
import { planProgram } from '../../compiler/lower/plan.js';
import { maxIouAssign } from '../../runtime/detect/max-iou-assigner.js';
import { randomSample } from '../../runtime/detect/random-sampler.js';
import { SeededRng } from '../../runtime/detect/rng.js';
import { AlignError } from '../../runtime/errors.js';
import { packageRoot } from '../../runtime/package-root.js';
import { stageSpecsOf } from '../../runtime/run/executor.js';
import { boxDomainSamplerOf, type StageSpec } from '../../runtime/run/stage-spec.js';

const path = join(packageRoot(), 'pipelines', 'bccd-default.align');
const file = relative(process.cwd(), path);

/** The stage specs of bccd-default.align after replacing, for each [from, to], every `from`. */
function specs(...edits: readonly (readonly [string, string])[]): StageSpec[] {
  const original = readFromDisk(path);
  if (original === undefined) throw new Error(`no ${path}`);
  const edited = edits.reduce((t, [from, to]) => {
    if (!t.includes(from)) throw new Error(`no ${from} in ${file}`);
    return t.replaceAll(from, to);
  }, original);
  const read = (p: string) => (p === path ? edited : readFromDisk(p));
  return stageSpecsOf(planProgram(checkFilesOrThrow([file], read)));
}

function refusal(read: () => unknown): string {
  try {
    read();
  } catch (e) {
    if (e instanceof AlignError) return e.render();
    throw e;
  }
  return 'not refused';
}

/**
 * One box [5, 5, 15, 15] over a 4×4 grid of 10×10 priors: 4 priors tie at IoU 25/175 ≈ 0.14, below
 * pos 0.2 but positive by low-quality matching; the other 12 (IoU 0) are negatives.
 */
function sampleCounts(config: ReturnType<typeof boxDomainSamplerOf>) {
  const priors = new Float32Array(16 * 4);
  for (let i = 0; i < 16; i++)
    priors.set(
      [(i % 4) * 10, Math.floor(i / 4) * 10, (i % 4) * 10 + 10, Math.floor(i / 4) * 10 + 10],
      i * 4,
    );
  const assign = maxIouAssign(
    { posIouThr: 0.2, negIouThr: 0.1, minPosIou: 0 },
    { priors, gtBoxes: new Float32Array([5, 5, 15, 15]) },
  );
  const s = randomSample(config, assign, new SeededRng(1));
  return { pos: s.posIndices.length, neg: s.negIndices.length };
}

describe('max_iou settings in a RetinaNet plan', () => {
  it("the box-domain stage's thresholds, quota and negatives reach the assigner and sampler", () => {
    const [pre] = specs(
      [
        'pos: 0.5,\n    neg: 0.4,\n    min_pos: 0.0,',
        'pos: 0.6,\n    neg: 0.3,\n    min_pos: 0.2,\n    low_quality: false,',
      ],
      [
        'sample: 64,\n    pos_fraction: 1.0,',
        'sample: 12,\n    pos_fraction: 0.25,\n    negatives: false,',
      ],
    );
    if (pre.kind !== 'box_domain') throw new Error(pre.kind);
    expect(pre.assigner).toEqual({
      posIouThr: 0.6,
      negIouThr: 0.3,
      minPosIou: 0.2,
      matchLowQuality: false,
    });
    expect(boxDomainSamplerOf(pre)).toEqual({ num: 12, posFraction: 0.25, negPosUb: 0 });
    // Quota: 0.25 × 12 = 3 of the 4 positives; negatives: false leaves the rest of the 12 empty.
    expect(sampleCounts(boxDomainSamplerOf(pre))).toEqual({ pos: 3, neg: 0 });
  });

  it('by default negatives fill the sample (AlignDet RetinaNet: pos_fraction 1, no bound)', () => {
    const [pre] = specs(['sample: 64,', 'sample: 12,']);
    if (pre.kind !== 'box_domain') throw new Error(pre.kind);
    expect(boxDomainSamplerOf(pre)).toEqual({ num: 12, posFraction: 1, negPosUb: -1 });
    expect(sampleCounts(boxDomainSamplerOf(pre))).toEqual({ pos: 4, neg: 8 });
  });

  it("refuses views whose max_iou settings differ, at the second view's match", () => {
    const rendered = refusal(() =>
      specs([
        'k.anchors,\n    v2.boxes,\n    v2.ids,\n    pos: 0.5,',
        'k.anchors,\n    v2.boxes,\n    v2.ids,\n    pos: 0.6,',
      ]),
    );
    expect(rendered).toMatch(
      /^pipelines\/bccd-default\.align:\d+:\d+: error\[E_RUN_UNSUPPORTED\]: match mk: the two views' max_iou\(…\) must have the same settings as match mq/,
    );
  });

  it('refuses sampling arguments in a fine-tuning stage, at the match', () => {
    const rendered = refusal(() =>
      specs([
        'match m = max_iou(out.anchors, v.boxes, v.labels, pos: 0.5, neg: 0.4, min_pos: 0.0)',
        'match m = max_iou(out.anchors, v.boxes, v.labels, pos: 0.5, neg: 0.4, negatives: false)',
      ]),
    );
    expect(rendered).toMatch(
      /^pipelines\/bccd-default\.align:\d+:\d+: error\[E_RUN_UNSUPPORTED\]: match m: sampling in a fine-tuning stage is not supported/,
    );
  });
});
