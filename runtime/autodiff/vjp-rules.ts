// The ONE table of vector-Jacobian-product rules: for each IR primitive, how the cotangent of its
// result becomes cotangents of its operands — written as IR built with GraphBuilder, so a backward
// pass is just more graph and compiles/fuses like the forward. Flow: IR (forward) → **VJP rules** →
// IR (forward + backward) → kernels. Tie rules follow PyTorch (max/min split ties evenly).
import type { GraphBuilder, Node, NodeId, NodeOf } from '../../compiler/ir/index.js';
import { IrUnsupportedError } from '../../compiler/ir/index.js';

/** Cotangent per operand, in operand order; null = no gradient flows to that operand. */
export type VjpResult = readonly (NodeId | null)[];

/** `ct` is the cotangent of `node`'s result (same shape, f32). */
export type VjpRule<N extends Node> = (b: GraphBuilder, node: N, ct: NodeId) => VjpResult;

type VjpTable = { readonly [K in Node['op']]: VjpRule<NodeOf<K>> };

const none: VjpRule<Node> = (_b, node) => node.inputs.map(() => null);

function notDifferentiable(what: string): VjpRule<Node> {
  return () => {
    throw new IrUnsupportedError(
      `${what} has no gradient rule (second-order gradients of it are not supported)`,
    );
  };
}

function scale(b: GraphBuilder, x: NodeId, value: number): NodeId {
  return b.binary('mul', x, b.fillLike(value, x));
}

function mulAll(b: GraphBuilder, ...xs: NodeId[]): NodeId {
  return xs.reduce((acc, x) => b.binary('mul', acc, x));
}

function unaryVjp(b: GraphBuilder, node: NodeOf<'unary'>, ct: NodeId): VjpResult {
  const x = node.inputs[0];
  const y = node.id;
  const one = () => b.fillLike(1, x);
  switch (node.fn) {
    case 'neg':
      return [b.unary('neg', ct)];
    case 'abs':
      return [b.binary('mul', ct, b.unary('sign', x))];
    case 'sign':
    case 'floor':
    case 'ceil':
    case 'round':
    case 'not':
      return [null];
    case 'exp':
      return [b.binary('mul', ct, y)];
    case 'log':
      return [b.binary('div', ct, x)];
    case 'sqrt':
      return [b.binary('div', scale(b, ct, 0.5), y)];
    case 'rsqrt':
      return [scale(b, mulAll(b, ct, y, y, y), -0.5)];
    case 'recip':
      return [b.unary('neg', mulAll(b, ct, y, y))];
    case 'sin':
      return [b.binary('mul', ct, b.unary('cos', x))];
    case 'cos':
      return [b.unary('neg', b.binary('mul', ct, b.unary('sin', x)))];
    case 'tanh':
      return [b.binary('mul', ct, b.binary('sub', one(), b.binary('mul', y, y)))];
    case 'atan':
      return [b.binary('div', ct, b.binary('add', one(), b.binary('mul', x, x)))];
    case 'sigmoid':
      return [mulAll(b, ct, y, b.binary('sub', one(), y))];
    default:
      return node.fn satisfies never;
  }
}

/** 1 where `a` wins over `b`, ½ on a tie, 0 where it loses (`wins` = gt for max, lt for min). */
function tieSplitWeight(b: GraphBuilder, a: NodeId, other: NodeId, wins: 'gt' | 'lt'): NodeId {
  const zero = b.fillLike(0, a);
  const half = b.fillLike(0.5, a);
  const one = b.fillLike(1, a);
  return b.select(b.compare(wins, a, other), one, b.select(b.compare('eq', a, other), half, zero));
}

function truncate(b: GraphBuilder, q: NodeId): NodeId {
  return b.select(b.compare('lt', q, b.fillLike(0, q)), b.unary('ceil', q), b.unary('floor', q));
}

function binaryVjp(b: GraphBuilder, node: NodeOf<'binary'>, ct: NodeId): VjpResult {
  const [x, y] = node.inputs;
  if (node.dtype !== 'f32') return [null, null];
  switch (node.fn) {
    case 'add':
      return [ct, ct];
    case 'sub':
      return [ct, b.unary('neg', ct)];
    case 'mul':
      return [b.binary('mul', ct, y), b.binary('mul', ct, x)];
    case 'div': {
      const dx = b.binary('div', ct, y);
      return [dx, b.unary('neg', b.binary('mul', dx, node.id))];
    }
    case 'max':
    case 'min': {
      const wins = node.fn === 'max' ? 'gt' : 'lt';
      return [
        b.binary('mul', ct, tieSplitWeight(b, x, y, wins)),
        b.binary('mul', ct, tieSplitWeight(b, y, x, wins)),
      ];
    }
    case 'pow': {
      // PyTorch: d/dx = y·x^(y−1), 0 where the exponent is 0; d/dy = x^y·log x, 0 where x = 0 and y ≥ 0.
      const zero = b.fillLike(0, x);
      const dxRaw = mulAll(b, ct, y, b.binary('pow', x, b.binary('sub', y, b.fillLike(1, y))));
      const dx = b.select(b.compare('eq', y, zero), zero, dxRaw);
      const dyRaw = mulAll(b, ct, node.id, b.unary('log', x));
      const xZeroExpNonNeg = b.binary('and', b.compare('eq', x, zero), b.compare('ge', y, zero));
      return [dx, b.select(xZeroExpNonNeg, zero, dyRaw)];
    }
    case 'rem':
      return [ct, b.unary('neg', b.binary('mul', ct, truncate(b, b.binary('div', x, y))))];
    case 'atan2': {
      const denom = b.binary('add', b.binary('mul', x, x), b.binary('mul', y, y));
      const k = b.binary('div', ct, denom);
      return [b.binary('mul', k, y), b.unary('neg', b.binary('mul', k, x))];
    }
    case 'and':
    case 'or':
    case 'xor':
    case 'shl':
    case 'shr':
      return [null, null];
    default:
      return node.fn satisfies never;
  }
}

function reduceVjp(b: GraphBuilder, node: NodeOf<'reduce'>, ct: NodeId): VjpResult {
  const x = node.inputs[0];
  const xShape = b.shape(x);
  switch (node.fn) {
    case 'sum':
      return [b.broadcast(ct, xShape)];
    case 'max':
    case 'min': {
      // PyTorch's amax/amin rule: the gradient is shared evenly between all extremal elements.
      const hit = b.compare('eq', x, b.broadcast(node.id, xShape));
      const count = b.reduce('sum', b.select(hit, b.fillLike(1, x), b.fillLike(0, x)), node.axes);
      const share = b.broadcast(b.binary('div', ct, count), xShape);
      return [b.select(hit, share, b.fillLike(0, x))];
    }
    default:
      return node.fn satisfies never;
  }
}

function transposeLast2(b: GraphBuilder, x: NodeId): NodeId {
  const r = b.shape(x).length;
  const perm = Array.from({ length: r }, (_, i) => i);
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return b.permute(x, perm);
}

function convParams(node: NodeOf<'conv2d'> | NodeOf<'conv_transpose2d'>) {
  return {
    stride: node.stride,
    padding: node.padding,
    dilation: node.dilation,
    groups: node.groups,
  };
}

/** The outputPadding that makes conv_transpose2d return spatial size `size` along one axis. */
function outputPaddingFor(
  size: number,
  outSize: number,
  k: number,
  s: number,
  p: number,
  d: number,
): number {
  return size - ((outSize - 1) * s - 2 * p + d * (k - 1) + 1);
}

function conv2dVjp(b: GraphBuilder, node: NodeOf<'conv2d'>, ct: NodeId): VjpResult {
  const [x, w] = node.inputs;
  const [, , h, wd] = b.shape(x);
  const [, , kh, kw] = b.shape(w);
  const [, , ho, wo] = node.shape;
  const outputPadding: [number, number] = [
    outputPaddingFor(h, ho, kh, node.stride[0], node.padding[0], node.dilation[0]),
    outputPaddingFor(wd, wo, kw, node.stride[1], node.padding[1], node.dilation[1]),
  ];
  const dx = b.add({ op: 'conv_transpose2d', ...convParams(node), outputPadding, inputs: [ct, w] });
  const dw = b.add({
    op: 'conv2d_filter_grad',
    ...convParams(node),
    kernelSize: [kh, kw],
    inputs: [x, ct],
  });
  return [dx, dw];
}

function convTranspose2dVjp(
  b: GraphBuilder,
  node: NodeOf<'conv_transpose2d'>,
  ct: NodeId,
): VjpResult {
  const [x, w] = node.inputs;
  const [, , kh, kw] = b.shape(w);
  const dx = b.add({ op: 'conv2d', ...convParams(node), inputs: [ct, w] });
  const dw = b.add({
    op: 'conv2d_filter_grad',
    ...convParams(node),
    kernelSize: [kh, kw],
    inputs: [ct, x],
  });
  const xs = b.shape(x);
  const dxs = b.shape(dx);
  if (dxs[2] !== xs[2] || dxs[3] !== xs[3]) {
    throw new IrUnsupportedError(
      `conv_transpose2d gradient: outputPadding ≥ stride is not supported`,
    );
  }
  return [dx, dw];
}

function pool2dVjp(b: GraphBuilder, node: NodeOf<'pool2d'>, ct: NodeId): VjpResult {
  const x = node.inputs[0];
  const geometry = { kernel: node.kernel, stride: node.stride, padding: node.padding };
  if (node.fn === 'max') return [b.add({ op: 'max_pool2d_grad', ...geometry, inputs: [x, ct] })];
  // Average pooling is a depthwise convolution with a constant 1/area filter; its VJP is the
  // transposed convolution of the cotangent with that filter, one channel plane at a time.
  const [n, c, h, wd] = b.shape(x);
  const [, , ho, wo] = node.shape;
  const [kh, kw] = node.kernel;
  const planes = b.reshape(ct, [n * c, 1, ho, wo]);
  const filter = b.fill(1 / (kh * kw), [1, 1, kh, kw]);
  const dx = b.add({
    op: 'conv_transpose2d',
    stride: node.stride,
    padding: node.padding,
    dilation: [1, 1],
    groups: 1,
    outputPadding: [
      outputPaddingFor(h, ho, kh, node.stride[0], node.padding[0], 1),
      outputPaddingFor(wd, wo, kw, node.stride[1], node.padding[1], 1),
    ],
    inputs: [planes, filter],
  });
  return [b.reshape(dx, [n, c, h, wd])];
}

/** Scatters a slice's cotangent back into a zero tensor of the operand's shape (pads; strided
 * axes are interleaved with zeros by reshape + pad). */
function sliceVjp(b: GraphBuilder, node: NodeOf<'slice'>, ct: NodeId): VjpResult {
  const inShape = b.shape(node.inputs[0]);
  let g = ct;
  for (let axis = 0; axis < inShape.length; axis++) {
    const step = node.step[axis];
    const start = node.start[axis];
    let shape = [...b.shape(g)];
    const m = shape[axis];
    if (step > 1 && m > 0) {
      const split = [...shape.slice(0, axis), m, 1, ...shape.slice(axis + 1)];
      const low = split.map(() => 0);
      const high = split.map((_, i) => (i === axis + 1 ? step - 1 : 0));
      g = b.add({ op: 'pad', low, high, value: 0, inputs: [b.reshape(g, split)] });
      shape = [...shape.slice(0, axis), m * step, ...shape.slice(axis + 1)];
      g = b.reshape(g, shape);
      const keep = Math.min(m * step, inShape[axis] - start);
      if (keep < m * step) {
        g = b.add({
          op: 'slice',
          start: shape.map(() => 0),
          stop: shape.map((d, i) => (i === axis ? keep : d)),
          step: shape.map(() => 1),
          inputs: [g],
        });
        shape[axis] = keep;
      }
    }
    const high = inShape[axis] - start - shape[axis];
    if (start > 0 || high > 0) {
      g = b.add({
        op: 'pad',
        low: shape.map((_, i) => (i === axis ? start : 0)),
        high: shape.map((_, i) => (i === axis ? high : 0)),
        value: 0,
        inputs: [g],
      });
    }
  }
  return [g];
}

function concatVjp(b: GraphBuilder, node: NodeOf<'concat'>, ct: NodeId): VjpResult {
  let offset = 0;
  return node.inputs.map((operand) => {
    const size = b.shape(operand)[node.axis];
    const part = b.add({
      op: 'slice',
      start: node.shape.map((_, i) => (i === node.axis ? offset : 0)),
      stop: node.shape.map((d, i) => (i === node.axis ? offset + size : d)),
      step: node.shape.map(() => 1),
      inputs: [ct],
    });
    offset += size;
    return part;
  });
}

export const VJP_RULES: VjpTable = {
  input: none,
  fill: none,
  literal: none,
  iota: none,
  random_bits: none,
  unary: unaryVjp,
  binary: binaryVjp,
  compare: none,
  select: (b, node, ct) => {
    const zero = b.fillLike(0, ct);
    const c = node.inputs[0];
    return [null, b.select(c, ct, zero), b.select(c, zero, ct)];
  },
  cast: none,
  reduce: reduceVjp,
  argmax: none,
  matmul: (b, node, ct) => {
    const [x, y] = node.inputs;
    return [
      b.add({ op: 'matmul', inputs: [ct, transposeLast2(b, y)] }),
      b.add({ op: 'matmul', inputs: [transposeLast2(b, x), ct] }),
    ];
  },
  conv2d: conv2dVjp,
  conv_transpose2d: convTranspose2dVjp,
  conv2d_filter_grad: notDifferentiable('conv2d_filter_grad'),
  pool2d: pool2dVjp,
  max_pool2d_grad: notDifferentiable('max_pool2d_grad'),
  reshape: (b, node, ct) => [b.reshape(ct, b.shape(node.inputs[0]))],
  permute: (b, node, ct) => {
    const inverse = new Array<number>(node.perm.length);
    node.perm.forEach((p, i) => (inverse[p] = i));
    return [b.permute(ct, inverse)];
  },
  slice: sliceVjp,
  pad: (b, node, ct) => {
    const inShape = b.shape(node.inputs[0]);
    return [
      b.add({
        op: 'slice',
        start: node.low,
        stop: inShape.map((d, i) => node.low[i] + d),
        step: inShape.map(() => 1),
        inputs: [ct],
      }),
    ];
  },
  broadcast: (b, node, ct) => {
    const inShape = b.shape(node.inputs[0]);
    const axes = inShape.flatMap((d, i) => (d === 1 && node.shape[i] !== 1 ? [i] : []));
    return [axes.length > 0 ? b.reduce('sum', ct, axes) : ct];
  },
  concat: concatVjp,
  gather: (b, node, ct) => {
    const [x, index] = node.inputs;
    const zero = b.fill(0, b.shape(x));
    return [b.add({ op: 'scatter_add', axis: node.axis, inputs: [zero, index, ct] }), null];
  },
  scatter_add: (b, node, ct) => {
    const index = node.inputs[1];
    return [ct, null, b.add({ op: 'gather', axis: node.axis, inputs: [ct, index] })];
  },
  roi_align: (b, node, ct) => {
    const [feat, rois] = node.inputs;
    const grad = b.add({
      op: 'roi_align_grad',
      outputSize: node.outputSize,
      spatialScale: node.spatialScale,
      samplingRatio: node.samplingRatio,
      aligned: node.aligned,
      shape: b.shape(feat),
      dtype: 'f32',
      inputs: [rois, ct],
    });
    return [grad, null];
  },
  roi_align_grad: notDifferentiable('roi_align_grad'),
  routine: none,
};

/** Applies the table entry for `node` (the lookup is typed per op). */
export function applyVjp(b: GraphBuilder, node: Node, ct: NodeId): VjpResult {
  const rule = VJP_RULES[node.op] as VjpRule<Node>;
  return rule(b, node, ct);
}
