// Checking one `stage` (compiler/check): its clauses against their signature tables, views bound
// to augmentation pipelines, detector forward passes, matchers, named loss terms (each a scalar
// f32) with weights, and the stage-level rules (a stage with losses needs data, an optimizer and a
// length; an EMA copy is never optimized; `init … from:` names an earlier stage).

import type * as A from '../../grammar/ast.js';
import { bindBuiltinArgs } from './args.js';
import { clauseSignatures, sampleRecord } from './builtins/stage.js';
import { spec } from './builtins/spec.js';
import { checkLet } from './check-fn.js';
import type { ExprChecker, ExprContext } from './expr.js';
import type { Scope } from './scope.js';
import { showShape, showType, type AlignType } from './types.js';

const LOSS_PARAMS = [
  { name: 'weight', type: spec.number, min: 0, doc: 'multiplies the term in the total loss' },
];

export function checkStage(
  c: ExprChecker,
  stage: A.StageDecl,
  moduleScope: Scope,
  file: string,
): void {
  const scope = moduleScope.child();
  const ctx: ExprContext = { mode: 'stage', scope, file };
  const clauses = new Map<A.ClauseKind, A.ClauseStmt>();
  const losses = new Map<string, A.LossStmt>();
  let usesData: A.StageStmt | undefined;

  const define = (id: A.Ident, type: AlignType) => {
    const prior = scope.define(id.name, { kind: 'local', name: id.name, span: id.span, type });
    if (prior)
      c.state.report(
        'E_DUPLICATE',
        `\`${id.name}\` is already defined in stage \`${stage.name.name}\``,
        id.span,
      );
    else if (moduleScope.lookup(id.name)?.kind === 'decl') {
      c.state.report('E_DUPLICATE', `\`${id.name}\` hides the top-level \`${id.name}\``, id.span, {
        hint: 'pick another name',
      });
    }
  };

  for (const s of stage.body) {
    switch (s.kind) {
      case 'Clause': {
        const sig = clauseSignatures[s.clause];
        const prior = clauses.get(s.clause);
        if (prior && !sig.repeatable) {
          c.state.report(
            'E_STAGE',
            `stage \`${stage.name.name}\` has two \`${s.clause}\` clauses`,
            s.keywordSpan,
            {
              notes: [{ message: 'the first one', span: prior.keywordSpan }],
            },
          );
        }
        if (!prior) clauses.set(s.clause, s);
        const types = new Map(s.args.map((a) => [a, c.check(a.value, ctx)]));
        bindBuiltinArgs(
          s.clause,
          sig.params,
          s.args,
          s.span,
          (a) => types.get(a) ?? { kind: 'unknown' },
          c.state,
        );
        if (s.clause === 'optimize') checkOptimized(c, s, types);
        if (s.clause === 'evaluate') checkEvaluated(c, s, types);
        break;
      }
      case 'ViewBind': {
        const t = c.check(s.value, ctx);
        if (t.kind !== 'unknown' && !(t.kind === 'value' && t.domain === 'transform')) {
          c.state.report(
            'E_TYPE',
            `\`view ${s.name.name}\` needs an augmentation pipeline, not ${showType(t)}`,
            s.value.span,
          );
        }
        usesData ??= s;
        define(s.name, sampleRecord());
        break;
      }
      case 'Let':
        define(s.name, checkLet(c, s, ctx));
        break;
      case 'Match': {
        const t = c.check(s.value, ctx);
        if (t.kind !== 'unknown' && !(t.kind === 'record' && t.name === 'match')) {
          c.state.report(
            'E_TYPE',
            `\`match\` needs a matcher such as max_iou(…), not ${showType(t)}`,
            s.value.span,
          );
        }
        define(s.name, t);
        break;
      }
      case 'Loss': {
        const t = c.check(s.value, ctx);
        if (t.kind === 'tensor' && (t.shape.length !== 0 || t.dtype !== 'f32')) {
          c.state.report(
            'E_SHAPE_MISMATCH',
            `a loss must be a scalar f32, but \`${s.name.name}\` is ${showShape(t)}`,
            s.value.span,
            {
              hint: 'reduce it, e.g. with sum(…) or mean(…)',
            },
          );
        } else if (t.kind !== 'tensor' && t.kind !== 'unknown') {
          c.state.report('E_TYPE', `a loss must be a scalar f32, not ${showType(t)}`, s.value.span);
        }
        const prior = losses.get(s.name.name);
        if (prior) {
          c.state.report('E_DUPLICATE', `loss \`${s.name.name}\` is defined twice`, s.name.span, {
            notes: [{ message: 'first defined here', span: prior.name.span }],
          });
        } else losses.set(s.name.name, s);
        const types = new Map(s.args.map((a) => [a, c.check(a.value, ctx)]));
        bindBuiltinArgs(
          'loss',
          LOSS_PARAMS,
          s.args,
          s.span,
          (a) => types.get(a) ?? { kind: 'unknown' },
          c.state,
        );
        break;
      }
      default:
        s satisfies never;
    }
  }

  const missing = (what: A.ClauseKind, why: string) => {
    if (!clauses.has(what)) {
      c.state.report(
        'E_STAGE',
        `stage \`${stage.name.name}\` ${why} but has no \`${what}\` clause`,
        stage.name.span,
      );
    }
  };
  if (usesData) missing('data', 'uses views');
  if (losses.size > 0) {
    missing('data', 'has losses');
    missing('optimize', 'has losses');
    missing('train', 'has losses');
  } else if (clauses.has('optimize') || clauses.has('train')) {
    c.state.report(
      'E_STAGE',
      `stage \`${stage.name.name}\` trains but defines no \`loss\``,
      stage.name.span,
    );
  }
}

function checkOptimized(c: ExprChecker, s: A.ClauseStmt, types: Map<A.Arg, AlignType>): void {
  const params = s.args.find((a) => a.name?.name === 'params');
  if (!params) return;
  const t = types.get(params);
  const dets = t?.kind === 'list' ? t.items : t ? [t] : [];
  for (const d of dets) {
    if (d.kind === 'detector' && d.ema) {
      c.state.report(
        'E_STAGE',
        'an ema(…) copy follows its online detector; it cannot also be optimized',
        params.value.span,
        {
          hint: 'optimize the online detector; its EMA copy is updated after every step',
        },
      );
    }
  }
}

function checkEvaluated(c: ExprChecker, s: A.ClauseStmt, types: Map<A.Arg, AlignType>): void {
  const arg = s.args.find((a) => a.name === undefined || a.name.name === 'detector');
  const t = arg ? types.get(arg) : undefined;
  if (arg && t?.kind === 'detector' && t.classes === undefined) {
    c.state.report(
      'E_STAGE',
      'this detector has no classifier, so it cannot be evaluated',
      arg.value.span,
      {
        hint: 'evaluate a detector whose head has `classes: …` (a pre-training head only has `embed`)',
      },
    );
  }
}
