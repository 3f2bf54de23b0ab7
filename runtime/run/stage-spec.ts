// What each stage of a plan asks the runtime to do, recognised from its ordered steps: a
// **box-domain** stage (two views, the online detector and its `no_grad` EMA copy, `max_iou`
// matching of each view, `box_infonce` + `l1`) or a **supervised fine-tuning** stage (one view, a
// detector with class logits, `max_iou`, `sigmoid_focal` + `l1` or `giou_loss` on decoded deltas,
// optionally `init` from an earlier stage and `evaluate`; read by finetune-stage-spec.ts). Clauses
// become settings (data, optimizer, lr schedule in iterations, length, checkpoints, evaluation;
// `init` and `evaluate` are read by stage-clauses.ts). A stage of any other shape is refused with
// the step that does not fit and its `file:line:col`.
// Flow: plan (stages) → **stage specs** → runtime/train steps.

import type { ConfigValue, StagePlan, StepPlan } from '../../compiler/lower/plan.js';
import type { MaxIoUAssignerConfig } from '../detect/max-iou-assigner.js';
import type { RandomSamplerConfig } from '../detect/random-sampler.js';
import type { Schedule, Warmup } from '../optim/schedules.js';
import type { OptimizerSpec } from '../optim/train-step.js';
import { ConfigReader, type Quantity } from './config-values.js';
import { RunUnsupportedError } from './errors.js';
import { finetuneStageSpecOf, type FinetuneStage } from './finetune-stage-spec.js';
import { imageDomainSpecOf, type ImageDomainStage } from './image-domain-spec.js';
import { initClauseOf, type InitClause } from './stage-clauses.js';
import {
  fcosStageSpecOf,
  type FcosBoxDomainStage,
  type FcosFinetuneStage,
} from './fcos-stage-spec.js';

/** A length in iterations or epochs, resolved once the stage's batches per epoch are known. */
export type Length = Quantity;

export interface DataClause {
  readonly dataset: string;
  readonly proposals: string | undefined;
  readonly batch: number;
}

export interface LrPlan {
  readonly base: number;
  readonly warmup:
    { readonly length: Length; readonly ratio: number; readonly constant: boolean } | undefined;
  readonly schedule:
    | { readonly kind: 'constant' }
    | { readonly kind: 'step'; readonly at: readonly Length[]; readonly gamma: number }
    | { readonly kind: 'cosine'; readonly minRatio: number };
}

export interface CommonStage {
  readonly name: string;
  readonly at: string;
  readonly data: DataClause;
  readonly optimizer: OptimizerSpec;
  readonly clipNorm: number | undefined;
  readonly lr: LrPlan;
  readonly length: Length;
  readonly checkpointEvery: Length | undefined;
  readonly keepCheckpoints: number | undefined;
  readonly params: string;
}

export interface BoxDomainStage extends CommonStage {
  readonly kind: 'box_domain';
  readonly views: readonly [string, string];
  readonly online: string;
  readonly momentum: string;
  readonly assigner: MaxIoUAssignerConfig;
  readonly sample: number;
  readonly posFraction: number;
  /** `negatives: false`: sample positives only (no negatives fill the sample). */
  readonly negatives: boolean;
  readonly tau: number;
  /** The plan's names of the two loss terms (contrastive, regression). */
  readonly lossNames: readonly [string, string];
  /** `init online, from: image_domain_stage, …`: backbone weights of an earlier stage. */
  readonly init: InitClause | undefined;
}

export type { FinetuneStage } from './finetune-stage-spec.js';

export type StageSpec =
  BoxDomainStage | FinetuneStage | FcosFinetuneStage | FcosBoxDomainStage | ImageDomainStage;

export type Clause = Extract<StepPlan, { op: 'clause' }>;

export function argsOf(r: ConfigReader, v: ConfigValue): Readonly<Record<string, ConfigValue>> {
  if (typeof v === 'object' && v !== null && !Array.isArray(v))
    return v as Readonly<Record<string, ConfigValue>>;
  return r.fail(`expected named arguments, got ${JSON.stringify(v)}`);
}

/** The call and arguments of a `let`/`match`/`loss` step value (plan: {expr, call, args}). */
export function callOf(step: Exclude<StepPlan, Clause>): {
  call: string;
  args: Readonly<Record<string, ConfigValue>>;
  expr: string;
} {
  const v = step.value;
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const o = v as Readonly<Record<string, ConfigValue>>;
    const args = o.args;
    if (
      typeof o.call === 'string' &&
      typeof o.expr === 'string' &&
      typeof args === 'object' &&
      args !== null &&
      !Array.isArray(args)
    )
      return { call: o.call, args: args as Readonly<Record<string, ConfigValue>>, expr: o.expr };
  }
  throw new RunUnsupportedError(
    `${step.op} ${step.name}: the runner cannot execute this expression yet`,
    step.at,
    'a step must be one call, e.g. online(v1) or max_iou(…)',
  );
}

function optimizerOf(
  r: ConfigReader,
  v: ConfigValue | undefined,
): { spec: OptimizerSpec; lr: number } {
  const b = r.block(v, 'optimizer');
  switch (b.block) {
    case 'sgd':
      r.onlyArgs(b, ['lr', 'momentum', 'weight_decay']);
      return {
        spec: {
          kind: 'sgd',
          momentum: r.number(b.args.momentum, 'momentum', 0),
          weightDecay: r.number(b.args.weight_decay, 'weight_decay', 0),
        },
        lr: r.number(b.args.lr, 'lr'),
      };
    case 'adamw': {
      r.onlyArgs(b, ['lr', 'betas', 'weight_decay', 'eps']);
      const betas = b.args.betas === undefined ? [0.9, 0.999] : r.numbers(b.args.betas, 'betas');
      return {
        spec: {
          kind: 'adamw',
          beta1: betas[0],
          beta2: betas[1],
          eps: r.number(b.args.eps, 'eps', 1e-8),
          weightDecay: r.number(b.args.weight_decay, 'weight_decay', 0.01),
        },
        lr: r.number(b.args.lr, 'lr'),
      };
    }
    default:
      return r.fail(`optimizer ${b.block}(…) is not supported`);
  }
}

function lrOf(r: ConfigReader, args: Readonly<Record<string, ConfigValue>>, base: number): LrPlan {
  let warmup: LrPlan['warmup'];
  if (args.warmup !== undefined) {
    const w = r.block(args.warmup, 'warmup');
    if (w.block !== 'linear_warmup' && w.block !== 'constant_warmup')
      throw new RunUnsupportedError(
        `${r.what}: ${w.block}(…) warmup is not supported yet`,
        r.at,
        'use linear_warmup(…) or constant_warmup(…)',
      );
    warmup = {
      length: r.quantity(w.args.length, 'warmup length'),
      ratio: r.number(w.args.ratio, 'ratio', 0.001),
      constant: w.block === 'constant_warmup',
    };
  }
  let schedule: LrPlan['schedule'] = { kind: 'constant' };
  if (args.schedule !== undefined) {
    const s = r.block(args.schedule, 'schedule');
    if (s.block === 'step_lr')
      schedule = {
        kind: 'step',
        at: r.list(s.args.at, 'at').map((q) => r.quantity(q, 'milestone')),
        gamma: r.number(s.args.gamma, 'gamma', 0.1),
      };
    else if (s.block === 'cosine_lr')
      schedule = { kind: 'cosine', minRatio: r.number(s.args.min_ratio, 'min_ratio', 0) };
    else r.fail(`lr schedule ${s.block}(…) is not supported`);
  }
  return { base, warmup, schedule };
}

/** The named arguments of `max_iou(…)` the runner reads. */
const MAX_IOU_SETTINGS = [
  'pos',
  'neg',
  'min_pos',
  'low_quality',
  'sample',
  'pos_fraction',
  'negatives',
] as const;

function matchSettings(args: Readonly<Record<string, ConfigValue>>): string {
  return JSON.stringify(MAX_IOU_SETTINGS.map((k) => args[k] ?? null));
}

/**
 * The random sampler of a RetinaNet box-domain stage (mmdet RandomSampler): `sample` per image, at
 * most `pos_fraction` of them positives; negatives fill the rest (no neg/pos bound), or none with
 * `negatives: false`.
 */
export function boxDomainSamplerOf(stage: BoxDomainStage): RandomSamplerConfig {
  return { num: stage.sample, posFraction: stage.posFraction, negPosUb: stage.negatives ? -1 : 0 };
}

export function assignerOf(
  r: ConfigReader,
  args: Readonly<Record<string, ConfigValue>>,
): MaxIoUAssignerConfig {
  return {
    posIouThr: r.number(args.pos, 'pos', 0.5),
    negIouThr: r.number(args.neg, 'neg', 0.4),
    minPosIou: r.number(args.min_pos, 'min_pos', 0),
    matchLowQuality: r.boolean(args.low_quality, 'low_quality', true),
  };
}

/**
 * The online and momentum detectors of a two-view stage: `let q = online(v1)` and
 * `let k = no_grad(momentum(v2))` with `momentum` an `ema(…)` declaration. Lets that call one of
 * `helpers` (derived target tensors) are not branches.
 */
export function boxDomainBranchesOf(
  stage: StagePlan,
  lets: readonly Extract<StepPlan, { op: 'let' }>[],
  emaNames: ReadonlySet<string>,
  helpers: ReadonlySet<string> = new Set(),
): { online: string; momentum: string } {
  const byCall = lets
    .filter((l) => !helpers.has(String((l.value as { call?: unknown } | null)?.call)))
    .map((l) => ({ step: l, ...callOf(l) }));
  const momentumLet = byCall.find((l) => l.call === 'no_grad');
  const onlineLet = byCall.find((l) => l.call !== 'no_grad');
  if (momentumLet === undefined || onlineLet === undefined)
    throw new RunUnsupportedError(
      `stage ${stage.name}: a box-domain stage needs \`let q = online(v1)\` and \`let k = no_grad(momentum(v2))\``,
      stage.at,
    );
  const momentum = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(/.exec(String(momentumLet.args['0']))?.[1];
  if (momentum === undefined || !emaNames.has(momentum))
    throw new RunUnsupportedError(
      `stage ${stage.name}: let ${momentumLet.step.name} must call an ema(…) detector under no_grad`,
      momentumLet.step.at,
    );
  return { online: onlineLet.call, momentum };
}

/** Reads one stage of the plan; `emaNames` are the declared `ema(…)` detectors. */
/**
 * The stage the runner recognised, refused when one of its steps calls a function defined outside
 * pipelines/std (the plan lists them per expression): the runner recognises its stage kinds by the
 * std functions they call and executes its own lowering of those, so the pipeline's function
 * would silently not run — a pipeline's own `fn box_infonce` would be replaced by std's. Such
 * functions run in `alignc grad` and `alignc check-grad`.
 */
export function stageSpecOf(stage: StagePlan, emaNames: ReadonlySet<string>): StageSpec {
  const spec = recognisedStageSpecOf(stage, emaNames);
  for (const step of stage.steps) {
    if (step.op === 'clause') continue;
    const v = step.value;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) continue;
    const own = (v as Readonly<Record<string, ConfigValue>>).ownFunctions;
    if (!Array.isArray(own) || own.length === 0) continue;
    throw new RunUnsupportedError(
      `${step.op} ${step.name}: calls ${own.join(', ')}, defined by this pipeline; alignc run executes this ${spec.kind} stage with its own lowering of the std functions it calls (pipelines/std), so yours would not run`,
      step.at,
      'call the std functions; `alignc check-grad FILE --fn NAME` and `alignc grad` run your function',
    );
  }
  return spec;
}

function recognisedStageSpecOf(stage: StagePlan, emaNames: ReadonlySet<string>): StageSpec {
  const r = new ConfigReader(`stage ${stage.name}`, stage.at);
  const clauses = new Map<string, Clause>();
  const views: Extract<StepPlan, { op: 'view' }>[] = [];
  const lets: Extract<StepPlan, { op: 'let' }>[] = [];
  const matches: Extract<StepPlan, { op: 'match' }>[] = [];
  const losses: Extract<StepPlan, { op: 'loss' }>[] = [];
  for (const step of stage.steps) {
    switch (step.op) {
      case 'clause':
        if (step.clause !== 'report') clauses.set(step.clause, step);
        break;
      case 'view':
        views.push(step);
        break;
      case 'let':
        lets.push(step);
        break;
      case 'match':
        matches.push(step);
        break;
      case 'loss':
        losses.push(step);
        break;
      default:
        return step satisfies never;
    }
  }
  const clause = (name: string): Clause => {
    const c = clauses.get(name);
    if (c === undefined) return r.fail(`has no ${name} clause`);
    return c;
  };
  const clauseReader = (c: Clause) => new ConfigReader(`stage ${stage.name}, ${c.clause}`, c.at);
  const dataStep = clause('data');
  const dr = clauseReader(dataStep);
  const dataArgs = argsOf(dr, dataStep.args);
  if (dataArgs.group_aspect === true || dataArgs.shuffle === false || dataArgs.seed !== undefined)
    throw new RunUnsupportedError(
      `stage ${stage.name}: data(shuffle / seed / group_aspect) are not supported yet`,
      dataStep.at,
      'the loader shuffles every epoch from the run seed (--seed)',
    );
  const data: DataClause = {
    dataset: dr.ref(dataArgs.dataset, 'dataset'),
    proposals:
      dataArgs.proposals === undefined ? undefined : dr.ref(dataArgs.proposals, 'proposals'),
    batch: dr.integer(dataArgs.batch, 'batch'),
  };
  const optStep = clause('optimize');
  const or = clauseReader(optStep);
  const optArgs = argsOf(or, optStep.args);
  const opt = optimizerOf(or, optArgs.optimizer);
  const trainStep = clause('train');
  const tr = clauseReader(trainStep);
  const ckpt = clauses.get('checkpoint');
  const ckptArgs = ckpt === undefined ? undefined : argsOf(clauseReader(ckpt), ckpt.args);
  const common: CommonStage = {
    name: stage.name,
    at: stage.at,
    data,
    optimizer: opt.spec,
    clipNorm: or.optionalNumber(optArgs.clip, 'clip'),
    lr: lrOf(or, optArgs, opt.lr),
    length: tr.quantity(argsOf(tr, trainStep.args).length, 'length'),
    checkpointEvery:
      ckptArgs?.every === undefined
        ? undefined
        : clauseReader(ckpt!).quantity(ckptArgs.every, 'every'),
    keepCheckpoints:
      ckptArgs?.keep === undefined ? undefined : clauseReader(ckpt!).integer(ckptArgs.keep, 'keep'),
    params: or.ref(optArgs.params, 'params'),
  };
  const lossCalls = losses.map((l) => ({ step: l, ...callOf(l) }));
  const calls = lossCalls
    .map((l) => l.call)
    .sort()
    .join(' + ');
  const lossOf = (name: string) => {
    const l = lossCalls.find((x) => x.call === name);
    if (l === undefined) return r.fail(`has no ${name} loss`);
    return l;
  };
  if (matches.some((m) => (m.value as { call?: unknown } | null)?.call === 'fcos_assign'))
    return fcosStageSpecOf({
      stage,
      common,
      views,
      lets,
      matches,
      losses: lossCalls,
      clauses,
      emaNames,
    });
  if (views.length === 2 && calls === 'box_infonce + l1') {
    const [v1, v2] = views.map((v) =>
      new ConfigReader(`view ${v.name}`, v.at).ref(v.value, 'view'),
    );
    const { online, momentum } = boxDomainBranchesOf(stage, lets, emaNames);
    const contrast = lossOf('box_infonce');
    const reg = lossOf('l1');
    for (const l of [contrast, reg])
      if (l.step.weight !== 1)
        throw new RunUnsupportedError(
          `stage ${stage.name}: loss ${l.step.name} has weight ${l.step.weight}; the box-domain step weighs both terms 1`,
          l.step.at,
        );
    const [mq, mk] = matches.map((m) => ({ step: m, ...callOf(m) }));
    if (mq === undefined || mq.call !== 'max_iou')
      return r.fail('a box-domain stage needs max_iou(…) matching');
    // One assigner and sampler serve both views (the step matches each view with mq's settings).
    if (mk !== undefined && matchSettings(mk.args) !== matchSettings(mq.args))
      throw new RunUnsupportedError(
        `match ${mk.step.name}: the two views' max_iou(…) must have the same settings as match ${mq.step.name} (${MAX_IOU_SETTINGS.join(', ')})`,
        mk.step.at,
      );
    const mr = new ConfigReader(`match ${mq.step.name}`, mq.step.at);
    const sample = mr.integer(mq.args.sample, 'sample', 0);
    if (sample <= 0)
      throw new RunUnsupportedError(
        `match ${mq.step.name}: box-domain matching needs sample: N > 0 (anchors sampled per image)`,
        mq.step.at,
      );
    return {
      ...common,
      kind: 'box_domain',
      init: initClauseOf(stage.name, clauses),
      views: [v1, v2],
      online,
      momentum,
      assigner: assignerOf(mr, mq.args),
      sample,
      posFraction: mr.number(mq.args.pos_fraction, 'pos_fraction', 1),
      negatives: mr.boolean(mq.args.negatives, 'negatives', true),
      tau: new ConfigReader(`loss ${contrast.step.name}`, contrast.step.at).number(
        contrast.args.tau,
        'tau',
        0.5,
      ),
      lossNames: [contrast.step.name, reg.step.name],
    };
  }
  if (
    views.length === 1 &&
    (calls === 'l1 + sigmoid_focal' || calls === 'giou_loss + sigmoid_focal')
  )
    return finetuneStageSpecOf({
      name: stage.name,
      at: stage.at,
      common,
      view: views[0],
      lets,
      matches,
      losses: lossCalls,
      clauses,
    });
  if (views.length === 2 && lossCalls.length > 0 && lossCalls.every((l) => l.call === 'byol'))
    return imageDomainSpecOf(
      stage,
      common,
      views.map((v) => ({
        name: v.name,
        view: new ConfigReader(`view ${v.name}`, v.at).ref(v.value, 'view'),
      })),
      lets.map((l) => ({ step: l, ...callOf(l) })),
      lossCalls,
      initClauseOf(stage.name, clauses),
      emaNames,
    );
  throw new RunUnsupportedError(
    `stage ${stage.name}: the runner executes image-domain stages (two views, byol), box-domain stages (two views, box_infonce + l1) and ` +
      `supervised RetinaNet stages (one view, sigmoid_focal + l1 or giou_loss); this stage has ${views.length} ` +
      `view(s) and losses ${calls || 'none'}`,
    stage.at,
    'FCOS stages match with fcos_assign(…), image-domain stages use byol(…) losses; MoCo, Faster R-CNN and DETR stages are not wired to the runner yet',
  );
}

/** A length in iterations, given the stage's batches per epoch. */
export function iterationsOf(length: Length, batchesPerEpoch: number): number {
  return length.unit === 'epoch'
    ? Math.round(length.value * batchesPerEpoch)
    : Math.round(length.value);
}

/** The loop's lr schedule (runtime/optim/schedules.ts) of a stage in iterations. */
export function lrScheduleOf(
  lr: LrPlan,
  totalSteps: number,
  batchesPerEpoch: number,
): { base: number; schedule: Schedule; warmup?: Warmup } {
  const it = (q: Length) => iterationsOf(q, batchesPerEpoch);
  let schedule: Schedule;
  switch (lr.schedule.kind) {
    case 'constant':
      schedule = { kind: 'constant' };
      break;
    case 'step':
      schedule = { kind: 'step', milestones: lr.schedule.at.map(it), gamma: lr.schedule.gamma };
      break;
    case 'cosine':
      schedule = { kind: 'cosine', total: totalSteps, min: lr.base * lr.schedule.minRatio };
      break;
    default:
      return lr.schedule satisfies never;
  }
  return {
    base: lr.base,
    schedule,
    ...(lr.warmup === undefined
      ? {}
      : {
          warmup: {
            iterations: it(lr.warmup.length),
            startFactor: lr.warmup.ratio,
            ...(lr.warmup.constant ? { kind: 'constant' as const } : {}),
          },
        }),
  };
}
