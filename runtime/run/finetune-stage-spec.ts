// The supervised RetinaNet fine-tuning stage of a plan (one view, one `let out = detector(view)`,
// one `max_iou(…)` match without sampling, `sigmoid_focal` plus a regression term), read into the
// settings of the fine-tuning step. The regression term is either `l1` on the deltas (mmdet's
// RetinaNet) or `giou_loss` on the deltas decoded with the anchors, written
// `giou_loss(decode_deltas(out.anchors, out.deltas), m.targets, …)` (mmdet `reg_decoded_bbox=True`
// with GIoULoss); its prediction argument must say so, since the step computes exactly that.
// Flow: plan (stages) → stage-spec.ts → **RetinaNet fine-tuning spec** → finetune-step.ts.

import type { StepPlan } from '../../compiler/lower/plan.js';
import type { MaxIoUAssignerConfig } from '../detect/max-iou-assigner.js';
import { ConfigReader } from './config-values.js';
import { RunUnsupportedError } from './errors.js';
import type { RetinaRegressionLoss } from './finetune-step.js';
import {
  evaluateClauseOf,
  initClauseOf,
  type EvaluateClause,
  type InitClause,
} from './stage-clauses.js';
import { assignerOf, callOf, type Clause, type CommonStage } from './stage-spec.js';

export interface FinetuneStage extends CommonStage {
  readonly kind: 'finetune';
  readonly view: string;
  readonly detector: string;
  readonly assigner: MaxIoUAssignerConfig;
  readonly alpha: number;
  readonly gamma: number;
  /** `l1` on deltas, or `giou_loss` on decoded deltas (mmdet `reg_decoded_bbox`). */
  readonly regression: RetinaRegressionLoss;
  /** The plan's names of the classification and regression terms, and their weights. */
  readonly lossNames: readonly [string, string];
  readonly lossWeights: readonly [number, number];
  readonly init: InitClause | undefined;
  readonly evaluate: EvaluateClause | undefined;
}

type LossCall = ReturnType<typeof callOf> & { readonly step: Extract<StepPlan, { op: 'loss' }> };

export interface FinetuneStageParts {
  readonly name: string;
  readonly at: string;
  readonly common: CommonStage;
  readonly view: Extract<StepPlan, { op: 'view' }>;
  readonly lets: readonly Extract<StepPlan, { op: 'let' }>[];
  readonly matches: readonly Extract<StepPlan, { op: 'match' }>[];
  /** `sigmoid_focal` and one of `l1` / `giou_loss`. */
  readonly losses: readonly LossCall[];
  readonly clauses: ReadonlyMap<string, Clause>;
}

/** An expression's text without whitespace, for comparing a written argument with a form. */
function compact(v: unknown): string {
  return String(v).replace(/\s+/g, '');
}

/**
 * Checks that the GIoU term compares the detector's deltas decoded with its anchors at unit stds
 * (the only decoding the step performs) with the match's boxes, and that L1 is not written on
 * decoded boxes (the step's L1 compares deltas).
 */
function checkRegressionForm(reg: LossCall, out: string, match: string): void {
  if (reg.call === 'l1') {
    if (!compact(reg.args['0']).startsWith('decode_deltas(')) return;
    throw new RunUnsupportedError(
      `loss ${reg.step.name}: l1 on decoded boxes (mmdet reg_decoded_bbox with L1Loss) is not supported`,
      reg.step.at,
      `write l1(${out}.deltas, encode_deltas(${out}.anchors, ${match}.targets), …) or giou_loss(decode_deltas(${out}.anchors, ${out}.deltas), ${match}.targets, …)`,
    );
  }
  const m = /^decode_deltas\((\w+)\.anchors,(\w+)\.deltas(?:,(?:stds:)?\[([^\]]*)\])?\)$/.exec(
    compact(reg.args['0']),
  );
  const stds = m?.[3]?.split(',').map(Number);
  const unitStds = stds === undefined || (stds.length === 4 && stds.every((x) => x === 1));
  const target = compact(reg.args['1']);
  if (m !== null && m[1] === out && m[2] === out && unitStds && target === `${match}.targets`)
    return;
  throw new RunUnsupportedError(
    `loss ${reg.step.name}: giou_loss in a RetinaNet stage must compare decoded boxes, ` +
      `giou_loss(decode_deltas(${out}.anchors, ${out}.deltas), ${match}.targets, …); got ` +
      `giou_loss(${String(reg.args['0'])}, ${String(reg.args['1'])}, …)`,
    reg.step.at,
    "the step decodes the head's deltas with their anchors (DeltaXYWH, stds 1, as mmdet's RetinaNet with reg_decoded_bbox=True); other stds are not supported",
  );
}

/** Reads a one-view stage with `sigmoid_focal` and `l1` or `giou_loss`; refuses other forms. */
export function finetuneStageSpecOf(p: FinetuneStageParts): FinetuneStage {
  const r = new ConfigReader(`stage ${p.name}`, p.at);
  const view = new ConfigReader(`view ${p.view.name}`, p.view.at).ref(p.view.value, 'view');
  const [out] = p.lets.map((l) => ({ step: l, ...callOf(l) }));
  if (out === undefined || p.lets.length !== 1)
    return r.fail('a fine-tuning stage needs exactly one `let out = detector(view)`');
  const [m] = p.matches.map((x) => ({ step: x, ...callOf(x) }));
  if (m === undefined || m.call !== 'max_iou' || p.matches.length !== 1)
    return r.fail('a fine-tuning stage needs one max_iou(…) match');
  const mr = new ConfigReader(`match ${m.step.name}`, m.step.at);
  if (
    (m.args.sample !== undefined && m.args.sample !== 0) ||
    m.args.pos_fraction !== undefined ||
    m.args.negatives !== undefined
  )
    throw new RunUnsupportedError(
      `match ${m.step.name}: sampling in a fine-tuning stage is not supported (RetinaNet uses every anchor)`,
      m.step.at,
      'leave sample, pos_fraction and negatives out of the fine-tuning max_iou(…)',
    );
  const focal = p.losses.find((l) => l.call === 'sigmoid_focal');
  const reg = p.losses.find((l) => l.call === 'l1' || l.call === 'giou_loss');
  if (focal === undefined || reg === undefined || p.losses.length !== 2)
    return r.fail('a fine-tuning stage needs sigmoid_focal and one of l1 / giou_loss');
  const regression: RetinaRegressionLoss = reg.call === 'giou_loss' ? 'giou_loss' : 'l1';
  checkRegressionForm(reg, out.step.name, m.step.name);
  const fr = new ConfigReader(`loss ${focal.step.name}`, focal.step.at);
  return {
    ...p.common,
    kind: 'finetune',
    view,
    detector: out.call,
    assigner: assignerOf(mr, m.args),
    alpha: fr.number(focal.args.alpha, 'alpha', 0.25),
    gamma: fr.number(focal.args.gamma, 'gamma', 2),
    regression,
    lossNames: [focal.step.name, reg.step.name],
    lossWeights: [focal.step.weight, reg.step.weight],
    init: initClauseOf(p.name, p.clauses),
    evaluate: evaluateClauseOf(p.name, p.clauses),
  };
}
