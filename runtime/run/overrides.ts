// `--set PATH=VALUE` overrides of a plan (compiler/lower/plan.ts) before the runner executes it:
//   DECL.ARG=V            an argument of a declaration's block, e.g. `online.neck.channels=64`
//                         (nested blocks by their argument name, `>>` chains by block name:
//                         `ss.top.k=10`, `two_views.resize.short=[96]`)
//   STAGE.CLAUSE.ARG=V    a stage clause's argument, e.g. `pretrain.train.length=4iters`,
//                         `finetune.data.batch=4`, `finetune.optimize.optimizer.lr=0.02`
//   STAGE.STEP.weight=V   the weight of a loss term; STAGE.STEP.ARG=V a constant argument of a
//                         let/match/loss step (e.g. `pretrain.contrast.tau=0.2`).
// A value is a number, true/false, a quantity (`20iters`, `2 epochs`, `10%`), a JSON list or a
// string; it must have the same kind as the value it replaces, so a typo fails before any work.
// Flow: plan → **overrides** → runtime/run.

import type {
  ConfigValue,
  DeclarationPlan,
  ProgramPlan,
  StagePlan,
  StepPlan,
} from '../../compiler/lower/plan.js';
import { builtins } from '../../compiler/check/builtins/index.js';
import { clauseSignatures } from '../../compiler/check/builtins/stage.js';
import { OverrideError } from './errors.js';

type Obj = { readonly [key: string]: ConfigValue };

function isObj(v: ConfigValue | undefined): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const UNITS: Record<string, string> = {
  iter: 'iter',
  iters: 'iter',
  epoch: 'epoch',
  epochs: 'epoch',
  '%': 'percent',
};

/** The text of an override value as a config value. */
export function parseOverrideValue(text: string): ConfigValue {
  const t = text.trim();
  if (t === 'true' || t === 'false') return t === 'true';
  if (t !== '' && Number.isFinite(Number(t))) return Number(t);
  const q = /^(-?[0-9.eE+-]+)\s*(iters?|epochs?|%)$/.exec(t);
  if (q !== null && Number.isFinite(Number(q[1])))
    return { value: Number(q[1]), unit: UNITS[q[2]] };
  if (t.startsWith('[') || t.startsWith('"')) {
    try {
      return JSON.parse(t) as ConfigValue;
    } catch {
      throw new OverrideError(`cannot read the value ${t}`, {
        hint: 'lists are JSON, e.g. [96, 128]',
      });
    }
  }
  return t;
}

function kindOf(v: ConfigValue | undefined): string {
  if (v === undefined || v === null) return 'nothing';
  if (Array.isArray(v)) return 'list';
  if (isObj(v)) {
    if ('unit' in v) return 'quantity';
    if ('from' in v) return 'range';
    if ('block' in v) return 'block';
    if ('ref' in v) return 'reference';
    return 'object';
  }
  return typeof v;
}

/** `value` with the key path replaced; `where` names the path for errors. */
function setIn(
  value: ConfigValue,
  path: readonly string[],
  next: ConfigValue,
  where: string,
): ConfigValue {
  const [key, ...rest] = path;
  if (key === undefined) {
    // A missing optional argument takes any value; an existing one keeps its kind.
    const a = kindOf(value);
    const b = kindOf(next);
    const compatible = a === b || (a === 'list' && b === 'list') || a === 'nothing';
    if (!compatible)
      throw new OverrideError(`--set ${where}: the pipeline has a ${a} there, not a ${b}`);
    return next;
  }
  if (isObj(value) && Array.isArray(value.pipeline)) {
    const chain = value.pipeline as readonly ConfigValue[];
    const k = chain.findIndex((s) => isObj(s) && s.block === key);
    if (k < 0)
      throw new OverrideError(`--set ${where}: no ${key}(…) step in that chain`, {
        hint: `steps: ${chain.map((s) => (isObj(s) ? String(s.block) : '?')).join(', ')}`,
      });
    const copy = [...chain];
    copy[k] = setIn(chain[k], rest, next, where);
    return { ...value, pipeline: copy };
  }
  if (isObj(value) && isObj(value.args)) {
    // A block's missing optional argument may be set, but only one its signature has.
    const sig = typeof value.block === 'string' ? builtins.get(value.block) : undefined;
    if (sig !== undefined && !(key in value.args) && !sig.params.some((p) => p.name === key))
      throw new OverrideError(`--set ${where}: ${sig.name}(…) has no parameter ${key}`, {
        hint: `its parameters: ${sig.params.map((p) => p.name).join(', ')}`,
      });
    return { ...value, args: setIn(value.args, path, next, where) };
  }
  if (isObj(value)) {
    if (!(key in value) && rest.length > 0)
      throw new OverrideError(`--set ${where}: nothing named ${key} there`, {
        hint: `names: ${Object.keys(value).join(', ') || 'none'}`,
      });
    return { ...value, [key]: setIn(value[key] ?? null, rest, next, where) };
  }
  throw new OverrideError(
    `--set ${where}: ${key} is inside a ${kindOf(value)}, which has no parts`,
  );
}

function overrideStage(
  stage: StagePlan,
  path: readonly string[],
  next: ConfigValue,
  where: string,
): StagePlan {
  const [name, ...rest] = path;
  if (name === undefined || rest.length === 0)
    throw new OverrideError(
      `--set ${where}: name a clause or step of stage ${stage.name} and an argument`,
    );
  let found = false;
  const steps = stage.steps.map((s): StepPlan => {
    const stepName = s.op === 'clause' ? s.clause : s.name;
    if (stepName !== name) return s;
    found = true;
    if (s.op === 'loss' && rest.length === 1 && rest[0] === 'weight') {
      if (typeof next !== 'number') throw new OverrideError(`--set ${where}: a weight is a number`);
      return { ...s, weight: next };
    }
    if (s.op === 'clause') {
      // A clause's missing optional argument may be set, but only one its signature has.
      const params = (clauseSignatures[s.clause]?.params ?? []).map((p) => p.name);
      const [arg] = rest;
      if (isObj(s.args) && !(arg in s.args) && !params.includes(arg))
        throw new OverrideError(`--set ${where}: the ${s.clause} clause has no argument ${arg}`, {
          hint: `its arguments: ${params.join(', ') || 'none'}`,
        });
      return { ...s, args: setIn(s.args, rest, next, where) };
    }
    if (s.op === 'view') return { ...s, value: setIn(s.value, rest, next, where) };
    // let/match/loss: only the call's constant arguments (args of the planned call).
    if (!isObj(s.value) || !isObj(s.value.args))
      throw new OverrideError(`--set ${where}: ${s.op} ${s.name} has no arguments to set`);
    const args = s.value.args;
    if (rest.length !== 1 || typeof args[rest[0]] !== 'number')
      throw new OverrideError(
        `--set ${where}: only a number argument of ${s.op} ${s.name} can be set`,
        {
          hint: `its number arguments: ${
            Object.keys(args)
              .filter((k) => typeof args[k] === 'number')
              .join(', ') || 'none'
          }`,
        },
      );
    return { ...s, value: { ...s.value, args: setIn(args, rest, next, where) } };
  });
  if (!found)
    throw new OverrideError(
      `--set ${where}: stage ${stage.name} has no clause or step named ${name}`,
      {
        hint: `its clauses and steps: ${stage.steps.map((s) => (s.op === 'clause' ? s.clause : s.name)).join(', ')}`,
      },
    );
  return { ...stage, steps };
}

/** The plan with one `PATH=VALUE` override applied. */
export function applyOverride(plan: ProgramPlan, assignment: string): ProgramPlan {
  const eq = assignment.indexOf('=');
  if (eq <= 0)
    throw new OverrideError(`--set ${assignment}: expected NAME.PARAM=VALUE`, {
      hint: 'e.g. --set finetune.train.length=20iters or --set online.neck.channels=64',
    });
  const where = assignment.slice(0, eq).trim();
  const path = where.split('.');
  const next = parseOverrideValue(assignment.slice(eq + 1));
  const [head, ...rest] = path;
  if (rest.length === 0)
    throw new OverrideError(`--set ${where}: name a parameter inside ${head}, e.g. ${head}.PARAM`);
  const stage = plan.stages.find((s) => s.name === head);
  if (stage !== undefined)
    return {
      ...plan,
      stages: plan.stages.map((s) => (s === stage ? overrideStage(s, rest, next, where) : s)),
    };
  const decl = plan.declarations.find((d) => d.name === head);
  if (decl === undefined)
    throw new OverrideError(
      `--set ${where}: the pipeline has no declaration or stage named ${head}`,
      {
        hint: `names: ${[...plan.declarations.map((d) => d.name), ...plan.stages.map((s) => s.name)].join(', ')}`,
      },
    );
  const changed: DeclarationPlan = { ...decl, value: setIn(decl.value, rest, next, where) };
  return { ...plan, declarations: plan.declarations.map((d) => (d === decl ? changed : d)) };
}

export function applyOverrides(plan: ProgramPlan, assignments: readonly string[]): ProgramPlan {
  return assignments.reduce(applyOverride, plan);
}
