// The FCOS stage shapes of a plan (a stage whose matching is `fcos_assign(…)`), read into the
// settings of a runtime step: **FCOS fine-tuning** (one view, `sigmoid_focal` + `iou_loss` or
// `giou_loss` + `centerness_loss`, as mmdet's FCOSHead) and **FCOS box-domain pre-training** (two
// views, the online detector and its `no_grad` EMA copy, `box_infonce` + `iou_loss` +
// `centerness_loss`, aligndet-spec §4–§6). Lets that derive targets (`encode_distances`,
// `centerness_target(…) * pos`, `f32(…)`) state what the step computes and are accepted as written.
// Flow: plan (stages) → stage-spec.ts → **FCOS stage specs** → runtime steps.

import type { StagePlan, StepPlan } from '../../compiler/lower/plan.js';
import { ConfigReader } from './config-values.js';
import { RunUnsupportedError } from './errors.js';
import type { FcosBoxLoss } from '../train/fcos-regression.js';
import {
  evaluateClauseOf,
  initClauseOf,
  type EvaluateClause,
  type InitClause,
} from './stage-clauses.js';
import { boxDomainBranchesOf, callOf, type Clause, type CommonStage } from './stage-spec.js';

/** How `fcos_assign(…)` picks positives: its `ranges:`, and mmdet's optional centre sampling. */
export interface FcosAssignSettings {
  /** `ranges:` level boundaries of fcos_assign (undefined: mmdet's, cut to the head's levels). */
  readonly ranges: readonly number[] | undefined;
  /** `center_sampling: true`: positives only within `centerRadius` strides of the box centre. */
  readonly centerSampling: boolean;
  /** `center_radius:`, in strides (mmdet `center_sample_radius`, default 1.5). */
  readonly centerRadius: number;
}

export interface FcosFinetuneStage extends CommonStage, FcosAssignSettings {
  readonly kind: 'fcos_finetune';
  readonly view: string;
  readonly detector: string;
  readonly alpha: number;
  readonly gamma: number;
  readonly boxLoss: FcosBoxLoss;
  /** The plan's names of the classification, box and centerness terms, and their weights. */
  readonly lossNames: readonly [string, string, string];
  readonly lossWeights: readonly [number, number, number];
  readonly init: InitClause | undefined;
  readonly evaluate: EvaluateClause | undefined;
  /** The match step's file:line:col (for errors about its ranges). */
  readonly matchAt: string;
}

export interface FcosBoxDomainStage extends CommonStage, FcosAssignSettings {
  readonly kind: 'fcos_box_domain';
  readonly views: readonly [string, string];
  readonly online: string;
  readonly momentum: string;
  /** Points sampled per view over the whole batch (AlignDet: 2048). */
  readonly sample: number;
  /** `init online, from: stage, …`: e.g. the backbone of an image-domain stage. */
  readonly init: InitClause | undefined;
  readonly tau: number;
  /** The plan's names of the contrastive, box and centerness terms. */
  readonly lossNames: readonly [string, string, string];
  readonly matchAt: string;
}

/** Lets that derive target tensors; the step computes them itself. */
const TARGET_HELPERS: ReadonlySet<string> = new Set([
  'encode_distances',
  'decode_distances',
  'centerness_target',
  'f32',
  'undefined',
]);

type LossCall = ReturnType<typeof callOf> & { readonly step: Extract<StepPlan, { op: 'loss' }> };

export interface FcosStageParts {
  readonly stage: StagePlan;
  readonly common: CommonStage;
  readonly views: readonly Extract<StepPlan, { op: 'view' }>[];
  readonly lets: readonly Extract<StepPlan, { op: 'let' }>[];
  readonly matches: readonly Extract<StepPlan, { op: 'match' }>[];
  readonly losses: readonly LossCall[];
  readonly clauses: ReadonlyMap<string, Clause>;
  readonly emaNames: ReadonlySet<string>;
}

function letCall(l: Extract<StepPlan, { op: 'let' }>): string {
  return String((l.value as { call?: unknown } | null)?.call);
}

/** Reads a stage that matches with `fcos_assign(…)`; refuses any other FCOS form, located. */
export function fcosStageSpecOf(p: FcosStageParts): FcosFinetuneStage | FcosBoxDomainStage {
  const { stage, common, views, losses } = p;
  const r = new ConfigReader(`stage ${stage.name}`, stage.at);
  const calls = losses
    .map((l) => l.call)
    .sort()
    .join(' + ');
  const lossOf = (name: string): LossCall | undefined => losses.find((x) => x.call === name);
  const box = lossOf('iou_loss') ?? lossOf('giou_loss');
  const centerness = lossOf('centerness_loss');
  const [m] = p.matches.map((x) => ({ step: x, ...callOf(x) }));
  const mr = new ConfigReader(`match ${m.step.name}`, m.step.at);
  const assign: FcosAssignSettings = {
    ranges: m.args.ranges === undefined ? undefined : mr.numbers(m.args.ranges, 'ranges'),
    centerSampling: mr.boolean(m.args.center_sampling, 'center_sampling', false),
    centerRadius: mr.number(m.args.center_radius, 'center_radius', 1.5),
  };
  const sample = mr.integer(m.args.sample, 'sample', 0);
  const viewOf = (v: Extract<StepPlan, { op: 'view' }>) =>
    new ConfigReader(`view ${v.name}`, v.at).ref(v.value, 'view');
  const contrast = lossOf('box_infonce');
  if (
    views.length === 2 &&
    contrast !== undefined &&
    box?.call === 'iou_loss' &&
    centerness !== undefined &&
    losses.length === 3
  ) {
    if (p.matches.length !== 2 || p.matches.some((x) => callOf(x).call !== 'fcos_assign'))
      return r.fail('an FCOS box-domain stage needs one fcos_assign(…) match per view');
    const other = callOf(p.matches[1]);
    const settings = (a: typeof m.args) =>
      JSON.stringify([a.ranges, a.sample, a.center_sampling, a.center_radius]);
    if (settings(other.args) !== settings(m.args))
      throw new RunUnsupportedError(
        `match ${p.matches[1].name}: the two views' fcos_assign(…) must have the same ranges and sample, and the same centre sampling, as match ${m.step.name}`,
        p.matches[1].at,
      );
    for (const l of [contrast, box, centerness])
      if (l.step.weight !== 1)
        throw new RunUnsupportedError(
          `stage ${stage.name}: loss ${l.step.name} has weight ${l.step.weight}; the box-domain step weighs every term 1 (aligndet-spec §6)`,
          l.step.at,
        );
    if (sample <= 0)
      throw new RunUnsupportedError(
        `match ${m.step.name}: FCOS box-domain matching needs sample: N > 0 (points per view over the batch, AlignDet: 2048)`,
        m.step.at,
      );
    const { online, momentum } = boxDomainBranchesOf(stage, p.lets, p.emaNames, TARGET_HELPERS);
    return {
      ...common,
      kind: 'fcos_box_domain',
      views: [viewOf(views[0]), viewOf(views[1])],
      online,
      momentum,
      ...assign,
      sample,
      init: initClauseOf(stage.name, p.clauses),
      tau: new ConfigReader(`loss ${contrast.step.name}`, contrast.step.at).number(
        contrast.args.tau,
        'tau',
        0.5,
      ),
      lossNames: [contrast.step.name, box.step.name, centerness.step.name],
      matchAt: m.step.at,
    };
  }
  const focal = lossOf('sigmoid_focal');
  if (
    views.length === 1 &&
    focal !== undefined &&
    box !== undefined &&
    centerness !== undefined &&
    losses.length === 3
  ) {
    if (p.matches.length !== 1)
      return r.fail('an FCOS fine-tuning stage needs one fcos_assign(…) match');
    if (sample !== 0)
      throw new RunUnsupportedError(
        `match ${m.step.name}: sampling in a fine-tuning stage is not supported (FCOS uses every point)`,
        m.step.at,
      );
    const detectorLets = p.lets.filter((l) => !TARGET_HELPERS.has(letCall(l)));
    if (detectorLets.length !== 1)
      return r.fail('an FCOS fine-tuning stage needs exactly one `let out = detector(view)`');
    const fr = new ConfigReader(`loss ${focal.step.name}`, focal.step.at);
    return {
      ...common,
      kind: 'fcos_finetune',
      view: viewOf(views[0]),
      detector: callOf(detectorLets[0]).call,
      ...assign,
      alpha: fr.number(focal.args.alpha, 'alpha', 0.25),
      gamma: fr.number(focal.args.gamma, 'gamma', 2),
      boxLoss: box.call === 'giou_loss' ? 'giou_loss' : 'iou_loss',
      lossNames: [focal.step.name, box.step.name, centerness.step.name],
      lossWeights: [focal.step.weight, box.step.weight, centerness.step.weight],
      init: initClauseOf(stage.name, p.clauses),
      evaluate: evaluateClauseOf(stage.name, p.clauses),
      matchAt: m.step.at,
    };
  }
  throw new RunUnsupportedError(
    `stage ${stage.name}: an FCOS stage is either fine-tuning (one view, sigmoid_focal + iou_loss ` +
      `or giou_loss + centerness_loss) or box-domain pre-training (two views, box_infonce + ` +
      `iou_loss + centerness_loss); this stage has ${views.length} view(s) and losses ${calls || 'none'}`,
    stage.at,
    'see pipelines/bccd-fcos.align for both forms',
  );
}
