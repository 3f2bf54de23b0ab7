// Recognises an **image-domain** (BYOL) stage in a plan's ordered steps: two views, an
// `encoder(…)` network on them, its `ema(…)` target under `no_grad` on them, and one or more
// `loss … = byol(q.prediction, k.projection)` terms, each pairing an online output on one view with
// a target output on a view; clauses as for every stage (stage-spec.ts). Anything else in such a
// stage is refused with its `file:line:col`. Flow: plan (stages) → stage-spec.ts → **this** →
// image-domain runtime (image-domain-runtime.ts).

import type { ConfigValue, StagePlan } from '../../compiler/lower/plan.js';
import type { EncoderOutputRef, ImageDomainTerm } from '../train/image-domain-step.js';
import { RunUnsupportedError } from './errors.js';
import type { InitClause } from './stage-clauses.js';
import type { CommonStage } from './stage-spec.js';

export interface ImageDomainStage extends CommonStage {
  readonly kind: 'image_domain';
  readonly views: readonly [string, string];
  /** The online `encoder(…)` and its `ema(…)` target. */
  readonly online: string;
  readonly target: string;
  readonly terms: readonly ImageDomainTerm[];
  readonly init: InitClause | undefined;
}

/** A `let`/`loss` step read as one call (stage-spec.ts's callOf). */
export interface CallStep {
  readonly step: { readonly name: string; readonly at: string; readonly weight?: number };
  readonly call: string;
  readonly args: Readonly<Record<string, ConfigValue>>;
}

const CALL_OF_NAME = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$/;
const MEMBER = /^\s*([A-Za-z_][A-Za-z0-9_]*)\.(projection|prediction)\s*$/;

/**
 * The image-domain stage of `stage`, given its two `view` steps (binding name → view declaration),
 * its `let`s and `loss`es as calls, the clauses every stage has, and the ema(…) detector names.
 */
export function imageDomainSpecOf(
  stage: StagePlan,
  common: CommonStage,
  views: readonly { readonly name: string; readonly view: string }[],
  lets: readonly CallStep[],
  losses: readonly CallStep[],
  init: InitClause | undefined,
  emaNames: ReadonlySet<string>,
): ImageDomainStage {
  const fail = (message: string, at: string, hint?: string): never => {
    throw new RunUnsupportedError(`stage ${stage.name}: ${message}`, at, hint);
  };
  const viewIndex = new Map(views.map((v, i) => [v.name, i as 0 | 1]));
  // let name → (network, view index, target?)
  const outputs = new Map<string, { network: string; view: 0 | 1; target: boolean }>();
  let online: string | undefined;
  let target: string | undefined;
  for (const l of lets) {
    const isTarget = l.call === 'no_grad';
    const [network, view] = isTarget
      ? (CALL_OF_NAME.exec(String(l.args['0'])) ?? []).slice(1)
      : [l.call, String(l.args['0'])];
    const index = view === undefined ? undefined : viewIndex.get(view);
    if (network === undefined || index === undefined)
      return fail(
        `let ${l.step.name} must run a network on one of the views ${views.map((v) => v.name).join(', ')}`,
        l.step.at,
        'write let q1 = online(v1) or let k2 = no_grad(target(v2))',
      );
    if (isTarget !== emaNames.has(network))
      return fail(
        isTarget
          ? `let ${l.step.name}: no_grad(…) must call the ema(…) target, not ${network}`
          : `let ${l.step.name}: the target ${network} must run under no_grad(…)`,
        l.step.at,
      );
    const known = isTarget ? target : online;
    if (known !== undefined && known !== network)
      return fail(
        `runs two ${isTarget ? 'target' : 'online'} networks, ${known} and ${network}`,
        l.step.at,
      );
    if (isTarget) target = network;
    else online = network;
    outputs.set(l.step.name, { network, view: index, target: isTarget });
  }
  if (online === undefined || target === undefined)
    return fail(
      'an image-domain stage needs `let q = online(v1)` and `let k = no_grad(target(v2))`',
      stage.at,
    );
  const terms = losses.map((l): ImageDomainTerm => {
    const ref = (value: ConfigValue | undefined, wantTarget: boolean): EncoderOutputRef => {
      const m = MEMBER.exec(String(value));
      const out = m === null ? undefined : outputs.get(m[1]);
      if (m === null || out === undefined || out.target !== wantTarget)
        return fail(
          `loss ${l.step.name}: the ${wantTarget ? 'second' : 'first'} argument of byol must be ` +
            `the ${wantTarget ? 'target' : 'online'} network's .projection or .prediction`,
          l.step.at,
          'write byol(q1.prediction, k2.projection)',
        );
      return { view: out.view, field: m[2] as EncoderOutputRef['field'] };
    };
    return {
      name: l.step.name,
      weight: l.step.weight ?? 1,
      online: ref(l.args.p ?? l.args['0'], false),
      target: ref(l.args.z ?? l.args['1'], true),
    };
  });
  if (common.params !== online)
    fail(`optimize params: ${common.params}, but the stage trains ${online}`, stage.at);
  return {
    ...common,
    kind: 'image_domain',
    views: [views[0].view, views[1].view],
    online,
    target,
    terms,
    init,
  };
}
