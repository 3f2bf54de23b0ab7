// The built-in tensor functions a `.align` function body can call (exp, softplus, clamp, where,
// normalize, …) and how each lowers to IR primitives. Part of compiler/lower (checked AST → IR).
// Everything here is composition of primitives, so every built-in gets kernels and gradients from
// the primitives' rules; numerically delicate ones use their stable forms.

import type { BinaryFn, CompareFn, DType, GraphBuilder, NodeId, UnaryFn } from '../ir/index.js';
import type { SourceSpan } from '../../runtime/errors.js';
import { LowerError } from './errors.js';

/** A lowered value: a whole tensor (`axes` null) or a value on named index axes. */
export interface Value {
  readonly node: NodeId;
  readonly axes: readonly string[] | null;
  /** Came from a number literal: takes the other operand's dtype in arithmetic. */
  readonly literal?: boolean;
}

/** What built-ins need from the lowering: the builder and dtype/broadcast-aware elementwise ops. */
export interface LowerContext {
  readonly b: GraphBuilder;
  asDtype(v: Value, dtype: DType): Value;
  /** The same value as a constant for autodiff (stop-gradient). */
  detach(v: Value): Value;
  map1(fn: UnaryFn, v: Value): Value;
  map2(fn: BinaryFn, a: Value, b: Value, span: SourceSpan): Value;
  compare(fn: CompareFn, a: Value, b: Value, span: SourceSpan): Value;
  select(cond: Value, a: Value, b: Value, span: SourceSpan): Value;
  /** Both operands on one shape (index axes aligned, or numpy broadcasting). */
  align(a: Value, b: Value, span: SourceSpan): [NodeId, NodeId, readonly string[] | null];
  /** The number a value holds when it is a compile-time constant. */
  constantOf(v: Value): number | undefined;
}

/**
 * m + log(terms(m′)) with m′ = m where finite and 0 where m = −∞, and −∞ where the sum is 0. Both
 * the value and the gradient stay finite when every term is masked to −∞ (the log's backward sees
 * a sum of 1 there, not 0/0).
 */
export function safeLogOfSum(
  ctx: LowerContext,
  m: NodeId,
  terms: (shift: NodeId) => NodeId,
): NodeId {
  const b = ctx.b;
  const shape = b.shape(m);
  const full = (v: number) => b.fill(v, shape, 'f32');
  const shift = b.select(b.compare('eq', m, full(-Infinity)), full(0), m);
  const sum = terms(shift);
  const empty = b.compare('eq', sum, full(0));
  const log = b.unary('log', b.select(empty, full(1), sum));
  return b.select(empty, full(-Infinity), b.binary('add', shift, log));
}

type Builtin = {
  /** Number of arguments; -1 for any number (at least one). */
  readonly arity: number;
  /** Whole tensors only (they work along the last axis). */
  readonly wholeOnly?: boolean;
  readonly lower: (ctx: LowerContext, args: readonly Value[], span: SourceSpan) => Value;
};

const constant = (ctx: LowerContext, value: number): Value => ({
  node: ctx.b.fill(value, [], 'f32'),
  axes: null,
  literal: true,
});

const unary =
  (fn: UnaryFn): Builtin['lower'] =>
  (ctx, [x]) =>
    ctx.map1(fn, x);

/** softplus(x) = max(x, 0) + log(1 + exp(−|x|)): no overflow for large |x|. */
function softplus(ctx: LowerContext, x: Value, span: SourceSpan): Value {
  const f = ctx.asDtype(x, 'f32');
  const positive = ctx.map2('max', f, constant(ctx, 0), span);
  const tail = ctx.map1('exp', ctx.map1('neg', ctx.map1('abs', f)));
  return ctx.map2(
    'add',
    positive,
    ctx.map1('log', ctx.map2('add', constant(ctx, 1), tail, span)),
    span,
  );
}

/** Named constants usable in tensor code. */
export const BUILTIN_CONSTANTS: ReadonlyMap<string, number> = new Map([
  ['inf', Infinity],
  ['pi', Math.PI],
]);

/** Along the last axis of a whole tensor: the last axis reduced (keepdims) and broadcast back. */
function lastAxis(ctx: LowerContext, x: NodeId, fn: 'sum' | 'max'): NodeId {
  const shape = ctx.b.shape(x);
  if (shape.length === 0) return x;
  return ctx.b.broadcast(ctx.b.reduce(fn, x, [shape.length - 1]), shape);
}

const BUILTINS: Readonly<Record<string, Builtin>> = {
  /** The value, with no gradient flowing back through it (torch's .detach()). */
  detach: { arity: 1, lower: (ctx, [x]) => ctx.detach(x) },
  exp: { arity: 1, lower: unary('exp') },
  log: { arity: 1, lower: unary('log') },
  sqrt: { arity: 1, lower: unary('sqrt') },
  rsqrt: { arity: 1, lower: unary('rsqrt') },
  abs: { arity: 1, lower: unary('abs') },
  sign: { arity: 1, lower: unary('sign') },
  sigmoid: { arity: 1, lower: unary('sigmoid') },
  tanh: { arity: 1, lower: unary('tanh') },
  sin: { arity: 1, lower: unary('sin') },
  cos: { arity: 1, lower: unary('cos') },
  atan: { arity: 1, lower: unary('atan') },
  floor: { arity: 1, lower: unary('floor') },
  ceil: { arity: 1, lower: unary('ceil') },
  round: { arity: 1, lower: unary('round') },
  square: { arity: 1, lower: (ctx, [x], span) => ctx.map2('mul', x, x, span) },
  relu: { arity: 1, lower: (ctx, [x], span) => ctx.map2('max', x, constant(ctx, 0), span) },
  log1p: {
    arity: 1,
    lower: (ctx, [x], span) => ctx.map1('log', ctx.map2('add', constant(ctx, 1), x, span)),
  },
  softplus: { arity: 1, lower: (ctx, [x], span) => softplus(ctx, x, span) },
  /** log σ(x) = −softplus(−x). */
  log_sigmoid: {
    arity: 1,
    lower: (ctx, [x], span) => ctx.map1('neg', softplus(ctx, ctx.map1('neg', x), span)),
  },
  maximum: { arity: 2, lower: (ctx, [a, b], span) => ctx.map2('max', a, b, span) },
  minimum: { arity: 2, lower: (ctx, [a, b], span) => ctx.map2('min', a, b, span) },
  /** log(e^a + e^b) through the same −∞-safe form as logsumexp. */
  logaddexp: {
    arity: 2,
    lower: (ctx, [a, b], span) => {
      const fa = ctx.asDtype(a, 'f32');
      const fb = ctx.asDtype(b, 'f32');
      const [na, nb, axes] = ctx.align(fa, fb, span);
      const m = ctx.b.binary('max', na, nb);
      const terms = (shift: NodeId) =>
        ctx.b.binary(
          'add',
          ctx.b.unary('exp', ctx.b.binary('sub', na, shift)),
          ctx.b.unary('exp', ctx.b.binary('sub', nb, shift)),
        );
      return { node: safeLogOfSum(ctx, m, terms), axes };
    },
  },
  /** Tensors of one shape stacked along a new last axis. */
  stack: {
    arity: -1,
    lower: (ctx, args, span) => {
      if (args.length === 0)
        throw new LowerError('E_MISSING_ARG', 'stack needs at least one tensor', span);
      let aligned = args.map((a) => ctx.asDtype(a, ctx.b.type(args[0].node).dtype));
      // Bring every operand to one shape (index axes or broadcasting), pairwise with the first.
      let first = aligned[0];
      for (let i = 1; i < aligned.length; i++) {
        const [x, y, axes] = ctx.align(first, aligned[i], span);
        first = { node: x, axes };
        aligned[i] = { node: y, axes };
      }
      aligned = aligned.map((v) => ({ node: ctx.align(v, first, span)[0], axes: first.axes }));
      const shape = ctx.b.shape(first.node);
      const parts = aligned.map((v) => ctx.b.reshape(v.node, [...shape, 1]));
      const node =
        parts.length === 1
          ? parts[0]
          : ctx.b.add({ op: 'concat', axis: shape.length, inputs: parts });
      if (first.axes !== null) {
        throw new LowerError(
          'E_CONTEXT',
          'stack works on whole tensors, not inside index notation',
          span,
        );
      }
      return { node, axes: null };
    },
  },
  /** f32[..., classes]: 1 at each label, 0 elsewhere (negative labels give a zero row). */
  one_hot: {
    arity: 2,
    wholeOnly: true,
    lower: (ctx, [labels, classes], span) => {
      const count = ctx.constantOf(classes);
      if (count === undefined || !Number.isInteger(count) || count < 1) {
        throw new LowerError(
          'E_ARG_TYPE',
          'one_hot needs a positive integer number of classes',
          span,
        );
      }
      const l = ctx.asDtype(labels, 'i32').node;
      const shape = [...ctx.b.shape(l), count];
      const iota = ctx.b.add({
        op: 'iota',
        axis: shape.length - 1,
        shape,
        dtype: 'i32',
        inputs: [],
      });
      const spread = ctx.b.broadcast(ctx.b.reshape(l, [...ctx.b.shape(l), 1]), shape);
      return { node: ctx.b.cast(ctx.b.compare('eq', iota, spread), 'f32'), axes: null };
    },
  },
  pow: {
    arity: 2,
    lower: (ctx, [a, b], span) =>
      ctx.map2('pow', ctx.asDtype(a, 'f32'), ctx.asDtype(b, 'f32'), span),
  },
  atan2: {
    arity: 2,
    lower: (ctx, [y, x], span) =>
      ctx.map2('atan2', ctx.asDtype(y, 'f32'), ctx.asDtype(x, 'f32'), span),
  },
  clamp: {
    arity: 3,
    lower: (ctx, [x, lo, hi], span) => ctx.map2('min', ctx.map2('max', x, lo, span), hi, span),
  },
  where: { arity: 3, lower: (ctx, [c, a, b], span) => ctx.select(c, a, b, span) },
  /**
   * x / max(‖x‖₂, 1e-12) along the last axis, as torch.nn.functional.normalize. The floor is taken
   * on the squared norm (1e-24), the same value, so an all-zero row has a finite gradient (sqrt'
   * never sees 0) — as std.tensor's l2_normalize.
   */
  normalize: {
    arity: 1,
    wholeOnly: true,
    lower: (ctx, [x]) => {
      const f = ctx.asDtype(x, 'f32').node;
      const shape = ctx.b.shape(f);
      const squares = lastAxis(ctx, ctx.b.binary('mul', f, f), 'sum');
      const norm = ctx.b.unary(
        'sqrt',
        ctx.b.binary('max', squares, ctx.b.fill(1e-24, shape, 'f32')),
      );
      return { node: ctx.b.binary('div', f, norm), axes: null };
    },
  },
  /** log softmax along the last axis, shifted by the max so exp never overflows. */
  log_softmax: {
    arity: 1,
    wholeOnly: true,
    lower: (ctx, [x]) => ({ node: logSoftmax(ctx, ctx.asDtype(x, 'f32').node), axes: null }),
  },
  softmax: {
    arity: 1,
    wholeOnly: true,
    lower: (ctx, [x]) => ({
      node: ctx.b.unary('exp', logSoftmax(ctx, ctx.asDtype(x, 'f32').node)),
      axes: null,
    }),
  },
};

function logSoftmax(ctx: LowerContext, x: NodeId): NodeId {
  const shifted = ctx.b.binary('sub', x, lastAxis(ctx, x, 'max'));
  const total = lastAxis(ctx, ctx.b.unary('exp', shifted), 'sum');
  return ctx.b.binary('sub', shifted, ctx.b.unary('log', total));
}

export function isBuiltin(name: string): boolean {
  return Object.hasOwn(BUILTINS, name);
}

export function builtinNames(): readonly string[] {
  return Object.keys(BUILTINS).sort();
}

export function callBuiltin(
  ctx: LowerContext,
  name: string,
  args: readonly Value[],
  span: SourceSpan,
): Value {
  const builtin = BUILTINS[name];
  if (builtin.arity >= 0 && args.length !== builtin.arity) {
    throw new LowerError(
      args.length > builtin.arity ? 'E_TOO_MANY_ARGS' : 'E_MISSING_ARG',
      `${name} takes ${builtin.arity} argument${builtin.arity === 1 ? '' : 's'}, got ${args.length}`,
      span,
    );
  }
  if (builtin.wholeOnly && args.some((a) => a.axes !== null)) {
    throw new LowerError(
      'E_CONTEXT',
      `${name} works on whole tensors (along the last axis), not inside index notation`,
      span,
      `compute it first: let y = ${name}(x), then index y`,
    );
  }
  return builtin.lower(ctx, args, span);
}
