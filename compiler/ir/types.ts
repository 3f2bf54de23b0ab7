// The primitive tensor IR: node types of the graph that `compiler/lower` (and the runtime's Tensor
// front end and autodiff) produce, and that `compiler/fuse` + `compiler/wgsl` and the CPU reference
// (`runtime/cpu`) consume. Flow: checked AST → **IR** → kernels → runtime.
//
// A graph is a flat, topologically ordered array of single-output nodes; a node names its operands
// by `NodeId` (its index in that array). Every node carries its static result shape and dtype.
// Elementwise nodes need operands of exactly equal shape: broadcasting is an explicit `broadcast`
// node, so codegen and the VJP table never guess. Nodes are plain readonly data (JSON-serialisable),
// a discriminated union on `op`.

/** Element types. `bool` is stored as one byte on the CPU and as u32 (0/1) on the GPU. */
export type DType = 'f32' | 'i32' | 'u32' | 'bool';
export const DTYPES: readonly DType[] = ['f32', 'i32', 'u32', 'bool'];

/** A static shape, outermost dimension first; `[]` is a scalar. */
export type Shape = readonly number[];

/** The index of a node in its graph's `nodes` array. */
export type NodeId = number;

export interface TensorType {
  readonly shape: Shape;
  readonly dtype: DType;
}

/** Elementwise one-operand functions. Math functions take f32; `neg`/`abs`/`sign` also i32; `not` takes bool/i32/u32. */
export type UnaryFn =
  | 'neg'
  | 'abs'
  | 'sign'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'rsqrt'
  | 'recip'
  | 'sin'
  | 'cos'
  | 'tanh'
  | 'atan'
  | 'sigmoid'
  | 'floor'
  | 'ceil'
  | 'round'
  | 'not';
export const UNARY_FNS: readonly UnaryFn[] = [
  'neg',
  'abs',
  'sign',
  'exp',
  'log',
  'sqrt',
  'rsqrt',
  'recip',
  'sin',
  'cos',
  'tanh',
  'atan',
  'sigmoid',
  'floor',
  'ceil',
  'round',
  'not',
];

/**
 * Elementwise two-operand functions; both operands have the same shape and dtype, the result too.
 * `rem` truncates (sign of the dividend, like WGSL `%` and C `fmod`); `div` on integers truncates.
 * `and`/`or`/`xor` are bitwise on i32/u32 and logical on bool; `shl`/`shr` on i32/u32 (`shr` on
 * i32 is arithmetic). `pow` and `atan2` take f32.
 */
export type BinaryFn =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'max'
  | 'min'
  | 'pow'
  | 'rem'
  | 'atan2'
  | 'and'
  | 'or'
  | 'xor'
  | 'shl'
  | 'shr';
export const BINARY_FNS: readonly BinaryFn[] = [
  'add',
  'sub',
  'mul',
  'div',
  'max',
  'min',
  'pow',
  'rem',
  'atan2',
  'and',
  'or',
  'xor',
  'shl',
  'shr',
];

/** Elementwise comparisons; operands of equal shape and dtype, result `bool`. */
export type CompareFn = 'lt' | 'le' | 'gt' | 'ge' | 'eq' | 'ne';
export const COMPARE_FNS: readonly CompareFn[] = ['lt', 'le', 'gt', 'ge', 'eq', 'ne'];

/** Reductions over a set of axes. The reduced axes stay, with size 1 (keepdims), so that a
 * reduction's result broadcasts back without a reshape. */
export type ReduceFn = 'sum' | 'max' | 'min';
export const REDUCE_FNS: readonly ReduceFn[] = ['sum', 'max', 'min'];

/** A 2-D convolution's geometry, PyTorch's conventions (symmetric padding). */
export interface Conv2dParams {
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly groups: number;
}

/** Routines: host-style algorithms that do not fuse. Each is one node with one output. */
export type Routine =
  /** Indices that sort `x` along `axis` (stable); i32, same shape as `x`. */
  | { readonly kind: 'argsort'; readonly axis: number; readonly descending: boolean }
  /** Indices of the `k` largest values along the last axis, largest first (ties: lower index
   * first); i32 `[..., k]`. */
  | { readonly kind: 'top_k'; readonly k: number }
  /** Greedy non-maximum suppression over boxes `[N, 4]` (x1, y1, x2, y2) with scores `[N]`:
   * indices of the kept boxes by descending score, padded with -1 to `maxOutput`; i32 `[maxOutput]`.
   * A box is suppressed when its IoU with a kept box is > `iouThreshold` (torchvision's rule). */
  | { readonly kind: 'nms'; readonly iouThreshold: number; readonly maxOutput: number };
export type RoutineKind = Routine['kind'];

interface Base {
  readonly id: NodeId;
  readonly shape: Shape;
  readonly dtype: DType;
  /** Operand node ids, in the order each op documents. */
  readonly inputs: readonly NodeId[];
}

// ---- leaves -------------------------------------------------------------------------------------
/** A graph input (parameter, data batch, key…); `name` is unique within the graph. */
export interface InputNode extends Base {
  readonly op: 'input';
  readonly name: string;
}
/** A constant: every element equals `value`. */
export interface FillNode extends Base {
  readonly op: 'fill';
  readonly value: number;
}
/** A small constant tensor given element by element, row-major (bool as 0/1). */
export interface LiteralNode extends Base {
  readonly op: 'literal';
  readonly values: readonly number[];
}
/** Each element's index along `axis` (i32, or f32/u32 if asked). */
export interface IotaNode extends Base {
  readonly op: 'iota';
  readonly axis: number;
}
/** Counter-based random bits: inputs `[key: u32[2]]`; element i (row-major) = word 0 of
 * Threefry-2x32-20(key, counter = (i, 0)). u32 of `shape`. */
export interface RandomBitsNode extends Base {
  readonly op: 'random_bits';
}

// ---- elementwise --------------------------------------------------------------------------------
export interface UnaryNode extends Base {
  readonly op: 'unary';
  readonly fn: UnaryFn;
}
export interface BinaryNode extends Base {
  readonly op: 'binary';
  readonly fn: BinaryFn;
}
export interface CompareNode extends Base {
  readonly op: 'compare';
  readonly fn: CompareFn;
}
/** inputs `[cond: bool, ifTrue, ifFalse]`, all the same shape. */
export interface SelectNode extends Base {
  readonly op: 'select';
}
/** Value conversion to `dtype` (f32→int truncates toward zero, saturating; i32↔u32 keeps bits;
 * nonzero→bool true; bool→1/0). */
export interface CastNode extends Base {
  readonly op: 'cast';
}

// ---- reductions ---------------------------------------------------------------------------------
/** `axes` sorted ascending, unique; reduced axes become size 1. */
export interface ReduceNode extends Base {
  readonly op: 'reduce';
  readonly fn: ReduceFn;
  readonly axes: readonly number[];
}
/** Index of the first maximum along `axis` (size-1 axis kept); i32. */
export interface ArgmaxNode extends Base {
  readonly op: 'argmax';
  readonly axis: number;
}

// ---- contractions and convolutions ---------------------------------------------------------------
/** inputs `[a: [...B, M, K], b: [...B, K, N]]` → `[...B, M, N]`; batch dims equal (broadcast
 * explicitly). f32. */
export interface MatmulNode extends Base {
  readonly op: 'matmul';
}
/** inputs `[x: [N, C, H, W], w: [O, C/groups, KH, KW]]` → `[N, O, HO, WO]`,
 * HO = floor((H + 2·ph − dh·(KH−1) − 1) / sh) + 1. f32. No bias (add it). */
export interface Conv2dNode extends Base, Conv2dParams {
  readonly op: 'conv2d';
}
/** The transpose of conv2d with respect to its input (PyTorch `conv_transpose2d`):
 * inputs `[x: [N, C, H, W], w: [C, O/groups, KH, KW]]` → `[N, O, HO, WO]`,
 * HO = (H−1)·sh − 2·ph + dh·(KH−1) + outputPadding_h + 1. f32. */
export interface ConvTranspose2dNode extends Base, Conv2dParams {
  readonly op: 'conv_transpose2d';
  readonly outputPadding: readonly [number, number];
}
/** The gradient of conv2d with respect to its filter: inputs `[x: [N, C, H, W], dy: [N, O, HO, WO]]`
 * → `[O, C/groups, KH, KW]` (`kernelSize`), summing over n and output positions. f32. */
export interface Conv2dFilterGradNode extends Base, Conv2dParams {
  readonly op: 'conv2d_filter_grad';
  readonly kernelSize: readonly [number, number];
}

// ---- pooling ------------------------------------------------------------------------------------
/** inputs `[x: [N, C, H, W]]`; windows of `kernel` with `stride` and symmetric zero `padding`
 * (padding never wins a max; avg divides by the full window, count_include_pad). Floor mode. */
export interface Pool2dNode extends Base {
  readonly op: 'pool2d';
  readonly fn: 'max' | 'avg';
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
}
/** The VJP of max pooling: inputs `[x, dy]` → dx shaped like x; each window's gradient goes to the
 * first maximal element of that window. */
export interface MaxPool2dGradNode extends Base {
  readonly op: 'max_pool2d_grad';
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
}

// ---- movement (views where possible) -------------------------------------------------------------
/** Same elements in row-major order, new shape (same element count). */
export interface ReshapeNode extends Base {
  readonly op: 'reshape';
}
/** out.shape[i] = in.shape[perm[i]]. */
export interface PermuteNode extends Base {
  readonly op: 'permute';
  readonly perm: readonly number[];
}
/** Per axis: elements start, start+step, … < stop (0 ≤ start ≤ stop ≤ size, step ≥ 1). */
export interface SliceNode extends Base {
  readonly op: 'slice';
  readonly start: readonly number[];
  readonly stop: readonly number[];
  readonly step: readonly number[];
}
/** Per axis: `low` and `high` elements of `value` added (non-negative). */
export interface PadNode extends Base {
  readonly op: 'pad';
  readonly low: readonly number[];
  readonly high: readonly number[];
  readonly value: number;
}
/** Same rank; each input dim equals the output dim or is 1 (repeated). */
export interface BroadcastNode extends Base {
  readonly op: 'broadcast';
}
/** inputs joined along `axis` (all other dims equal, same dtype). */
export interface ConcatNode extends Base {
  readonly op: 'concat';
  readonly axis: number;
}

// ---- indexing -----------------------------------------------------------------------------------
/** inputs `[x, index: i32]`, index.shape = x.shape except along `axis` (any size there); result
 * shaped like index: out[..i..] = x[.., index[..i..], ..] (PyTorch `gather`). An index outside
 * [0, size) reads 0. */
export interface GatherNode extends Base {
  readonly op: 'gather';
  readonly axis: number;
}
/** inputs `[base, index: i32, src]`, index.shape = src.shape = base.shape except along `axis`;
 * result = base with src[..i..] added at base[.., index[..i..], ..] (PyTorch `scatter_add`). An
 * index outside [0, size) is dropped. */
export interface ScatterAddNode extends Base {
  readonly op: 'scatter_add';
  readonly axis: number;
}

// ---- detection ----------------------------------------------------------------------------------
/** inputs `[feat: [N, C, H, W], rois: [K, 5] (batch index, x1, y1, x2, y2)]` → `[K, C, PH, PW]`
 * (torchvision `roi_align`). `samplingRatio` ≤ 0 means adaptive ceil(roi size / bin count). */
export interface RoiAlignNode extends Base {
  readonly op: 'roi_align';
  readonly outputSize: readonly [number, number];
  readonly spatialScale: number;
  readonly samplingRatio: number;
  readonly aligned: boolean;
}
/** The VJP of roi_align w.r.t. `feat`: inputs `[rois, dy: [K, C, PH, PW]]` → `featShape`-shaped
 * f32 (bilinear weights scattered back). */
export interface RoiAlignGradNode extends Base {
  readonly op: 'roi_align_grad';
  readonly outputSize: readonly [number, number];
  readonly spatialScale: number;
  readonly samplingRatio: number;
  readonly aligned: boolean;
}

// ---- routines -----------------------------------------------------------------------------------
/** A non-fusing algorithm; inputs per `routine.kind`: argsort/top_k `[x]`, nms `[boxes, scores]`. */
export interface RoutineNode extends Base {
  readonly op: 'routine';
  readonly routine: Routine;
}

export type Node =
  | InputNode
  | FillNode
  | LiteralNode
  | IotaNode
  | RandomBitsNode
  | UnaryNode
  | BinaryNode
  | CompareNode
  | SelectNode
  | CastNode
  | ReduceNode
  | ArgmaxNode
  | MatmulNode
  | Conv2dNode
  | ConvTranspose2dNode
  | Conv2dFilterGradNode
  | Pool2dNode
  | MaxPool2dGradNode
  | ReshapeNode
  | PermuteNode
  | SliceNode
  | PadNode
  | BroadcastNode
  | ConcatNode
  | GatherNode
  | ScatterAddNode
  | RoiAlignNode
  | RoiAlignGradNode
  | RoutineNode;

export type Op = Node['op'];
export type NodeOf<K extends Op> = Extract<Node, { op: K }>;

/** Ops whose result shape/dtype is an attribute rather than derived from operands. */
export type SourceOp =
  | 'input'
  | 'fill'
  | 'literal'
  | 'iota'
  | 'random_bits'
  | 'reshape'
  | 'broadcast'
  | 'cast'
  | 'roi_align_grad';
const SOURCE_OPS: ReadonlySet<Op> = new Set<Op>([
  'input',
  'fill',
  'literal',
  'iota',
  'random_bits',
  'reshape',
  'broadcast',
  'cast',
  'roi_align_grad',
]);
export function isSourceOp(op: Op): op is SourceOp {
  return SOURCE_OPS.has(op);
}

/**
 * What a builder is given to add a node: the node without its `id`; for ops whose result type is
 * not derived from operands (`SourceOp`), `shape` and/or `dtype` are the attribute that fixes it.
 */
export type NodeSpec = {
  [K in Op]: K extends SourceOp ? Omit<NodeOf<K>, 'id'> : Omit<NodeOf<K>, 'id' | 'shape' | 'dtype'>;
}[Op];

/** Ops that are pure index remappings of one operand (views): fuse/codegen can fold them into loads. */
export const MOVEMENT_OPS: ReadonlySet<Op> = new Set<Op>([
  'reshape',
  'permute',
  'slice',
  'pad',
  'broadcast',
]);

/** Elementwise ops (one output element from the same-index operand elements). */
export const ELEMENTWISE_OPS: ReadonlySet<Op> = new Set<Op>([
  'unary',
  'binary',
  'compare',
  'select',
  'cast',
]);

/** A whole tensor program: nodes in topological order (node.id === its index), named inputs, outputs. */
export interface Graph {
  readonly nodes: readonly Node[];
  /** Ids of the `input` nodes, in the order a backend receives their data. */
  readonly inputs: readonly NodeId[];
  /** Ids whose values the graph returns, in order (an id may repeat or be an input). */
  readonly outputs: readonly NodeId[];
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a contiguous tensor. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function formatType(t: TensorType): string {
  return `${t.dtype}[${t.shape.join(',')}]`;
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'f32';
}
