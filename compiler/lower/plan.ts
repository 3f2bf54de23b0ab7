// The program plan: a checked `.align` program (compiler/check) lowered to plain configuration data
// that the runtime executes — each top-level declaration evaluated to a config value (built-in
// block calls with their arguments bound to parameter names, `>>` chains as ordered pipelines,
// consts folded, references to other declarations by name), and each stage as its ordered steps
// (data, views, forward passes, matches, loss terms with weights, optimizer, length, checkpoints,
// evaluation). Tensor expressions inside stages stay expressions: their source text and checked
// type travel with them, and the runner lowers them to IR per step. Flow: checked AST →
// **compiler/lower (plan)** → runtime. `alignc compile --emit plan` prints it as JSON.

import { dirname, resolve, sep } from 'node:path';
import type * as A from '../../grammar/ast.js';
import { callsIn } from '../../grammar/ast-walk.js';
import { builtins } from '../check/builtins/index.js';
import { clauseSignatures } from '../check/builtins/stage.js';
import type { CheckedProgram } from '../check/index.js';
import type { LoadedModule } from '../check/modules.js';
import { showType, type AlignType } from '../check/types.js';
import { formatSpan } from '../../runtime/errors.js';
import { stdModulePath } from './functions.js';

/** A configuration value: JSON data. */
export type ConfigValue =
  | number
  | string
  | boolean
  | null
  | readonly ConfigValue[]
  | { readonly [key: string]: ConfigValue };

export interface DeclarationPlan {
  readonly name: string;
  readonly kind: A.ValueDeclKind;
  readonly value: ConfigValue;
  /** `file:line:col` of the declaration. */
  readonly at: string;
}

export type StepPlan =
  | {
      readonly op: 'clause';
      readonly clause: A.ClauseKind;
      readonly args: ConfigValue;
      readonly at: string;
    }
  | { readonly op: 'view'; readonly name: string; readonly value: ConfigValue; readonly at: string }
  | { readonly op: 'let'; readonly name: string; readonly value: ConfigValue; readonly at: string }
  | {
      readonly op: 'match';
      readonly name: string;
      readonly value: ConfigValue;
      readonly at: string;
    }
  | {
      readonly op: 'loss';
      readonly name: string;
      readonly value: ConfigValue;
      readonly weight: number;
      readonly at: string;
    };

export interface StagePlan {
  readonly name: string;
  readonly at: string;
  readonly steps: readonly StepPlan[];
}

export interface ProgramPlan {
  readonly file: string;
  /** Every declaration the entry file can see, dependencies first. */
  readonly declarations: readonly DeclarationPlan[];
  readonly functions: readonly string[];
  readonly stages: readonly StagePlan[];
}

const STD_DIR = dirname(stdModulePath(['std', 'losses']));

function isStdFile(file: string): boolean {
  return resolve(file).startsWith(STD_DIR + sep);
}

/** Lowers the entry file of a checked program (which must have no diagnostics) to its plan. */
export function planProgram(program: CheckedProgram): ProgramPlan {
  const entry = program.entries[0];
  if (!entry?.ast) throw new Error('internal: planProgram needs a checked entry module');
  const declarations: DeclarationPlan[] = [];
  const functions: string[] = [];
  const constants = new Map<string, ConfigValue>();
  for (const module of program.modules) {
    const evaluate = new ConfigEvaluator(program, module, constants);
    for (const item of module.ast?.items ?? []) {
      if (item.kind === 'FnDecl') functions.push(item.name.name);
      if (item.kind !== 'ValueDecl') continue;
      const value = evaluate.value(item.value);
      if (item.declKind === 'const') constants.set(item.name.name, value);
      declarations.push({
        name: item.name.name,
        kind: item.declKind,
        value,
        at: formatSpan(item.name.span),
      });
    }
  }
  const evaluate = new ConfigEvaluator(program, entry, constants);
  const stages = entry.ast.items
    .filter((i): i is A.StageDecl => i.kind === 'StageDecl')
    .map((stage) => ({
      name: stage.name.name,
      at: formatSpan(stage.name.span),
      steps: stage.body.map((s) => evaluate.step(s)),
    }));
  return { file: entry.file, declarations, functions, stages };
}

class ConfigEvaluator {
  constructor(
    readonly program: CheckedProgram,
    readonly module: LoadedModule,
    readonly constants: ReadonlyMap<string, ConfigValue>,
  ) {}

  step(s: A.StageStmt): StepPlan {
    const at = formatSpan(s.span);
    switch (s.kind) {
      case 'Clause':
        return {
          op: 'clause',
          clause: s.clause,
          args: this.args(
            s.args,
            (clauseSignatures[s.clause]?.params ?? []).map((p) => p.name),
          ),
          at,
        };
      case 'ViewBind':
        return { op: 'view', name: s.name.name, value: this.value(s.value), at };
      case 'Let':
        return { op: 'let', name: s.name.name, value: this.tensorExpr(s.value), at };
      case 'Match':
        return { op: 'match', name: s.name.name, value: this.tensorExpr(s.value), at };
      case 'Loss': {
        const weightArg = s.args.find((a) => a.name?.name === 'weight');
        const weight = weightArg ? this.value(weightArg.value) : 1;
        return {
          op: 'loss',
          name: s.name.name,
          value: this.tensorExpr(s.value),
          weight: typeof weight === 'number' ? weight : 1,
          at,
        };
      }
      default:
        return s satisfies never;
    }
  }

  /** A stage expression: its call structure where it is a call, with source text and type. */
  tensorExpr(e: A.Expr): ConfigValue {
    const type = this.program.types.get(e);
    const own = this.ownFunctionCalls(e);
    const base = {
      expr: this.source(e),
      type: type ? showType(type) : 'unknown',
      ...(own.length === 0 ? {} : { ownFunctions: own }),
    };
    if (e.kind !== 'Call' || e.callee.kind !== 'Name') return base;
    return {
      ...base,
      call: e.callee.name,
      args: Object.fromEntries(
        e.args.map((a, i) => [a.name?.name ?? String(i), this.argValue(a.value)]),
      ),
    };
  }

  /**
   * The functions outside pipelines/std that `e` calls, as `name (file:line:col)` of their
   * definitions: the runner executes its stage kinds with std's functions, so it must refuse these
   * rather than run std's namesakes (a pipeline may define its own `box_infonce`).
   */
  ownFunctionCalls(e: A.Expr): string[] {
    const found = new Set<string>();
    for (const call of callsIn(e)) {
      const definition = this.definitionOf(call.callee);
      if (definition !== undefined && !isStdFile(definition.file))
        found.add(`${this.source(call.callee)} (${definition.at})`);
    }
    return [...found];
  }

  /** Where the function `callee` names (a name, or `module.name`) is defined, if it is one. */
  definitionOf(callee: A.Expr): { file: string; at: string } | undefined {
    if (callee.kind === 'Name') {
      const symbol = this.program.symbols.get(callee);
      if (symbol?.kind !== 'fn') return undefined;
      return { file: symbol.file, at: formatSpan(symbol.decl.name.span) };
    }
    if (callee.kind === 'Member' && callee.target.kind === 'Name') {
      const symbol = this.program.symbols.get(callee.target);
      if (symbol?.kind !== 'module') return undefined;
      return { file: symbol.file, at: symbol.file };
    }
    return undefined;
  }

  argValue(e: A.Expr): ConfigValue {
    const type = this.program.types.get(e);
    return type && isConfigType(type) ? this.value(e) : this.source(e);
  }

  source(e: A.Expr): string {
    return this.module.text.slice(e.span.start.offset, e.span.end.offset);
  }

  args(args: readonly A.Arg[], paramNames: readonly string[]): ConfigValue {
    const out: Record<string, ConfigValue> = {};
    let position = 0;
    const variadic: ConfigValue[] = [];
    for (const a of args) {
      const value = this.value(a.value);
      if (a.name) {
        out[a.name.name] = value;
        continue;
      }
      const name = paramNames[Math.min(position, paramNames.length - 1)] ?? String(position);
      if (position >= paramNames.length - 1 && paramNames.length > 0 && out[name] !== undefined) {
        variadic.push(value);
      } else out[name] = value;
      position++;
    }
    if (variadic.length > 0) {
      const last = paramNames[paramNames.length - 1];
      out[last] = [out[last], ...variadic];
    }
    return out;
  }

  value(e: A.Expr): ConfigValue {
    switch (e.kind) {
      case 'Number':
        return e.unit ? { value: e.value, unit: e.unit } : e.value;
      case 'String':
        return e.value;
      case 'Bool':
        return e.value;
      case 'Paren':
        return this.value(e.inner);
      case 'List':
        return e.items.map((item) => this.value(item));
      case 'Unary': {
        const inner = this.value(e.operand);
        if (e.op === '-' && typeof inner === 'number') return -inner;
        return { expr: this.source(e) };
      }
      case 'Binary': {
        if (e.op === '>>')
          return { pipeline: [...this.pipeline(e.left), ...this.pipeline(e.right)] };
        if (e.op === '..') return { from: this.value(e.left), to: this.value(e.right) };
        const type = this.program.types.get(e);
        if (type?.kind === 'number' && type.value !== undefined) return type.value;
        return { expr: this.source(e) };
      }
      case 'Name': {
        const folded = this.constants.get(e.name);
        if (folded !== undefined) return folded;
        const type = this.program.types.get(e);
        if (type?.kind === 'number' && type.value !== undefined) return type.value;
        return { ref: e.name };
      }
      case 'Call': {
        if (e.callee.kind !== 'Name') return { expr: this.source(e) };
        const sig = builtins.get(e.callee.name);
        const params = sig ? sig.params.map((p) => p.name) : [];
        return { block: e.callee.name, args: this.args(e.args, params) };
      }
      case 'Member':
      case 'Index':
      case 'Reduce':
      case 'Cast':
        return { expr: this.source(e) };
      default:
        return e satisfies never;
    }
  }

  pipeline(e: A.Expr): ConfigValue[] {
    const v = this.value(e);
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && 'pipeline' in v) {
      return [...(v as { pipeline: readonly ConfigValue[] }).pipeline];
    }
    return [v];
  }
}

function isConfigType(t: AlignType): boolean {
  switch (t.kind) {
    case 'number':
    case 'string':
    case 'boolean':
    case 'quantity':
    case 'range':
    case 'value':
      return true;
    case 'list':
      return t.items.every(isConfigType);
    case 'tensor':
    case 'detector':
    case 'record':
    case 'fn':
    case 'builtin':
    case 'stage':
    case 'module':
    case 'unknown':
      return false;
    default:
      return t satisfies never;
  }
}
