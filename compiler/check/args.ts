// Matching call arguments to parameters, for built-ins, stage clauses and user functions alike:
// positional then named, variadic tails, unknown names ("did you mean `lr`?"), duplicates,
// missing required parameters, and the type and range checks of built-in parameters.
// Part of compiler/check; the expression checker calls it for every call and clause.

import { suggest as closest } from './suggest.js';
import type { Arg } from '../../grammar/ast.js';
import type { SourceSpan } from '../../runtime/errors.js';
import {
  accepts,
  argTypeMessage,
  knownNumbers,
  type BoundArgs,
  type ParamSig,
} from './builtins/spec.js';
import type { CheckState } from './state.js';
import type { AlignType } from './types.js';

export interface ParamShape {
  readonly name: string;
  readonly required: boolean;
  readonly variadic: boolean;
}

/** Which arguments go to which parameter; problems are reported, and the match is best effort. */
export function matchArgs(
  callee: string,
  params: readonly ParamShape[],
  args: readonly Arg[],
  callSpan: SourceSpan,
  state: CheckState,
): Map<string, Arg[]> {
  const byParam = new Map<string, Arg[]>();
  const names = params.map((p) => p.name);
  let positional = 0;
  let sawNamed = false;
  /** Parameters a misspelt name was probably meant for: not reported missing as well. */
  const suggested = new Set<string>();
  for (const arg of args) {
    if (arg.name === undefined) {
      if (sawNamed) {
        state.report(
          'E_TOO_MANY_ARGS',
          `a positional argument cannot follow named ones in \`${callee}\``,
          arg.span,
          {
            hint: 'name this argument too',
          },
        );
        continue;
      }
      const p = params[Math.min(positional, params.length - 1)];
      if (p === undefined || (positional >= params.length && !p.variadic)) {
        state.report(
          'E_TOO_MANY_ARGS',
          `\`${callee}\` takes at most ${params.length} positional argument${params.length === 1 ? '' : 's'}`,
          arg.span,
          { hint: params.length > 0 ? `parameters: ${names.join(', ')}` : undefined },
        );
        continue;
      }
      byParam.set(p.name, [...(byParam.get(p.name) ?? []), arg]);
      if (!p.variadic) positional++;
      continue;
    }
    sawNamed = true;
    const name = arg.name.name;
    const p = params.find((q) => q.name === name);
    if (!p) {
      const near = closest(
        name,
        names.filter((n) => !byParam.has(n)),
      );
      if (near) suggested.add(near);
      state.report(
        'E_UNKNOWN_PARAM',
        `unknown parameter \`${name}\` of \`${callee}\`${near ? `; did you mean \`${near}\`?` : ''}`,
        arg.name.span,
        {
          hint:
            names.length > 0
              ? `parameters: ${names.join(', ')}`
              : `\`${callee}\` takes no parameters`,
        },
      );
      continue;
    }
    if (byParam.has(name)) {
      state.report('E_DUPLICATE_ARG', `\`${name}\` is given twice to \`${callee}\``, arg.span);
      continue;
    }
    byParam.set(name, [arg]);
  }
  for (const p of params) {
    if (p.required && !byParam.has(p.name) && !suggested.has(p.name)) {
      state.report('E_MISSING_ARG', `\`${callee}\` needs \`${p.name}\``, callSpan, {
        hint: `add \`${p.name}: …\``,
      });
    }
  }
  return byParam;
}

function rangeText(p: ParamSig): string {
  if (p.min !== undefined && p.max !== undefined) return `between ${p.min} and ${p.max}`;
  if (p.min !== undefined) return `at least ${p.min}`;
  return `at most ${p.max}`;
}

/** Type- and range-checks already-typed arguments against built-in parameters. */
export function bindBuiltinArgs(
  callee: string,
  params: readonly ParamSig[],
  args: readonly Arg[],
  callSpan: SourceSpan,
  typeOf: (arg: Arg) => AlignType,
  state: CheckState,
): BoundArgs {
  const shapes = params.map((p) => ({
    name: p.name,
    required: p.required ?? false,
    variadic: p.variadic ?? false,
  }));
  const matched = matchArgs(callee, shapes, args, callSpan, state);
  const types = new Map<string, AlignType[]>();
  const spans = new Map<string, SourceSpan>();
  for (const p of params) {
    const given = matched.get(p.name) ?? [];
    const ok: AlignType[] = [];
    for (const arg of given) {
      const t = typeOf(arg);
      if (!accepts(p.type, t)) {
        state.report('E_ARG_TYPE', argTypeMessage(callee, p, t), arg.value.span);
        continue;
      }
      const outside = knownNumbers(t).find(
        (v) => (p.min !== undefined && v < p.min) || (p.max !== undefined && v > p.max),
      );
      if (outside !== undefined) {
        state.report(
          'E_ARG_RANGE',
          `\`${p.name}\` of \`${callee}\` must be ${rangeText(p)}, got ${outside}`,
          arg.value.span,
          { hint: p.doc },
        );
      }
      ok.push(t);
    }
    if (ok.length > 0) types.set(p.name, ok);
    if (given[0]) spans.set(p.name, given[0].value.span);
  }
  return {
    get: (name) => types.get(name)?.[0],
    all: (name) => types.get(name) ?? [],
    span: (name) => spans.get(name),
  };
}
