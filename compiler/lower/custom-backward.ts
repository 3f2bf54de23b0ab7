// Hand-written backward blocks (`backward(dy) { grad x = … }`) of `.align` functions, for
// compiler/lower: the forward body, a cotangent input shaped like the result, then each `grad`
// expression lowered in the body's scope. Used by `alignc grad` / `check-grad` (grad.ts).

import type * as A from '../../grammar/ast.js';
import type { NodeId } from '../ir/index.js';
import { LowerError } from './errors.js';
import type { Binding } from './fn-lowering.js';
import { lowerFn, type ArgType, type LoweredFn } from './lower-fn.js';
import { shapeText } from './value-ops.js';

export interface LoweredBackward extends LoweredFn {
  /** The cotangent input (named after the backward block's parameter), shaped like the output. */
  readonly cotangent: NodeId;
  /** Per entry of `params`: its gradient node from the hand-written backward, or a zero fill. */
  readonly grads: readonly NodeId[];
}

/**
 * Lowers `fn` together with its hand-written `backward(dy) { grad x = … }` block: the forward body,
 * then a cotangent input shaped like the result, then each `grad` expression evaluated in the body's
 * scope (parameters, `let`s and the cotangent). Parameters without a `grad` line get zeros.
 */
export function lowerWithCustomBackward(
  fn: A.FnDecl,
  args: ReadonlyMap<string, ArgType>,
  functions: ReadonlyMap<string, A.FnDecl>,
  constants: ReadonlyMap<string, number> = new Map(),
): LoweredBackward {
  const backward = fn.body.find((s): s is A.BackwardStmt => s.kind === 'Backward');
  if (!backward) {
    throw new LowerError(
      'E_BACKWARD',
      `function ${fn.name.name} has no backward block`,
      fn.name.span,
    );
  }
  const captured = new Map<string, Binding>();
  const forward = lowerFn(fn, args, functions, constants, captured);
  const b = forward.builder;
  const outType = b.type(forward.output);
  const cotangent = b.input(backward.cotangent.name, outType.shape, 'f32');
  captured.set(backward.cotangent.name, { kind: 'value', value: { node: cotangent, axes: null } });
  const lowering = forward.lowering;
  const grads = forward.params.map((p, k) => {
    const line = backward.grads.find((g) => g.param.name === p.name);
    if (!line) return b.fill(0, p.type.shape, 'f32');
    const node = b.cast(
      lowering.whole(lowering.expr(line.value, captured, undefined), line.value.span),
      'f32',
    );
    const shape = b.shape(node);
    const want = b.shape(forward.inputNodes[k]);
    if (shape.length !== want.length || shape.some((d, i) => d !== want[i])) {
      throw new LowerError(
        'E_BACKWARD',
        `grad ${p.name} has shape ${shapeText(shape)} but ${p.name} has shape ${shapeText(want)}`,
        line.value.span,
      );
    }
    return node;
  });
  for (const line of backward.grads) {
    if (!fn.params.some((p) => p.name.name === line.param.name)) {
      throw new LowerError(
        'E_BACKWARD',
        `grad ${line.param.name} names no parameter of ${fn.name.name}`,
        line.param.span,
      );
    }
  }
  return { ...forward, graph: b.build([forward.output, ...grads]), cotangent, grads };
}
