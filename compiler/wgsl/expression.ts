// WGSL expressions for fused IR nodes: given the multi-index of an output element, the statements
// that compute it from materialised tensors (storage buffers), inlining elementwise ops, constants
// and movement ops (reshape, permute, slice, pad, broadcast as index arithmetic — no copies), and
// `concat` (a select over operands) and `gather` (a load at a data-dependent index). Used
// by the elementwise and reduction kernel generators. Flow: IR → compiler/fuse (which nodes are
// materialised) → **expression** → compiler/wgsl kernels.

import type {
  BinaryFn,
  CompareFn,
  DType,
  Graph,
  Node,
  NodeId,
  Shape,
  UnaryFn,
} from '../ir/index.js';
import { stridesOf } from '../ir/index.js';

/** A storage buffer the expression reads: one materialised node. */
export interface LoadBinding {
  readonly node: NodeId;
  readonly name: string;
  readonly dtype: DType;
}

export interface ExpressionOptions {
  /** Every value is a vec4 of 4 consecutive elements (all loads must be identity-indexed). */
  readonly vec4?: boolean;
  /** Nodes whose value at the current index is already a WGSL expression (a GEMM accumulator). */
  readonly substitute?: ReadonlyMap<NodeId, string>;
  /** Names of the buffers read: `${bufferPrefix}0`, … */
  readonly bufferPrefix?: string;
}

/** Builds the statements of one kernel; nodes in `materialized` are loaded, others inlined. */
export class ExpressionBuilder {
  readonly lines: string[] = [];
  readonly loads: LoadBinding[] = [];
  readonly #graph: Graph;
  readonly #materialized: ReadonlySet<NodeId>;
  readonly #vec4: boolean;
  #temp = 0;
  readonly #memo = new Map<string, string>();

  readonly #substitute: ReadonlyMap<NodeId, string>;
  readonly #prefix: string;

  constructor(graph: Graph, materialized: ReadonlySet<NodeId>, options: ExpressionOptions = {}) {
    this.#graph = graph;
    this.#materialized = materialized;
    this.#vec4 = options.vec4 ?? false;
    this.#substitute = options.substitute ?? new Map();
    this.#prefix = options.bufferPrefix ?? 'in';
  }

  /** The binding name for a materialised node (declared once). */
  bufferFor(node: NodeId): string {
    const hit = this.loads.find((l) => l.node === node);
    if (hit) return hit.name;
    const name = `${this.#prefix}${this.loads.length}`;
    this.loads.push({ node, name, dtype: this.#graph.nodes[node].dtype });
    return name;
  }

  #let(expr: string, indent = '  '): string {
    const name = `t${this.#temp++}`;
    this.lines.push(`${indent}let ${name} = ${expr};`);
    return name;
  }

  /** An expression (usually a `let` name) for `id` at multi-index `index` (u32 expressions). */
  value(id: NodeId, index: readonly string[], isRoot = true): string {
    const node = this.#graph.nodes[id];
    const given = this.#substitute.get(id);
    if (given !== undefined) return given;
    // A node reached twice at the same index (a diamond in the inlined DAG — fusion inlines cheap
    // nodes into several consumers) reuses its `let` instead of emitting it again. Every kernel
    // evaluates its expression in one scope, so an earlier `let` is always visible.
    const key = `${id}${isRoot ? '!' : ''}@${index.join(',')}`;
    const seen = this.#memo.get(key);
    if (seen !== undefined) return seen;
    const out =
      !isRoot && this.#materialized.has(id) && node.op !== 'fill' && node.op !== 'iota'
        ? this.#load(id, index)
        : this.#compute(node, index);
    this.#memo.set(key, out);
    return out;
  }

  #load(id: NodeId, index: readonly string[]): string {
    const node = this.#graph.nodes[id];
    const buffer = this.bufferFor(id);
    const flat = this.#vec4 ? 'i' : flatIndex(index, node.shape);
    const raw = `${buffer}[${flat}]`;
    return this.#let(node.dtype === 'bool' ? `${raw} != ${this.#vec4 ? 'vec4u(0u)' : '0u'}` : raw);
  }

  #operand(node: Node, k: number, index: readonly string[]): string {
    return this.value(node.inputs[k], index, false);
  }

  #compute(node: Node, index: readonly string[]): string {
    const ty = (d: DType) => wgslType(d, this.#vec4);
    switch (node.op) {
      case 'fill':
        return `${ty(node.dtype)}(${scalarLiteral(node.dtype, node.value)})`;
      case 'iota': {
        if (this.#vec4) throw new Error('iota in a vec4 kernel');
        return this.#let(`${ty(node.dtype)}(${index[node.axis]})`);
      }
      case 'unary':
        return this.#let(unaryWgsl(node.fn, node.dtype, this.#operand(node, 0, index), this.#vec4));
      case 'binary': {
        const a = this.#operand(node, 0, index);
        const b = this.#operand(node, 1, index);
        return this.#let(binaryWgsl(node.fn, node.dtype, a, b, this.#vec4));
      }
      case 'compare': {
        const a = this.#operand(node, 0, index);
        const b = this.#operand(node, 1, index);
        return this.#let(`${a} ${compareOperator(node.fn)} ${b}`);
      }
      case 'select': {
        const c = this.#operand(node, 0, index);
        const t = this.#operand(node, 1, index);
        const f = this.#operand(node, 2, index);
        return this.#let(`select(${f}, ${t}, ${c})`);
      }
      case 'cast': {
        const from = this.#graph.nodes[node.inputs[0]].dtype;
        const x = this.#operand(node, 0, index);
        return this.#let(castWgsl(from, node.dtype, x, this.#vec4));
      }
      case 'reshape':
      case 'permute':
      case 'slice':
      case 'broadcast':
      case 'pad':
        return this.#movement(node, index);
      case 'gather':
        return this.#gather(node, index);
      case 'concat':
        return this.#concat(node, index);
      default:
        throw new Error(`expression: op '${node.op}' (node %${node.id}) cannot be inlined`);
    }
  }

  /** A load at a data-dependent index along `axis`; an index outside [0, size) reads 0. */
  #gather(node: Extract<Node, { op: 'gather' }>, index: readonly string[]): string {
    if (this.#vec4) throw new Error('gather in a vec4 kernel');
    const zero = `${wgslType(node.dtype, false)}(${scalarLiteral(node.dtype, 0)})`;
    const size = this.#graph.nodes[node.inputs[0]].shape[node.axis];
    if (size === 0) return zero;
    const at = this.#operand(node, 1, index);
    const ok = this.#let(`${at} >= 0i && ${at} < ${size}i`);
    const clamped = this.#let(`u32(clamp(${at}, 0i, ${size - 1}i))`);
    const value = this.#operand(
      node,
      0,
      index.map((o, d) => (d === node.axis ? clamped : o)),
    );
    return this.#let(`select(${zero}, ${value}, ${ok})`);
  }

  /**
   * A select over which operand the index along `axis` falls in. Every operand is read (at an
   * index clamped into its range), so the statements stay straight-line like the rest of a kernel.
   */
  #concat(node: Extract<Node, { op: 'concat' }>, index: readonly string[]): string {
    if (this.#vec4) throw new Error('concat in a vec4 kernel');
    const at = index[node.axis];
    let result: string | undefined;
    let offset = 0;
    node.inputs.forEach((id, k) => {
      const size = this.#graph.nodes[id].shape[node.axis];
      if (size === 0) return;
      const local =
        offset === 0
          ? `min(${at}, ${size - 1}u)`
          : `min(${at} - min(${at}, ${offset}u), ${size - 1}u)`;
      const inner = index.map((o, d) => (d === node.axis ? this.#let(local) : o));
      const value = this.#operand(node, k, inner);
      result =
        result === undefined
          ? value
          : this.#let(`select(${result}, ${value}, ${at} >= ${offset}u)`);
      offset += size;
    });
    return result ?? `${wgslType(node.dtype, false)}(${scalarLiteral(node.dtype, 0)})`;
  }

  #movement(
    node: Extract<Node, { op: 'reshape' | 'permute' | 'slice' | 'broadcast' | 'pad' }>,
    index: readonly string[],
  ): string {
    if (this.#vec4) throw new Error('movement op in a vec4 kernel');
    const inShape = this.#graph.nodes[node.inputs[0]].shape;
    const idx = (e: string) => this.#let(e);
    switch (node.op) {
      case 'reshape': {
        const flat = idx(flatIndex(index, node.shape));
        return this.#operand(node, 0, unflatten(flat, inShape).map(idx));
      }
      case 'permute': {
        const src = new Array<string>(index.length);
        node.perm.forEach((p, i) => (src[p] = index[i]));
        return this.#operand(node, 0, src);
      }
      case 'slice':
        return this.#operand(
          node,
          0,
          index.map((o, i) =>
            node.start[i] === 0 && node.step[i] === 1
              ? o
              : idx(`${node.start[i]}u + ${o} * ${node.step[i]}u`),
          ),
        );
      case 'broadcast':
        return this.#operand(
          node,
          0,
          index.map((o, i) => (inShape[i] === 1 && node.shape[i] !== 1 ? '0u' : o)),
        );
      case 'pad': {
        const shifted = index.map((o, i) =>
          node.low[i] === 0 ? o : idx(`${o} - ${node.low[i]}u`),
        );
        const inside = shifted.map((s, i) => `${s} < ${inShape[i]}u`).join(' && ') || 'true';
        const ok = this.#let(inside);
        const clamped = shifted.map((s, i) => idx(`min(${s}, ${Math.max(inShape[i] - 1, 0)}u)`));
        const inner = this.#operand(node, 0, clamped);
        const fill = `${wgslType(node.dtype, false)}(${scalarLiteral(node.dtype, node.value)})`;
        return this.#let(`select(${fill}, ${inner}, ${ok})`);
      }
      default:
        return node satisfies never;
    }
  }
}

/** Declares the run-time inf/NaN bit patterns that `scalarLiteral` refers to. */
export const SPECIAL_FLOATS =
  'var<private> INF_BITS: u32 = 0x7f800000u;\nvar<private> NAN_BITS: u32 = 0x7fc00000u;';

/** Row-major flat offset expression of a multi-index in a contiguous tensor. */
export function flatIndex(index: readonly string[], shape: Shape): string {
  const strides = stridesOf(shape);
  const terms = index
    .map((e, i) => (shape[i] === 1 ? '' : strides[i] === 1 ? e : `${e} * ${strides[i]}u`))
    .filter((t) => t !== '');
  return terms.length === 0 ? '0u' : terms.join(' + ');
}

/** Multi-index expressions of a flat offset expression in `shape`. */
export function unflatten(flat: string, shape: Shape): string[] {
  const strides = stridesOf(shape);
  return shape.map((d, i) => {
    if (d === 1) return '0u';
    const q = strides[i] === 1 ? flat : `(${flat} / ${strides[i]}u)`;
    return i === 0 ? q : `${q} % ${d}u`;
  });
}

export function wgslType(dtype: DType, vec4: boolean): string {
  const s = dtype === 'f32' ? 'f32' : dtype === 'i32' ? 'i32' : dtype === 'u32' ? 'u32' : 'bool';
  return vec4 ? `vec4<${s}>` : s;
}

/** How a dtype is stored in a storage buffer (bool as u32). */
export function storageType(dtype: DType, vec4: boolean): string {
  return wgslType(dtype === 'bool' ? 'u32' : dtype, vec4);
}

export function scalarLiteral(dtype: DType, value: number): string {
  switch (dtype) {
    case 'f32':
      // WGSL constant expressions cannot be inf/NaN: read the bits from private vars at run time.
      if (Number.isNaN(value)) return 'bitcast<f32>(NAN_BITS)';
      if (value === Infinity) return 'bitcast<f32>(INF_BITS)';
      if (value === -Infinity) return '-bitcast<f32>(INF_BITS)';
      {
        const text = `${Math.fround(value)}`;
        return /[.e]/.test(text) ? text : `${text}.0`;
      }
    case 'i32':
      return `${value | 0}`;
    case 'u32':
      return `${value >>> 0}u`;
    case 'bool':
      return value ? 'true' : 'false';
    default:
      return dtype satisfies never;
  }
}

function unaryWgsl(fn: UnaryFn, dtype: DType, x: string, vec4: boolean): string {
  const one = vec4 ? 'vec4f(1.0)' : '1.0';
  switch (fn) {
    case 'neg':
      return `-${x}`;
    case 'abs':
      return `abs(${x})`;
    case 'sign':
      return `sign(${x})`;
    case 'exp':
    case 'log':
    case 'sqrt':
    case 'sin':
    case 'cos':
    case 'tanh':
    case 'atan':
    case 'floor':
    case 'ceil':
    case 'round':
      return `${fn}(${x})`;
    case 'rsqrt':
      return `inverseSqrt(${x})`;
    case 'recip':
      return `${one} / ${x}`;
    case 'sigmoid':
      return `${one} / (${one} + exp(-${x}))`;
    case 'not':
      return dtype === 'bool' ? `!${x}` : `~${x}`;
    default:
      return fn satisfies never;
  }
}

function binaryWgsl(fn: BinaryFn, dtype: DType, a: string, b: string, vec4: boolean): string {
  switch (fn) {
    case 'add':
      return `${a} + ${b}`;
    case 'sub':
      return `${a} - ${b}`;
    case 'mul':
      return `${a} * ${b}`;
    case 'div':
      return dtype === 'f32'
        ? `${a} / ${b}`
        : `select(${a} / ${b}, ${a}, ${b} == ${wgslType(dtype, vec4)}(0))`;
    case 'max':
    case 'min':
      return `${fn}(${a}, ${b})`;
    case 'pow':
      return `pow(${a}, ${b})`;
    case 'rem':
      return dtype === 'f32'
        ? `${a} % ${b}`
        : `select(${a} % ${b}, ${wgslType(dtype, vec4)}(0), ${b} == ${wgslType(dtype, vec4)}(0))`;
    case 'atan2':
      return `atan2(${a}, ${b})`;
    case 'and':
      return dtype === 'bool' ? `${a} && ${b}` : `${a} & ${b}`;
    case 'or':
      return dtype === 'bool' ? `${a} || ${b}` : `${a} | ${b}`;
    case 'xor':
      return dtype === 'bool' ? `${a} != ${b}` : `${a} ^ ${b}`;
    case 'shl':
      return `${a} << (${wgslType('u32', vec4)}(${b}) & ${wgslType('u32', vec4)}(31u))`;
    case 'shr':
      return `${a} >> (${wgslType('u32', vec4)}(${b}) & ${wgslType('u32', vec4)}(31u))`;
    default:
      return fn satisfies never;
  }
}

function compareOperator(fn: CompareFn): string {
  switch (fn) {
    case 'lt':
      return '<';
    case 'le':
      return '<=';
    case 'gt':
      return '>';
    case 'ge':
      return '>=';
    case 'eq':
      return '==';
    case 'ne':
      return '!=';
    default:
      return fn satisfies never;
  }
}

function castWgsl(from: DType, to: DType, x: string, vec4: boolean): string {
  const t = wgslType(to, vec4);
  if (from === to) return x;
  if (to === 'bool')
    return from === 'f32'
      ? `${x} != ${wgslType('f32', vec4)}(0.0)`
      : `${x} != ${wgslType(from, vec4)}(0)`;
  if (from === 'bool') return `select(${t}(0), ${t}(1), ${x})`;
  if (from === 'f32') return `select(${t}(${x}), ${t}(0), ${x} != ${x})`;
  if (to === 'f32') return `${t}(${x})`;
  return `bitcast<${t}>(${x})`;
}
