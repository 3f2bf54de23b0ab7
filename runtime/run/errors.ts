// Errors of the plan executor (runtime/run, `alignc run`): a pipeline whose plan the runner cannot
// execute — a block or stage shape it does not support yet, a bad `--set` override, a stage that
// needs an earlier stage's checkpoint that is not there. Each names the plan item and, where the
// plan has one, its `file:line:col`. Flow: plan → **runner** → runtime.

import { AlignError, type SourceSpan } from '../errors.js';

/** The span of a plan's `at` string (`file:line:col`), for AlignError's location prefix. */
export function spanOfAt(at: string | undefined): SourceSpan | undefined {
  if (at === undefined) return undefined;
  const m = /^(.*):(\d+):(\d+)$/.exec(at);
  if (m === null) return undefined;
  const position = { line: Number(m[2]), column: Number(m[3]), offset: 0 };
  return { file: m[1], start: position, end: position };
}

/** A block, clause or stage shape this build of the runner cannot execute. */
export class RunUnsupportedError extends AlignError {
  readonly code = 'E_RUN_UNSUPPORTED';
  constructor(message: string, at?: string, hint?: string) {
    const span = spanOfAt(at);
    super(message, {
      ...(span === undefined ? {} : { span }),
      ...(hint === undefined ? {} : { hint }),
    });
  }
}

/** A plan value the runner cannot use as written (wrong shape, out of range, missing). */
export class RunPlanError extends AlignError {
  readonly code = 'E_RUN_PLAN';
  constructor(message: string, at?: string, hint?: string) {
    const span = spanOfAt(at);
    super(message, {
      ...(span === undefined ? {} : { span }),
      ...(hint === undefined ? {} : { hint }),
    });
  }
}

/** A `--set decl.param=value` override that names nothing or does not parse. */
export class OverrideError extends AlignError {
  readonly code = 'E_RUN_OVERRIDE';
}
