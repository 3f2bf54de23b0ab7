// Reductions of compiler/lower (checked AST → IR): `sum mean max min logsumexp argmax argmin any
// all` over axes of a whole tensor, as IR primitives (logsumexp in its −∞-safe form), and the
// value of a reduction over an index its body does not use.

import type * as A from '../../grammar/ast.js';
import type { NodeId } from '../ir/index.js';
import { safeLogOfSum } from './builtins.js';
import { LowerError } from './errors.js';
import type { ValueOps } from './value-ops.js';

export function repeatReduce(
  l: ValueOps,
  op: A.ReduceOp,
  node: NodeId,
  count: number,
  span: A.Ident['span'],
): NodeId {
  switch (op) {
    case 'sum':
      return l.map2n('mul', node, l.b.fill(count, [], l.b.type(node).dtype));
    case 'logsumexp':
      return l.map2n('add', node, l.b.fill(Math.log(count), [], 'f32'));
    case 'mean':
    case 'max':
    case 'min':
    case 'any':
    case 'all':
      return node;
    case 'prod':
    case 'argmax':
    case 'argmin':
      throw new LowerError('E_CONTEXT', `${op} over an index the body does not use`, span);
    default:
      return op satisfies never;
  }
}

/** A reduction over `axes` of a whole tensor; the reduced axes are removed. */
export function reduceAxes(
  l: ValueOps,
  op: A.ReduceOp,
  node: NodeId,
  axes: readonly number[],
  span: A.Ident['span'],
): NodeId {
  const shape = l.b.shape(node);
  const kept = shape.filter((_, i) => !axes.includes(i));
  const count = axes.reduce((acc, a) => acc * shape[a], 1);
  const drop = (n: NodeId): NodeId => l.b.reshape(n, kept);
  const f = (n: NodeId): NodeId => l.b.cast(n, 'f32');
  switch (op) {
    case 'sum':
      return drop(l.b.reduce('sum', l.numeric(node), axes));
    case 'mean':
      return drop(l.map2n('div', l.b.reduce('sum', f(node), axes), l.b.fill(count, [], 'f32')));
    case 'max':
      return drop(l.b.reduce('max', l.numeric(node), axes));
    case 'min':
      return drop(l.b.reduce('min', l.numeric(node), axes));
    case 'any':
      return drop(l.b.cast(l.b.reduce('max', l.b.cast(node, 'i32'), axes), 'bool'));
    case 'all':
      return drop(l.b.cast(l.b.reduce('min', l.b.cast(node, 'i32'), axes), 'bool'));
    case 'logsumexp': {
      // max + log Σ exp(x − max): never overflows, and rows masked entirely to −∞ give −∞ with
      // a finite (zero) gradient instead of NaN (safeLogOfSum).
      const x = f(node);
      const m = l.b.reduce('max', x, axes);
      return drop(
        safeLogOfSum(l, m, (shift) =>
          l.b.reduce('sum', l.b.unary('exp', l.map2n('sub', x, l.b.broadcast(shift, shape))), axes),
        ),
      );
    }
    case 'argmax':
    case 'argmin': {
      if (axes.length !== 1) {
        throw new LowerError('E_CONTEXT', `${op} reduces exactly one index`, span);
      }
      const x = op === 'argmin' ? l.b.unary('neg', f(node)) : f(node);
      return drop(l.b.add({ op: 'argmax', axis: axes[0], inputs: [x] }));
    }
    case 'prod': {
      // Π x = sign · exp(Σ log|x|) would lose exact zeros; products are rare in losses.
      throw new LowerError(
        'E_CONTEXT',
        'prod is not supported yet',
        span,
        'write the product out, or use exp(sum(log(x))) for positive x',
      );
    }
    default:
      return op satisfies never;
  }
}
