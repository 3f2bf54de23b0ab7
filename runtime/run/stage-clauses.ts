// The `init` and `evaluate` clauses of a stage, read from the plan's clause steps: `init` carries
// an earlier stage's checkpoint weights into a detector (`from:`, `source:`, `drop:`), `evaluate`
// asks for COCO mAP of the fine-tuned detector on a dataset (`every:`, `max_dets`). Shared by every
// stage kind that takes them (stage-spec.ts, fcos-stage-spec.ts, image-domain-spec.ts); anything
// not supported yet is refused with the clause's `file:line:col`.
// Flow: plan (stage clauses) → **stage clauses** → stage specs → stage runtime.

import { ConfigReader, type Quantity } from './config-values.js';
import { RunUnsupportedError } from './errors.js';
import { argsOf, type Clause } from './stage-spec.js';

export interface EvaluateClause {
  readonly detector: string;
  readonly dataset: string;
  readonly every: Quantity | undefined;
  readonly maxDets: number;
  readonly at: string;
}

export interface InitClause {
  readonly detector: string;
  readonly fromStage: string;
  readonly source: string | undefined;
  readonly drop: readonly string[];
  readonly at: string;
}

/** The `init` clause of a stage, if any (`from:` an earlier stage of the pipeline only). */
export function initClauseOf(
  stageName: string,
  clauses: ReadonlyMap<string, Clause>,
): InitClause | undefined {
  const initStep = clauses.get('init');
  if (initStep === undefined) return undefined;
  const ir = new ConfigReader(`stage ${stageName}, init`, initStep.at);
  const a = argsOf(ir, initStep.args);
  if (!ir.isRef(a.from))
    throw new RunUnsupportedError(
      `stage ${stageName}: init from a checkpoint file is not supported yet`,
      initStep.at,
      'init from an earlier stage of the pipeline',
    );
  return {
    detector: ir.ref(a.detector, 'detector'),
    fromStage: ir.ref(a.from, 'from'),
    source: a.source === undefined ? undefined : ir.ref(a.source, 'source'),
    drop: a.drop === undefined ? [] : ir.strings(a.drop, 'drop'),
    at: initStep.at,
  };
}

/** The `evaluate` clause of a supervised stage, if any (COCO mAP only). */
export function evaluateClauseOf(
  stageName: string,
  clauses: ReadonlyMap<string, Clause>,
): EvaluateClause | undefined {
  const evalStep = clauses.get('evaluate');
  if (evalStep === undefined) return undefined;
  const er = new ConfigReader(`stage ${stageName}, evaluate`, evalStep.at);
  const a = argsOf(er, evalStep.args);
  const metric = er.block(a.metric, 'metric');
  if (metric.block !== 'coco_map')
    throw new RunUnsupportedError(
      `stage ${stageName}: metric ${metric.block}(…) is not supported yet`,
      evalStep.at,
      'use coco_map()',
    );
  return {
    detector: er.ref(a.detector, 'detector'),
    dataset: er.ref(a.data, 'data'),
    every: a.every === undefined ? undefined : er.quantity(a.every, 'every'),
    maxDets: er.integer(metric.args.max_dets, 'max_dets', 100),
    at: evalStep.at,
  };
}
