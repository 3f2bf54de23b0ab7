// The tensor built-ins of `.align` (usable in `fn` bodies and stages): elementwise math, `where`,
// `clamp`, `detach`, `stack`, `one_hot`. Each has a shape rule here; compiler/lower will map each to
// IR primitives (and autodiff gets their gradients from those primitives).

import { combine } from '../elementwise.js';
import { tensor, UNKNOWN, type AlignType } from '../types.js';
import { spec as s, type BuiltinSig, type ResultContext } from './spec.js';

function elementwise(
  args: readonly (AlignType | undefined)[],
  want: 'number' | 'bool' | 'any',
  ctx: ResultContext,
  float: boolean,
): AlignType {
  const present = args.filter((a): a is AlignType => a !== undefined);
  const r = combine(present, want);
  if (!r.ok) {
    ctx.report(r.code, r.message, ctx.callSpan);
    return UNKNOWN;
  }
  if (float && r.type.dtype === 'i32') return { ...r.type, dtype: 'f32' };
  return r.type;
}

function unary(name: string, doc: string): BuiltinSig {
  return {
    name,
    doc,
    contexts: ['fn', 'stage'],
    params: [{ name: 'x', type: s.tensor, required: true, doc: 'input' }],
    result: (a, ctx) => elementwise([a.get('x')], 'number', ctx, true),
  };
}

function binary(name: string, doc: string, float: boolean): BuiltinSig {
  return {
    name,
    doc,
    contexts: ['fn', 'stage'],
    params: [
      { name: 'a', type: s.tensor, required: true, doc: 'first operand' },
      { name: 'b', type: s.tensor, required: true, doc: 'second operand' },
    ],
    result: (a, ctx) => elementwise([a.get('a'), a.get('b')], 'number', ctx, float),
  };
}

/** Shape-preserving along the last axis (needs at least one axis). */
function lastAxis(name: string, doc: string): BuiltinSig {
  return {
    name,
    doc,
    contexts: ['fn', 'stage'],
    params: [{ name: 'x', type: s.tensor, required: true, doc: 'input, at least one axis' }],
    result: (a, ctx) => {
      const t = elementwise([a.get('x')], 'number', ctx, true);
      if (t.kind === 'tensor' && t.shape.length === 0) {
        ctx.report('E_RANK', `${name} needs a tensor with at least one axis`, ctx.callSpan);
        return UNKNOWN;
      }
      return t;
    },
  };
}

/**
 * Tensor functions whose name is also a configuration block: `normalize(x)` in tensor code is the
 * row-wise L2 normalisation, `normalize(mean: …, std: …)` in a view is the image normalisation.
 */
export const tensorVariants: readonly BuiltinSig[] = [
  lastAxis('normalize', 'L2-normalises along the last axis (F.normalize, eps 1e-12)'),
];

export const tensorBuiltins: readonly BuiltinSig[] = [
  unary('exp', 'e^x'),
  unary('log', 'natural logarithm'),
  unary('sqrt', 'square root'),
  unary('abs', 'absolute value'),
  unary('sigmoid', '1 / (1 + e^-x)'),
  unary('log_sigmoid', 'log(sigmoid(x)), stable for large |x|'),
  unary('softplus', 'log(1 + e^x), stable for large x'),
  unary('relu', 'max(x, 0)'),
  unary('tanh', 'hyperbolic tangent'),
  unary('floor', 'round down'),
  unary('ceil', 'round up'),
  unary('sign', '-1, 0 or 1'),
  unary('rsqrt', '1 / sqrt(x)'),
  unary('sin', 'sine'),
  unary('cos', 'cosine'),
  unary('atan', 'arc tangent'),
  unary('round', 'round to nearest'),
  unary('square', 'x * x'),
  unary('log1p', 'log(1 + x)'),
  lastAxis('softmax', 'softmax along the last axis'),
  lastAxis('log_softmax', 'log-softmax along the last axis, stable'),
  binary('maximum', 'elementwise larger of a and b', false),
  binary('minimum', 'elementwise smaller of a and b', false),
  binary('pow', 'a^b', true),
  binary('logaddexp', 'log(e^a + e^b), stable', true),
  binary('atan2', 'angle of (b, a), i.e. atan(a / b) in the right quadrant', true),
  {
    name: 'where',
    doc: 'elementwise choice: a where cond is true, else b',
    contexts: ['fn', 'stage'],
    params: [
      { name: 'cond', type: s.tensor, required: true, doc: 'bool condition' },
      { name: 'a', type: s.tensor, required: true, doc: 'value where true' },
      { name: 'b', type: s.tensor, required: true, doc: 'value where false' },
    ],
    result: (a, ctx) => {
      const cond = elementwise([a.get('cond')], 'bool', ctx, false);
      const values = elementwise([a.get('a'), a.get('b')], 'any', ctx, false);
      if (cond.kind !== 'tensor' || values.kind !== 'tensor') return UNKNOWN;
      const shaped = combine([{ ...cond, dtype: values.dtype }, values], 'any');
      if (!shaped.ok) {
        ctx.report(shaped.code, shaped.message, ctx.callSpan);
        return UNKNOWN;
      }
      return shaped.type;
    },
  },
  {
    name: 'clamp',
    doc: 'x limited to [low, high]',
    contexts: ['fn', 'stage'],
    params: [
      { name: 'x', type: s.tensor, required: true, doc: 'input' },
      { name: 'low', type: s.tensor, required: true, doc: 'lower bound' },
      { name: 'high', type: s.tensor, required: true, doc: 'upper bound' },
    ],
    result: (a, ctx) =>
      elementwise([a.get('x'), a.get('low'), a.get('high')], 'number', ctx, false),
  },
  {
    name: 'detach',
    doc: 'the same values with no gradient flowing back (stop-gradient)',
    contexts: ['fn', 'stage'],
    params: [{ name: 'x', type: s.tensor, required: true, doc: 'input' }],
    result: (a) => a.get('x') ?? UNKNOWN,
  },
  {
    name: 'stack',
    doc: 'tensors of one shape stacked along a new last axis',
    contexts: ['fn', 'stage'],
    params: [{ name: 'xs', type: s.tensor, required: true, variadic: true, doc: 'the tensors' }],
    result: (a, ctx) => {
      const xs = a.all('xs');
      const r = elementwise(xs, 'any', ctx, false);
      if (r.kind !== 'tensor') return UNKNOWN;
      const first = xs.find((x) => x.kind === 'tensor');
      if (
        first?.kind === 'tensor' &&
        xs.some((x) => x.kind === 'tensor' && x.shape.length !== first.shape.length)
      ) {
        ctx.report('E_SHAPE_MISMATCH', 'stack needs tensors of the same shape', ctx.callSpan);
      }
      return { ...r, shape: [...r.shape, { kind: 'const', size: xs.length }] };
    },
  },
  {
    name: 'one_hot',
    doc: 'f32[N, classes]: 1 at each label, 0 elsewhere (negative labels give a zero row)',
    contexts: ['fn', 'stage'],
    params: [
      { name: 'labels', type: s.tensor, required: true, doc: 'i32[N] labels' },
      {
        name: 'classes',
        type: s.int,
        required: true,
        min: 1,
        max: 100000,
        doc: 'number of classes',
      },
    ],
    result: (a, ctx) => {
      const labels = a.get('labels');
      const classes = a.get('classes');
      if (labels?.kind !== 'tensor' || classes?.kind !== 'number' || classes.value === undefined)
        return UNKNOWN;
      if (labels.dtype !== 'i32') {
        ctx.report(
          'E_DTYPE',
          `one_hot needs i32 labels, not ${labels.dtype}`,
          a.span('labels') ?? ctx.callSpan,
        );
        return UNKNOWN;
      }
      return tensor('f32', ...labels.shape, classes.value);
    },
  },
];
