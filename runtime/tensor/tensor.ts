// The user-facing Tensor: numpy/PyTorch-style operations (broadcasting, negative axes, keepDims)
// that record IR primitives into a Trace. Values are lazy: `await t.data()` cuts the needed part of
// the trace into a graph and runs it on a Backend (CPU reference by default). The same code traces a
// whole step when its inputs are placeholders (see runtime/autodiff/grad.ts).
// Flow: Tensor API → **IR nodes in a Trace** → Backend.
import type { DType, NodeId, NodeSpec, Shape } from '../../compiler/ir/index.js';
import type { TensorData } from '../cpu/tensor-data.js';
import { tensorData } from '../cpu/tensor-data.js';
import type { Backend } from './backend.js';
import { cpuReferenceBackend } from './backend.js';
import type { ConvOptions } from './args.js';
import { broadcastShapes, convParams, normAxis, pairOf } from './args.js';
import { TensorShapeError } from './errors.js';
import { Trace } from './trace.js';

export { broadcastShapes } from './args.js';
export type { ConvOptions } from './args.js';

let currentTrace = new Trace();
let defaultBackend: Backend = cpuReferenceBackend();

/** The trace new eager tensors are recorded in. */
export function activeTrace(): Trace {
  return currentTrace;
}

/** Runs `fn` with `trace` as the active trace (for tracing a function, or a scoped eager session). */
export function withTrace<T>(trace: Trace, fn: () => T): T {
  const saved = currentTrace;
  currentTrace = trace;
  try {
    return fn();
  } finally {
    currentTrace = saved;
  }
}

export function setDefaultBackend(backend: Backend): void {
  defaultBackend = backend;
}

export type TensorLike = Tensor | number;

export class Tensor {
  constructor(
    readonly trace: Trace,
    readonly id: NodeId,
  ) {}

  // ---- creation ---------------------------------------------------------------------------------
  static from(value: TensorData, trace: Trace = currentTrace): Tensor {
    return new Tensor(trace, trace.input(value, value.shape, value.dtype));
  }
  static of(shape: Shape, values: ArrayLike<number>, dtype: DType = 'f32'): Tensor {
    return Tensor.from(tensorData(shape, values, dtype));
  }
  static full(
    shape: Shape,
    value: number,
    dtype: DType = 'f32',
    trace: Trace = currentTrace,
  ): Tensor {
    return new Tensor(trace, trace.record(trace.builder.fill(value, shape, dtype)));
  }
  static iota(
    shape: Shape,
    axis: number,
    dtype: DType = 'i32',
    trace: Trace = currentTrace,
  ): Tensor {
    return new Tensor(
      trace,
      trace.record(trace.builder.add({ op: 'iota', axis, shape, dtype, inputs: [] })),
    );
  }
  static randomBits(key: Tensor, shape: Shape): Tensor {
    return key.#make({ op: 'random_bits', shape, dtype: 'u32', inputs: [key.id] });
  }
  /** Uniform f32 in [0, 1) from the top 24 of the random bits (exactly representable). */
  static uniform(key: Tensor, shape: Shape): Tensor {
    const bits = Tensor.randomBits(key, shape);
    const top = bits.#binaryOp('shr', Tensor.full(shape, 8, 'u32', key.trace));
    return top.cast('f32').mul(2 ** -24);
  }

  get shape(): Shape {
    return this.trace.builder.shape(this.id);
  }
  get dtype(): DType {
    return this.trace.builder.type(this.id).dtype;
  }
  get rank(): number {
    return this.shape.length;
  }

  #make(spec: NodeSpec): Tensor {
    return new Tensor(this.trace, this.trace.record(this.trace.builder.add(spec)));
  }

  #lift(v: TensorLike): Tensor {
    if (typeof v === 'number') return Tensor.full([], v, this.dtype, this.trace);
    if (v.trace !== this.trace)
      throw new TensorShapeError('tensors from different traces cannot be combined');
    return v;
  }

  /** numpy-style broadcast to `shape` (leading 1s added, then size-1 dims repeated). */
  broadcastTo(shape: Shape): Tensor {
    const lead = shape.length - this.rank;
    if (lead < 0)
      throw new TensorShapeError(`cannot broadcast rank ${this.rank} to [${shape.join(',')}]`);
    const padded = this.reshape([...new Array<number>(lead).fill(1), ...this.shape]);
    const id = this.trace.builder.broadcast(padded.id, shape);
    return id === padded.id ? padded : new Tensor(this.trace, this.trace.record(id));
  }

  #binaryOp(fn: Extract<NodeSpec, { op: 'binary' }>['fn'], other: TensorLike): Tensor {
    const o = this.#lift(other);
    const shape = broadcastShapes(this.shape, o.shape);
    return this.#make({
      op: 'binary',
      fn,
      inputs: [this.broadcastTo(shape).id, o.broadcastTo(shape).id],
    });
  }
  #compareOp(fn: Extract<NodeSpec, { op: 'compare' }>['fn'], other: TensorLike): Tensor {
    const o = this.#lift(other);
    const shape = broadcastShapes(this.shape, o.shape);
    return this.#make({
      op: 'compare',
      fn,
      inputs: [this.broadcastTo(shape).id, o.broadcastTo(shape).id],
    });
  }
  #unaryOp(fn: Extract<NodeSpec, { op: 'unary' }>['fn']): Tensor {
    return this.#make({ op: 'unary', fn, inputs: [this.id] });
  }

  // ---- elementwise ------------------------------------------------------------------------------
  add(o: TensorLike): Tensor {
    return this.#binaryOp('add', o);
  }
  sub(o: TensorLike): Tensor {
    return this.#binaryOp('sub', o);
  }
  mul(o: TensorLike): Tensor {
    return this.#binaryOp('mul', o);
  }
  div(o: TensorLike): Tensor {
    return this.#binaryOp('div', o);
  }
  maximum(o: TensorLike): Tensor {
    return this.#binaryOp('max', o);
  }
  minimum(o: TensorLike): Tensor {
    return this.#binaryOp('min', o);
  }
  pow(o: TensorLike): Tensor {
    return this.#binaryOp('pow', o);
  }
  rem(o: TensorLike): Tensor {
    return this.#binaryOp('rem', o);
  }
  atan2(o: TensorLike): Tensor {
    return this.#binaryOp('atan2', o);
  }
  and(o: TensorLike): Tensor {
    return this.#binaryOp('and', o);
  }
  or(o: TensorLike): Tensor {
    return this.#binaryOp('or', o);
  }
  lt(o: TensorLike): Tensor {
    return this.#compareOp('lt', o);
  }
  le(o: TensorLike): Tensor {
    return this.#compareOp('le', o);
  }
  gt(o: TensorLike): Tensor {
    return this.#compareOp('gt', o);
  }
  ge(o: TensorLike): Tensor {
    return this.#compareOp('ge', o);
  }
  eq(o: TensorLike): Tensor {
    return this.#compareOp('eq', o);
  }
  ne(o: TensorLike): Tensor {
    return this.#compareOp('ne', o);
  }
  neg(): Tensor {
    return this.#unaryOp('neg');
  }
  abs(): Tensor {
    return this.#unaryOp('abs');
  }
  sign(): Tensor {
    return this.#unaryOp('sign');
  }
  exp(): Tensor {
    return this.#unaryOp('exp');
  }
  log(): Tensor {
    return this.#unaryOp('log');
  }
  sqrt(): Tensor {
    return this.#unaryOp('sqrt');
  }
  rsqrt(): Tensor {
    return this.#unaryOp('rsqrt');
  }
  recip(): Tensor {
    return this.#unaryOp('recip');
  }
  sin(): Tensor {
    return this.#unaryOp('sin');
  }
  cos(): Tensor {
    return this.#unaryOp('cos');
  }
  tanh(): Tensor {
    return this.#unaryOp('tanh');
  }
  atan(): Tensor {
    return this.#unaryOp('atan');
  }
  sigmoid(): Tensor {
    return this.#unaryOp('sigmoid');
  }
  floor(): Tensor {
    return this.#unaryOp('floor');
  }
  ceil(): Tensor {
    return this.#unaryOp('ceil');
  }
  round(): Tensor {
    return this.#unaryOp('round');
  }
  not(): Tensor {
    return this.#unaryOp('not');
  }
  relu(): Tensor {
    return this.maximum(0);
  }
  square(): Tensor {
    return this.mul(this);
  }
  cast(dtype: DType): Tensor {
    return new Tensor(this.trace, this.trace.record(this.trace.builder.cast(this.id, dtype)));
  }
  /** `cond ? a : b` elementwise, with broadcasting. */
  static where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
    const ta =
      typeof a === 'number'
        ? Tensor.full([], a, typeof b === 'number' ? 'f32' : b.dtype, cond.trace)
        : a;
    const tb = typeof b === 'number' ? Tensor.full([], b, ta.dtype, cond.trace) : b;
    const shape = broadcastShapes(broadcastShapes(cond.shape, ta.shape), tb.shape);
    return cond.#make({
      op: 'select',
      inputs: [cond.broadcastTo(shape).id, ta.broadcastTo(shape).id, tb.broadcastTo(shape).id],
    });
  }

  // ---- reductions -------------------------------------------------------------------------------
  #reduceOp(
    fn: 'sum' | 'max' | 'min',
    axes: number | readonly number[] | undefined,
    keepDims: boolean,
  ): Tensor {
    const list =
      axes === undefined ? this.shape.map((_, i) => i) : typeof axes === 'number' ? [axes] : axes;
    const norm = [...new Set(list.map((a) => normAxis(a, this.rank)))].sort((a, b) => a - b);
    const reduced =
      norm.length === 0 ? this : this.#make({ op: 'reduce', fn, axes: norm, inputs: [this.id] });
    return keepDims ? reduced : reduced.reshape(this.shape.filter((_, i) => !norm.includes(i)));
  }
  sum(axes?: number | readonly number[], keepDims = false): Tensor {
    return this.#reduceOp('sum', axes, keepDims);
  }
  max(axes?: number | readonly number[], keepDims = false): Tensor {
    return this.#reduceOp('max', axes, keepDims);
  }
  min(axes?: number | readonly number[], keepDims = false): Tensor {
    return this.#reduceOp('min', axes, keepDims);
  }
  mean(axes?: number | readonly number[], keepDims = false): Tensor {
    const s = this.sum(axes, keepDims);
    const count =
      this.shape.reduce((a, b) => a * b, 1) /
      Math.max(
        1,
        s.shape.reduce((a, b) => a * b, 1),
      );
    return s.div(count);
  }
  argmax(axis: number, keepDims = false): Tensor {
    const a = normAxis(axis, this.rank);
    const r = this.#make({ op: 'argmax', axis: a, inputs: [this.id] });
    return keepDims ? r : r.reshape(this.shape.filter((_, i) => i !== a));
  }

  // ---- contractions -----------------------------------------------------------------------------
  /** Batched matmul with broadcast batch dims; 1-D operands are not promoted (use reshape). */
  matmul(other: Tensor): Tensor {
    const o = this.#lift(other);
    if (this.rank < 2 || o.rank < 2)
      throw new TensorShapeError('matmul needs operands of rank ≥ 2');
    const batch = broadcastShapes(this.shape.slice(0, -2), o.shape.slice(0, -2));
    const a = this.broadcastTo([...batch, ...this.shape.slice(-2)]);
    const b = o.broadcastTo([...batch, ...o.shape.slice(-2)]);
    return this.#make({ op: 'matmul', inputs: [a.id, b.id] });
  }
  conv2d(w: Tensor, options: ConvOptions = {}): Tensor {
    return this.#make({
      op: 'conv2d',
      ...convParams(options),
      inputs: [this.id, this.#lift(w).id],
    });
  }
  convTranspose2d(
    w: Tensor,
    options: ConvOptions & { outputPadding?: number | [number, number] } = {},
  ): Tensor {
    return this.#make({
      op: 'conv_transpose2d',
      ...convParams(options),
      outputPadding: pairOf(options.outputPadding, 0),
      inputs: [this.id, this.#lift(w).id],
    });
  }
  #pool(
    fn: 'max' | 'avg',
    kernel: number | [number, number],
    stride?: number | [number, number],
    padding?: number | [number, number],
  ): Tensor {
    const k = pairOf(kernel, 1);
    return this.#make({
      op: 'pool2d',
      fn,
      kernel: k,
      stride: stride === undefined ? k : pairOf(stride, 1),
      padding: pairOf(padding, 0),
      inputs: [this.id],
    });
  }
  maxPool2d(
    kernel: number | [number, number],
    stride?: number | [number, number],
    padding?: number | [number, number],
  ): Tensor {
    return this.#pool('max', kernel, stride, padding);
  }
  avgPool2d(
    kernel: number | [number, number],
    stride?: number | [number, number],
    padding?: number | [number, number],
  ): Tensor {
    return this.#pool('avg', kernel, stride, padding);
  }

  // ---- movement ---------------------------------------------------------------------------------
  /** New shape with the same element count; one entry may be -1 (inferred). */
  reshape(shape: readonly number[]): Tensor {
    const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const total = this.shape.reduce((a, b) => a * b, 1);
    const resolved = shape.map((d) => (d === -1 ? total / known : d));
    const id = this.trace.builder.reshape(this.id, resolved);
    return id === this.id ? this : new Tensor(this.trace, this.trace.record(id));
  }
  permute(perm: readonly number[]): Tensor {
    const id = this.trace.builder.permute(
      this.id,
      perm.map((p) => normAxis(p, this.rank)),
    );
    return id === this.id ? this : new Tensor(this.trace, this.trace.record(id));
  }
  transpose(a = -2, b = -1): Tensor {
    const perm = this.shape.map((_, i) => i);
    const [x, y] = [normAxis(a, this.rank), normAxis(b, this.rank)];
    [perm[x], perm[y]] = [perm[y], perm[x]];
    return this.permute(perm);
  }
  /** Per axis `[start, stop, step?]` (negative start/stop count from the end) or null for all. */
  slice(ranges: readonly (readonly [number, number, number?] | null)[]): Tensor {
    const start: number[] = [];
    const stop: number[] = [];
    const step: number[] = [];
    this.shape.forEach((d, i) => {
      const r = ranges[i] ?? null;
      const norm = (v: number) => Math.min(d, Math.max(0, v < 0 ? v + d : v));
      start.push(r === null ? 0 : norm(r[0]));
      stop.push(r === null ? d : Math.max(norm(r[0]), norm(r[1])));
      step.push(r === null ? 1 : (r[2] ?? 1));
    });
    return this.#make({ op: 'slice', start, stop, step, inputs: [this.id] });
  }
  pad(low: readonly number[], high: readonly number[], value = 0): Tensor {
    return this.#make({ op: 'pad', low, high, value, inputs: [this.id] });
  }
  static concat(parts: readonly Tensor[], axis: number): Tensor {
    const first = parts[0];
    if (first === undefined) throw new TensorShapeError('concat needs at least one tensor');
    return first.#make({
      op: 'concat',
      axis: normAxis(axis, first.rank),
      inputs: parts.map((p) => first.#lift(p).id),
    });
  }

  // ---- indexing ---------------------------------------------------------------------------------
  gather(axis: number, index: Tensor): Tensor {
    return this.#make({
      op: 'gather',
      axis: normAxis(axis, this.rank),
      inputs: [this.id, this.#lift(index).id],
    });
  }
  scatterAdd(axis: number, index: Tensor, src: Tensor): Tensor {
    return this.#make({
      op: 'scatter_add',
      axis: normAxis(axis, this.rank),
      inputs: [this.id, this.#lift(index).id, this.#lift(src).id],
    });
  }
  /** Rows `index[i]` of a `[M, ...]` tensor (index i32 `[K]`) → `[K, ...]`. */
  takeRows(index: Tensor): Tensor {
    const rest = this.shape.slice(1);
    const idx = index
      .reshape([index.shape[0], ...rest.map(() => 1)])
      .broadcastTo([index.shape[0], ...rest]);
    return this.gather(0, idx);
  }

  // ---- detection and routines -------------------------------------------------------------------
  roiAlign(
    rois: Tensor,
    o: {
      outputSize: [number, number];
      spatialScale: number;
      samplingRatio: number;
      aligned: boolean;
    },
  ): Tensor {
    return this.#make({ op: 'roi_align', ...o, inputs: [this.id, this.#lift(rois).id] });
  }
  argsort(axis = -1, descending = false): Tensor {
    return this.#make({
      op: 'routine',
      routine: { kind: 'argsort', axis: normAxis(axis, this.rank), descending },
      inputs: [this.id],
    });
  }
  topKIndices(k: number): Tensor {
    return this.#make({ op: 'routine', routine: { kind: 'top_k', k }, inputs: [this.id] });
  }
  static nms(boxes: Tensor, scores: Tensor, iouThreshold: number, maxOutput: number): Tensor {
    return boxes.#make({
      op: 'routine',
      routine: { kind: 'nms', iouThreshold, maxOutput },
      inputs: [boxes.id, boxes.#lift(scores).id],
    });
  }

  // ---- values -----------------------------------------------------------------------------------
  /** Computes this tensor's value (once; later calls reuse it). */
  async data(backend: Backend = defaultBackend): Promise<TensorData> {
    const [value] = await this.trace.realize([this.id], backend);
    return value;
  }
  async toArray(backend: Backend = defaultBackend): Promise<number[]> {
    return Array.from((await this.data(backend)).data);
  }
}
