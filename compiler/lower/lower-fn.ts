// Lowering of `.align` functions to the primitive IR: checked AST (`FnDecl`) + concrete argument
// types → an IR graph whose inputs are the function's tensor parameters and whose one output is
// its result. Flow: checked AST → **compiler/lower** → IR → kernels.
//
// Two modes of expression meet here. Outside index notation, values are whole tensors and
// elementwise operators broadcast numpy-style. Inside `let s[i, j] = …` and `sum[d](…)`, values
// live on named index axes (index-space.ts) and `x[i, d]` reads x along them; reductions remove
// their index. Calls of other user functions are inlined, so the whole function becomes one graph
// that autodiff and fusion see at once. Only shapes known from the actual arguments are used:
// dimension names (`N`, `D`) bind on first use and must agree everywhere after.

import type * as A from '../../grammar/ast.js';
import { GraphBuilder, type DType, type Graph, type NodeId, type Shape } from '../ir/index.js';
import {
  BUILTIN_CONSTANTS,
  callBuiltin,
  isBuiltin,
  safeLogOfSum,
  type LowerContext,
  type Value,
} from './builtins.js';
import { LowerError } from './errors.js';
import { IndexSpace, type IndexedValue } from './index-space.js';

export interface ArgType {
  readonly shape: Shape;
  readonly dtype: DType;
}

export interface LoweredFn {
  /** The graph with the function's result as its one output. */
  readonly graph: Graph;
  /** The builder that made it: autodiff appends the backward to it. */
  readonly builder: GraphBuilder;
  readonly output: NodeId;
  /** Graph-input node of each entry of `params`, in the same order. */
  readonly inputNodes: readonly NodeId[];
  /** Nodes made by `detach(…)`: gradients do not flow through them. */
  readonly stopGradient: ReadonlySet<NodeId>;
  /** `detach(…)` results in lowering order: identity nodes, or inputs with `freezeDetached`. */
  readonly detached: readonly NodeId[];
  /** The tensor parameters in graph-input order (those given in `args`), with their types. */
  readonly params: readonly { readonly name: string; readonly type: ArgType }[];
  /** Dimension names and the sizes they were bound to. */
  readonly dims: ReadonlyMap<string, number>;
}

export type Binding =
  | { readonly kind: 'value'; readonly value: Value }
  | { readonly kind: 'index' }
  | { readonly kind: 'fn'; readonly decl: A.FnDecl };

const MAX_INLINE_DEPTH = 32;

/**
 * Lowers `fn` for arguments of the given types. Parameters absent from `args` must have a default
 * and become constants; `constants` overrides defaults (e.g. τ from the command line).
 */
export function lowerFn(
  fn: A.FnDecl,
  args: ReadonlyMap<string, ArgType>,
  functions: ReadonlyMap<string, A.FnDecl>,
  constants: ReadonlyMap<string, number> = new Map(),
  /** Receives the body's final scope (for a backward block). */
  scope: Map<string, Binding> = new Map(),
  options: { readonly freezeDetached?: boolean } = {},
): LoweredFn & { readonly lowering: FnLowering } {
  const lowering = new FnLowering(functions);
  lowering.freezeDetached = options.freezeDetached ?? false;
  const params: { name: string; type: ArgType }[] = [];
  const inputNodes: NodeId[] = [];
  for (const p of fn.params) {
    const given = args.get(p.name.name);
    if (given) {
      lowering.bindDims(p.type, given.shape, p.name.span, `argument ${p.name.name}`);
      checkDtype(p.type.dtype, given.dtype, p.name.span, p.name.name);
      const node = lowering.b.input(p.name.name, given.shape, given.dtype);
      scope.set(p.name.name, { kind: 'value', value: { node, axes: null } });
      params.push({ name: p.name.name, type: given });
      inputNodes.push(node);
      continue;
    }
    const constant = constants.get(p.name.name);
    if (constant !== undefined) {
      scope.set(p.name.name, { kind: 'value', value: lowering.constantValue(constant, p.type) });
      continue;
    }
    if (p.default) {
      const value = lowering.expr(p.default, new Map(), undefined);
      scope.set(p.name.name, { kind: 'value', value });
      continue;
    }
    throw new LowerError(
      'E_MISSING_ARG',
      `function ${fn.name.name} needs argument ${p.name.name} (${typeText(p.type)})`,
      p.name.span,
    );
  }
  const result = lowering.body(fn, scope);
  return {
    graph: lowering.b.build([result]),
    builder: lowering.b,
    output: result,
    inputNodes,
    stopGradient: lowering.stopGradient,
    detached: lowering.detached,
    params,
    dims: lowering.dims,
    lowering,
  };
}

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

function checkDtype(declared: A.Dtype, actual: DType, span: A.Ident['span'], name: string): void {
  const compatible = declared === actual || (declared === 'i32' && actual === 'u32');
  if (!compatible) {
    throw new LowerError('E_DTYPE', `${name} is declared ${declared} but is ${actual}`, span);
  }
}

function typeText(t: A.TensorTypeExpr): string {
  if (t.dims.length === 0) return t.dtype;
  const dims = t.dims.map((d) => (d.kind === 'DimName' ? d.name : String(d.size)));
  return `${t.dtype}[${dims.join(', ')}]`;
}

function shapeText(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export class FnLowering implements LowerContext {
  readonly b = new GraphBuilder();
  readonly dims = new Map<string, number>();
  readonly stopGradient = new Set<NodeId>();
  /** Every `detach(…)` result, in the order lowering met them. */
  readonly detached: NodeId[] = [];
  /**
   * Lower `detach(x)` as a graph input instead of an identity: finite differences then treat the
   * detached value as the constant it is for autodiff (its base value is fed in).
   */
  freezeDetached = false;
  /** The index space of the innermost comprehension or reduction being lowered. */
  space: IndexSpace | undefined;
  readonly #functions: ReadonlyMap<string, A.FnDecl>;
  #depth = 0;

  constructor(functions: ReadonlyMap<string, A.FnDecl>) {
    this.#functions = functions;
  }

  bindDims(type: A.TensorTypeExpr, shape: Shape, span: A.Ident['span'], what: string): void {
    if (type.dims.length !== shape.length) {
      throw new LowerError(
        'E_RANK',
        `${what} has shape ${shapeText(shape)} but is declared ${typeText(type)} (${type.dims.length} axes)`,
        span,
      );
    }
    type.dims.forEach((d, axis) => {
      const size = shape[axis];
      if (d.kind === 'DimSize') {
        if (d.size !== size) {
          throw new LowerError(
            'E_SHAPE_MISMATCH',
            `${what} has shape ${shapeText(shape)} but ${typeText(type)} needs ${d.size} on axis ${axis}`,
            d.span,
          );
        }
        return;
      }
      const bound = this.dims.get(d.name);
      if (bound === undefined) this.dims.set(d.name, size);
      else if (bound !== size) {
        throw new LowerError(
          'E_SHAPE_MISMATCH',
          `${what} has shape ${shapeText(shape)}: dimension ${d.name} is ${size} here but ${bound} elsewhere`,
          d.span,
        );
      }
    });
  }

  constantValue(value: number, type: A.TensorTypeExpr): Value {
    const dtype: DType = type.dtype === 'bool' ? 'bool' : type.dtype;
    return { node: this.b.fill(value, [], dtype), axes: null };
  }

  /** Lowers a function body in `scope`; returns the node of its (whole-tensor) result. */
  body(fn: A.FnDecl, scope: Map<string, Binding>): NodeId {
    if (++this.#depth > MAX_INLINE_DEPTH) {
      throw new LowerError(
        'E_CONTEXT',
        `calls nest more than ${MAX_INLINE_DEPTH} deep at ${fn.name.name} (recursion is not supported)`,
        fn.name.span,
      );
    }
    try {
      for (const statement of fn.body) {
        switch (statement.kind) {
          case 'Let': {
            const value = statement.indices
              ? this.comprehension(statement, scope)
              : this.whole(this.expr(statement.value, scope, undefined), statement.value.span);
            scope.set(statement.name.name, { kind: 'value', value: { node: value, axes: null } });
            break;
          }
          case 'Return': {
            const node = this.whole(this.expr(statement.value, scope, undefined), statement.span);
            this.checkReturn(fn, node, statement.span);
            return node;
          }
          case 'Backward':
            // The custom VJP is lowered separately (lower-backward.ts); the forward ignores it.
            break;
          default:
            return statement satisfies never;
        }
      }
      throw new LowerError('E_RETURN', `function ${fn.name.name} has no return`, fn.name.span);
    } finally {
      this.#depth--;
    }
  }

  checkReturn(fn: A.FnDecl, node: NodeId, span: A.Ident['span']): void {
    const shape = this.b.shape(node);
    this.bindDims(fn.returnType, shape, span, `the result of ${fn.name.name}`);
    const dtype = this.b.type(node).dtype;
    if (dtype !== fn.returnType.dtype) {
      throw new LowerError(
        'E_DTYPE',
        `${fn.name.name} returns ${dtype} but is declared to return ${fn.returnType.dtype}`,
        span,
        `convert with ${fn.returnType.dtype}(…)`,
      );
    }
  }

  /** `let s[i, j] = e`: the body on index axes, permuted to the head order. */
  comprehension(statement: A.LetStmt, scope: Map<string, Binding>): NodeId {
    const head = statement.indices ?? [];
    const space = new IndexSpace();
    const inner = new Map(scope);
    for (const index of head) inner.set(index.name, { kind: 'index' });
    this.inferRanges(statement.value, inner, space, new Set(head.map((i) => i.name)));
    for (const index of head) {
      if (!space.has(index.name)) {
        throw new LowerError(
          'E_INDEX_RANGE',
          `the range of index ${index.name} cannot be inferred: no tensor is indexed by it`,
          index.span,
          `use ${index.name} to index a tensor on the right-hand side`,
        );
      }
    }
    const outer = this.space;
    this.space = space;
    let value: Value;
    try {
      value = this.expr(statement.value, inner, space);
    } finally {
      this.space = outer;
    }
    const headNames = head.map((i) => i.name);
    const indexed = this.indexed(value, space);
    const onHead = space.align(this.b, indexed, space.union(headNames));
    const order = space.union(headNames);
    const node = this.b.permute(
      onHead,
      headNames.map((n) => order.indexOf(n)),
    );
    return node;
  }

  /**
   * Binds index ranges from `x[i, d]` accesses of named tensors before lowering, so that an index
   * used as a value (`f32(i == j)`) knows its size wherever it appears.
   */
  inferRanges(
    e: A.Expr,
    scope: ReadonlyMap<string, Binding>,
    space: IndexSpace,
    declarable: ReadonlySet<string>,
  ): void {
    const visit = (
      x: A.Expr,
      local: ReadonlyMap<string, Binding>,
      names: ReadonlySet<string>,
    ): void => {
      switch (x.kind) {
        case 'Index': {
          if (x.target.kind === 'Name') {
            const target = local.get(x.target.name);
            if (target?.kind === 'value' && target.value.axes === null) {
              const shape = this.b.shape(target.value.node);
              x.indices.forEach((ix, axis) => {
                if (ix.kind !== 'Name' || !names.has(ix.name)) return;
                if (axis < shape.length) this.declareIndex(space, ix.name, shape[axis], ix.span);
              });
            }
          }
          visit(x.target, local, names);
          for (const ix of x.indices) visit(ix, local, names);
          return;
        }
        case 'Reduce': {
          // Its own indices are declared when the reduction itself is lowered.
          const inner = new Map(local);
          const shadowed = new Set(names);
          for (const ix of x.indices ?? []) {
            inner.set(ix.name, { kind: 'index' });
            shadowed.delete(ix.name);
          }
          visit(x.body, inner, shadowed);
          return;
        }
        case 'Binary':
          visit(x.left, local, names);
          visit(x.right, local, names);
          return;
        case 'Unary':
          visit(x.operand, local, names);
          return;
        case 'Paren':
          visit(x.inner, local, names);
          return;
        case 'Cast':
          visit(x.operand, local, names);
          return;
        case 'Call':
          for (const a of x.args) visit(a.value, local, names);
          return;
        case 'List':
          for (const item of x.items) visit(item, local, names);
          return;
        case 'Member':
          visit(x.target, local, names);
          return;
        case 'Number':
        case 'String':
        case 'Bool':
        case 'Name':
          return;
        default:
          return x satisfies never;
      }
    };
    visit(e, scope, declarable);
  }

  declareIndex(space: IndexSpace, name: string, size: number, span: A.Ident['span']): void {
    if (space.has(name) && space.size(name) !== size) {
      throw new LowerError(
        'E_INDEX_RANGE',
        `index ${name} ranges over ${space.size(name)} elsewhere but indexes an axis of size ${size} here`,
        span,
      );
    }
    space.declare(name, size);
  }

  /** A value as a whole tensor (outside index notation). */
  whole(value: Value, span: A.Ident['span']): NodeId {
    if (value.axes === null) return value.node;
    if (value.axes.length === 0) return value.node;
    throw new LowerError(
      'E_INDEX_UNBOUND',
      `this expression still depends on index ${value.axes.join(', ')}`,
      span,
      'reduce it (sum[i](…)) or bind it with let x[i] = …',
    );
  }

  /** A value on index axes (whole tensors inside index notation must be scalars). */
  indexed(value: Value, space: IndexSpace): IndexedValue {
    if (value.axes !== null) return { node: value.node, axes: value.axes };
    const shape = this.b.shape(value.node);
    if (shape.length !== 0) {
      throw new Error('internal: a whole tensor reached index notation unchecked');
    }
    void space;
    return { node: value.node, axes: [] };
  }

  expr(e: A.Expr, scope: ReadonlyMap<string, Binding>, space: IndexSpace | undefined): Value {
    switch (e.kind) {
      case 'Number': {
        const dtype: DType = e.isInteger && Number.isSafeInteger(e.value) ? 'i32' : 'f32';
        return { node: this.b.fill(e.value, [], dtype), axes: null, literal: true };
      }
      case 'Bool':
        return { node: this.b.fill(e.value ? 1 : 0, [], 'bool'), axes: null, literal: true };
      case 'String':
        throw new LowerError('E_TYPE', 'a string is not a tensor', e.span);
      case 'Paren':
        return this.expr(e.inner, scope, space);
      case 'Name':
        return this.name(e, scope, space);
      case 'Unary': {
        const operand = this.expr(e.operand, scope, space);
        if (e.op === 'not') return this.map1('not', this.asDtype(operand, 'bool'));
        return this.map1('neg', operand);
      }
      case 'Binary':
        return this.binary(e, scope, space);
      case 'Cast': {
        const operand = this.expr(e.operand, scope, space);
        return this.asDtype(operand, e.dtype);
      }
      case 'Call':
        return this.call(e, scope, space);
      case 'Index':
        return this.index(e, scope, space);
      case 'Reduce':
        return this.reduce(e, scope, space);
      case 'List':
        return this.listLiteral(e);
      case 'Member':
        throw new LowerError(
          'E_UNKNOWN_MEMBER',
          `tensors have no field ${e.member.name} inside a function`,
          e.member.span,
          'index the tensor instead, e.g. b[i, 0] for x1',
        );
      default:
        return e satisfies never;
    }
  }

  /** `[1, 1, 2, 2]` or `[[1, 0], [0, 1]]`: a constant tensor (f32, or i32 when all are integers). */
  listLiteral(e: A.ListExpr): Value {
    const shape: number[] = [];
    const values: number[] = [];
    let integers = true;
    const walk = (x: A.Expr, depth: number): void => {
      if (x.kind === 'List') {
        if (depth === shape.length) shape.push(x.items.length);
        else if (shape[depth] !== x.items.length) {
          throw new LowerError(
            'E_SHAPE_MISMATCH',
            'the rows of this list have different lengths',
            x.span,
          );
        }
        for (const item of x.items) walk(item, depth + 1);
        return;
      }
      if (depth !== shape.length) {
        throw new LowerError(
          'E_SHAPE_MISMATCH',
          'the rows of this list have different depths',
          x.span,
        );
      }
      const n =
        x.kind === 'Number'
          ? x
          : x.kind === 'Unary' && x.op === '-' && x.operand.kind === 'Number'
            ? x.operand
            : undefined;
      if (!n) {
        throw new LowerError('E_TYPE', 'a list inside a function holds numbers only', x.span);
      }
      integers &&= n.isInteger;
      values.push(n === x ? n.value : -n.value);
    };
    walk(e, 0);
    if (values.length === 0)
      throw new LowerError('E_SHAPE_MISMATCH', 'an empty list has no shape', e.span);
    const node = this.b.add({
      op: 'literal',
      values,
      shape,
      dtype: integers ? 'i32' : 'f32',
      inputs: [],
    });
    return { node, axes: null, literal: true };
  }

  name(e: A.NameRef, scope: ReadonlyMap<string, Binding>, space: IndexSpace | undefined): Value {
    const binding = scope.get(e.name);
    if (!binding) {
      const named = BUILTIN_CONSTANTS.get(e.name);
      if (named !== undefined)
        return { node: this.b.fill(named, [], 'f32'), axes: null, literal: true };
      const dim = this.dims.get(e.name);
      if (dim !== undefined)
        return { node: this.b.fill(dim, [], 'i32'), axes: null, literal: true };
      throw new LowerError('E_UNKNOWN_NAME', `unknown name ${e.name}`, e.span);
    }
    switch (binding.kind) {
      case 'value': {
        const v = binding.value;
        if (space && v.axes === null && this.b.shape(v.node).length > 0) {
          throw new LowerError(
            'E_RANK',
            `${e.name} is a tensor of shape ${shapeText(this.b.shape(v.node))}; inside index notation index it, e.g. ${e.name}[${this.b
              .shape(v.node)
              .map((_, i) => 'ijkl'[i] ?? 'm')
              .join(', ')}]`,
            e.span,
          );
        }
        return v;
      }
      case 'index': {
        if (!space || !space.has(e.name)) {
          throw new LowerError(
            'E_INDEX_RANGE',
            `the range of index ${e.name} is not known here`,
            e.span,
            'use the index to read a tensor in the same expression',
          );
        }
        const node = this.b.add({
          op: 'iota',
          axis: 0,
          shape: [space.size(e.name)],
          dtype: 'i32',
          inputs: [],
        });
        return { node, axes: [e.name] };
      }
      case 'fn':
        throw new LowerError('E_TYPE', `${e.name} is a function; call it`, e.span, `${e.name}(…)`);
      default:
        return binding satisfies never;
    }
  }

  binary(
    e: A.BinaryExpr,
    scope: ReadonlyMap<string, Binding>,
    space: IndexSpace | undefined,
  ): Value {
    const left = this.expr(e.left, scope, space);
    const right = this.expr(e.right, scope, space);
    switch (e.op) {
      case '+':
        return this.map2('add', left, right, e.span);
      case '-':
        return this.map2('sub', left, right, e.span);
      case '*':
        return this.map2('mul', left, right, e.span);
      case '/':
        return this.map2('div', this.asDtype(left, 'f32'), this.asDtype(right, 'f32'), e.span);
      case '^':
        return this.power(left, right, e.span);
      case '==':
        return this.compare('eq', left, right, e.span);
      case '!=':
        return this.compare('ne', left, right, e.span);
      case '<':
        return this.compare('lt', left, right, e.span);
      case '<=':
        return this.compare('le', left, right, e.span);
      case '>':
        return this.compare('gt', left, right, e.span);
      case '>=':
        return this.compare('ge', left, right, e.span);
      case 'and':
        return this.map2('and', this.asDtype(left, 'bool'), this.asDtype(right, 'bool'), e.span);
      case 'or':
        return this.map2('or', this.asDtype(left, 'bool'), this.asDtype(right, 'bool'), e.span);
      case '>>':
      case '..':
        throw new LowerError(
          'E_CONTEXT',
          `the operator ${e.op} composes pipeline values; it has no meaning on tensors`,
          e.span,
        );
      default:
        return e.op satisfies never;
    }
  }

  /** `x ^ 2` as x·x (exact, and differentiable at 0); other powers through pow. */
  power(base: Value, exponent: Value, span: A.Ident['span']): Value {
    const constant = this.literalValue(exponent);
    if (constant === 2) return this.map2('mul', base, base, span);
    if (constant === 1) return base;
    if (constant === 0.5) return this.map1('sqrt', this.asDtype(base, 'f32'));
    return this.map2('pow', this.asDtype(base, 'f32'), this.asDtype(exponent, 'f32'), span);
  }

  constantOf(v: Value): number | undefined {
    return this.literalValue(v);
  }

  literalValue(v: Value): number | undefined {
    if (!v.literal) return undefined;
    const node = this.b.node(v.node);
    return node.op === 'fill' ? node.value : undefined;
  }

  call(e: A.CallExpr, scope: ReadonlyMap<string, Binding>, space: IndexSpace | undefined): Value {
    if (e.callee.kind !== 'Name') {
      throw new LowerError('E_NOT_CALLABLE', 'only named functions can be called', e.callee.span);
    }
    const name = e.callee.name;
    const user = this.#functions.get(name);
    const shadow = scope.get(name);
    if (user && (shadow === undefined || shadow.kind === 'fn'))
      return this.inline(user, e, scope, space);
    if (isBuiltin(name)) {
      const args = e.args.map((a) => {
        if (a.name) {
          throw new LowerError(
            'E_UNKNOWN_PARAM',
            `built-in ${name} takes positional arguments only`,
            a.name.span,
          );
        }
        return this.expr(a.value, scope, space);
      });
      return callBuiltin(this, name, args, e.span);
    }
    throw new LowerError('E_UNKNOWN_NAME', `unknown function ${name}`, e.callee.span);
  }

  /** A call of a user function: its body lowered in place with the arguments bound. */
  inline(
    fn: A.FnDecl,
    e: A.CallExpr,
    scope: ReadonlyMap<string, Binding>,
    space: IndexSpace | undefined,
  ): Value {
    if (space) {
      throw new LowerError(
        'E_CONTEXT',
        `user function ${fn.name.name} cannot be called inside index notation`,
        e.span,
        'call it outside and index its result',
      );
    }
    const byName = new Map<string, A.Expr>();
    const positional: A.Expr[] = [];
    for (const a of e.args) {
      if (a.name) byName.set(a.name.name, a.value);
      else positional.push(a.value);
    }
    if (positional.length > fn.params.length) {
      throw new LowerError(
        'E_TOO_MANY_ARGS',
        `${fn.name.name} takes ${fn.params.length} arguments, got ${positional.length}`,
        e.span,
      );
    }
    const inner = new Map<string, Binding>();
    for (const [n, d] of this.#functions) inner.set(n, { kind: 'fn', decl: d });
    // The callee's dimension names are its own: bind them afresh, then restore the caller's.
    const savedDims = new Map(this.dims);
    this.dims.clear();
    try {
      fn.params.forEach((p, i) => {
        const argExpr = positional[i] ?? byName.get(p.name.name) ?? p.default;
        if (!argExpr) {
          throw new LowerError(
            'E_MISSING_ARG',
            `${fn.name.name} needs argument ${p.name.name} (${typeText(p.type)})`,
            e.span,
          );
        }
        const fromCaller = argExpr !== p.default;
        const value = fromCaller
          ? this.withDims(savedDims, () => this.expr(argExpr, scope, undefined))
          : this.expr(argExpr, inner, undefined);
        const node = this.whole(value, argExpr.span);
        const converted = this.convertArg(node, p, argExpr.span, fn.name.name);
        inner.set(p.name.name, { kind: 'value', value: { node: converted, axes: null } });
      });
      for (const [n] of byName) {
        if (!fn.params.some((p) => p.name.name === n)) {
          throw new LowerError('E_UNKNOWN_PARAM', `${fn.name.name} has no parameter ${n}`, e.span);
        }
      }
      return { node: this.body(fn, inner), axes: null };
    } finally {
      this.dims.clear();
      for (const [k, v] of savedDims) this.dims.set(k, v);
    }
  }

  withDims<T>(dims: ReadonlyMap<string, number>, run: () => T): T {
    const current = new Map(this.dims);
    this.dims.clear();
    for (const [k, v] of dims) this.dims.set(k, v);
    try {
      return run();
    } finally {
      this.dims.clear();
      for (const [k, v] of current) this.dims.set(k, v);
    }
  }

  convertArg(node: NodeId, p: A.Param, span: A.Ident['span'], fnName: string): NodeId {
    const t = this.b.type(node);
    let converted = node;
    if (t.dtype !== p.type.dtype) {
      const literalish = this.b.node(node).op === 'fill';
      if (!(literalish || (t.dtype === 'i32' && p.type.dtype === 'f32'))) {
        throw new LowerError(
          'E_DTYPE',
          `argument ${p.name.name} of ${fnName} must be ${p.type.dtype}, got ${t.dtype}`,
          span,
        );
      }
      converted = this.b.cast(node, p.type.dtype);
    }
    this.bindDims(p.type, this.b.shape(converted), span, `argument ${p.name.name} of ${fnName}`);
    return converted;
  }

  index(e: A.IndexExpr, scope: ReadonlyMap<string, Binding>, space: IndexSpace | undefined): Value {
    const target = this.whole(this.expr(e.target, scope, undefined), e.target.span);
    const shape = this.b.shape(target);
    const names: string[] = [];
    const allIndexVars = e.indices.every(
      (ix) =>
        (ix.kind === 'Name' && scope.get(ix.name)?.kind === 'index') ||
        (ix.kind === 'Number' && ix.isInteger),
    );
    if (!allIndexVars) {
      if (space || e.indices.length !== 1) {
        throw new LowerError(
          'E_CONTEXT',
          'indexing by a tensor (a gather) takes one index tensor, outside index notation',
          e.span,
          'gather first: let rows = x[idx], then use rows[i, d]',
        );
      }
      return { node: this.gatherRows(target, e.indices[0], scope, e.span), axes: null };
    }
    if (!space) {
      throw new LowerError(
        'E_INDEX_UNBOUND',
        'index variables can only be used inside let x[i] = … or a reduction that binds them',
        e.span,
      );
    }
    if (e.indices.length !== shape.length) {
      throw new LowerError(
        'E_RANK',
        `this tensor has ${shape.length} axes (shape ${shapeText(shape)}) but is indexed with ${e.indices.length}`,
        e.span,
      );
    }
    // Constant positions are sliced away first; the rest are index variables.
    let node = target;
    const start = shape.map(() => 0);
    const stop = [...shape];
    let sliced = false;
    e.indices.forEach((ix, axis) => {
      if (ix.kind === 'Number') {
        if (ix.value < 0 || ix.value >= shape[axis]) {
          throw new LowerError(
            'E_SHAPE_MISMATCH',
            `index ${ix.value} is outside axis ${axis} of size ${shape[axis]}`,
            ix.span,
          );
        }
        start[axis] = ix.value;
        stop[axis] = ix.value + 1;
        sliced = true;
      }
    });
    if (sliced) {
      node = this.b.add({ op: 'slice', start, stop, step: shape.map(() => 1), inputs: [node] });
    }
    const keptShape: number[] = [];
    e.indices.forEach((ix, axis) => {
      if (ix.kind !== 'Name') return;
      if (names.includes(ix.name)) {
        throw new LowerError(
          'E_CONTEXT',
          `index ${ix.name} appears twice in one access (diagonals are not supported)`,
          ix.span,
        );
      }
      this.declareIndex(space, ix.name, shape[axis], ix.span);
      names.push(ix.name);
      keptShape.push(shape[axis]);
    });
    node = this.b.reshape(node, keptShape);
    const v = space.access(this.b, node, names);
    return { node: v.node, axes: v.axes };
  }

  /** `x[idx]`: rows of x (axis 0) picked by an integer tensor; result idx.shape ++ x.shape[1:]. */
  gatherRows(
    x: NodeId,
    indexExpr: A.Expr,
    scope: ReadonlyMap<string, Binding>,
    span: A.Ident['span'],
  ): NodeId {
    const idx = this.whole(this.expr(indexExpr, scope, undefined), indexExpr.span);
    const it = this.b.type(idx);
    if (it.dtype !== 'i32') {
      throw new LowerError(
        'E_DTYPE',
        `an index tensor must be i32, got ${it.dtype}`,
        indexExpr.span,
      );
    }
    const xs = this.b.shape(x);
    if (xs.length === 0) throw new LowerError('E_RANK', 'a scalar cannot be indexed', span);
    const count = it.shape.reduce((a, d) => a * d, 1);
    const rest = xs.slice(1);
    const flat = this.b.reshape(idx, [count, ...rest.map(() => 1)]);
    const spread = this.b.broadcast(flat, [count, ...rest]);
    const rows = this.b.add({ op: 'gather', axis: 0, inputs: [x, spread] });
    return this.b.reshape(rows, [...it.shape, ...rest]);
  }

  reduce(
    e: A.ReduceExpr,
    scope: ReadonlyMap<string, Binding>,
    space: IndexSpace | undefined,
  ): Value {
    if (!e.indices) {
      // Over every axis of a whole tensor.
      const node = this.whole(this.expr(e.body, scope, undefined), e.body.span);
      const rank = this.b.shape(node).length;
      const axes = Array.from({ length: rank }, (_, i) => i);
      return { node: this.reduceAxes(e.op, node, axes, e.span), axes: null };
    }
    const local = space ?? new IndexSpace();
    const inner = new Map(scope);
    for (const ix of e.indices) {
      if (local.has(ix.name)) {
        throw new LowerError(
          'E_DUPLICATE',
          `index ${ix.name} is already bound by an enclosing comprehension or reduction`,
          ix.span,
        );
      }
      inner.set(ix.name, { kind: 'index' });
    }
    this.inferRanges(e.body, inner, local, new Set(e.indices.map((i) => i.name)));
    for (const ix of e.indices) {
      if (!local.has(ix.name)) {
        throw new LowerError(
          'E_INDEX_RANGE',
          `the range of index ${ix.name} cannot be inferred: no tensor is indexed by it`,
          ix.span,
        );
      }
    }
    const outer = this.space;
    this.space = local;
    let bodyValue: Value;
    try {
      bodyValue = this.expr(e.body, inner, local);
    } finally {
      this.space = outer;
    }
    const body = this.indexed(bodyValue, local);
    const reduced = e.indices.map((ix) => ix.name);
    const present = reduced.filter((n) => body.axes.includes(n));
    let node = body.node;
    const extent = reduced
      .filter((n) => !body.axes.includes(n))
      .reduce((acc, n) => acc * local.size(n), 1);
    const keep = body.axes.filter((a) => !reduced.includes(a));
    if (present.length > 0) {
      const axes = present.map((n) => body.axes.indexOf(n));
      node = this.reduceAxes(e.op, node, axes, e.span);
      node = this.b.reshape(
        node,
        keep.map((a) => local.size(a)),
      );
    }
    // A reduced index the body does not depend on repeats the same value `extent` times.
    if (extent !== 1) node = this.repeatReduce(e.op, node, extent, e.span);
    for (const n of reduced) local.forget(n);
    return space ? { node, axes: keep } : { node, axes: null };
  }

  repeatReduce(op: A.ReduceOp, node: NodeId, count: number, span: A.Ident['span']): NodeId {
    switch (op) {
      case 'sum':
        return this.map2n('mul', node, this.b.fill(count, [], this.b.type(node).dtype));
      case 'logsumexp':
        return this.map2n('add', node, this.b.fill(Math.log(count), [], 'f32'));
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
  reduceAxes(op: A.ReduceOp, node: NodeId, axes: readonly number[], span: A.Ident['span']): NodeId {
    const shape = this.b.shape(node);
    const kept = shape.filter((_, i) => !axes.includes(i));
    const count = axes.reduce((acc, a) => acc * shape[a], 1);
    const drop = (n: NodeId): NodeId => this.b.reshape(n, kept);
    const f = (n: NodeId): NodeId => this.b.cast(n, 'f32');
    switch (op) {
      case 'sum':
        return drop(this.b.reduce('sum', this.numeric(node), axes));
      case 'mean':
        return drop(
          this.map2n('div', this.b.reduce('sum', f(node), axes), this.b.fill(count, [], 'f32')),
        );
      case 'max':
        return drop(this.b.reduce('max', this.numeric(node), axes));
      case 'min':
        return drop(this.b.reduce('min', this.numeric(node), axes));
      case 'any':
        return drop(this.b.cast(this.b.reduce('max', this.b.cast(node, 'i32'), axes), 'bool'));
      case 'all':
        return drop(this.b.cast(this.b.reduce('min', this.b.cast(node, 'i32'), axes), 'bool'));
      case 'logsumexp': {
        // max + log Σ exp(x − max): never overflows, and rows masked entirely to −∞ give −∞ with
        // a finite (zero) gradient instead of NaN (safeLogOfSum).
        const x = f(node);
        const m = this.b.reduce('max', x, axes);
        return drop(
          safeLogOfSum(this, m, (shift) =>
            this.b.reduce(
              'sum',
              this.b.unary('exp', this.map2n('sub', x, this.b.broadcast(shift, shape))),
              axes,
            ),
          ),
        );
      }
      case 'argmax':
      case 'argmin': {
        if (axes.length !== 1) {
          throw new LowerError('E_CONTEXT', `${op} reduces exactly one index`, span);
        }
        const x = op === 'argmin' ? this.b.unary('neg', f(node)) : f(node);
        return drop(this.b.add({ op: 'argmax', axis: axes[0], inputs: [x] }));
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

  numeric(node: NodeId): NodeId {
    return this.b.type(node).dtype === 'bool' ? this.b.cast(node, 'i32') : node;
  }

  // ---- LowerContext: what built-ins use ----------------------------------------------------------

  detach(v: Value): Value {
    const t = this.b.type(v.node);
    if (this.freezeDetached) {
      const node = this.b.input(`__detached_${this.detached.length}`, t.shape, t.dtype);
      this.detached.push(node);
      return { node, axes: v.axes };
    }
    // A fresh identity node (a same-shape reshape) that autodiff is told not to cross.
    const node = this.b.add({ op: 'reshape', shape: t.shape, dtype: t.dtype, inputs: [v.node] });
    this.stopGradient.add(node);
    this.detached.push(node);
    return { node, axes: v.axes };
  }

  asDtype(v: Value, dtype: DType): Value {
    if (this.b.type(v.node).dtype === dtype) return v;
    return { node: this.b.cast(v.node, dtype), axes: v.axes, literal: v.literal };
  }

  map1(fn: Parameters<GraphBuilder['unary']>[0], v: Value): Value {
    const x =
      fn === 'not' || fn === 'neg' || fn === 'abs' || fn === 'sign' ? v : this.asDtype(v, 'f32');
    return { node: this.b.unary(fn, x.node), axes: v.axes };
  }

  /** Elementwise binary op with alignment (index axes or numpy broadcasting) and dtype promotion. */
  map2(
    fn: Parameters<GraphBuilder['binary']>[0],
    a: Value,
    b: Value,
    span: A.Ident['span'],
  ): Value {
    const [x, y] = this.promote(a, b);
    const [nx, ny, axes] = this.align(x, y, span);
    return { node: this.b.binary(fn, nx, ny), axes };
  }

  compare(
    fn: Parameters<GraphBuilder['compare']>[0],
    a: Value,
    b: Value,
    span: A.Ident['span'],
  ): Value {
    const [x, y] = this.promote(a, b);
    const [nx, ny, axes] = this.align(x, y, span);
    return { node: this.b.compare(fn, nx, ny), axes };
  }

  select(cond: Value, a: Value, b: Value, span: A.Ident['span']): Value {
    const [x, y] = this.promote(a, b);
    const c = this.asDtype(cond, 'bool');
    const [nc, nx, axes1] = this.align(c, x, span);
    const [nc2, ny, axes] = this.align({ node: nc, axes: axes1 }, y, span);
    const nx2 = this.align({ node: nx, axes: axes1 }, { node: ny, axes }, span)[0];
    return { node: this.b.select(nc2, nx2, ny), axes };
  }

  /** Same-shape elementwise op on whole nodes (internal helper, no broadcasting). */
  map2n(fn: Parameters<GraphBuilder['binary']>[0], x: NodeId, y: NodeId): NodeId {
    const xs = this.b.shape(x);
    const ys = this.b.shape(y);
    if (ys.length === 0 && xs.length > 0)
      y = this.b.broadcast(
        this.b.reshape(
          y,
          xs.map(() => 1),
        ),
        xs,
      );
    else if (xs.length === 0 && ys.length > 0)
      x = this.b.broadcast(
        this.b.reshape(
          x,
          ys.map(() => 1),
        ),
        ys,
      );
    return this.b.binary(fn, x, y);
  }

  promote(a: Value, b: Value): [Value, Value] {
    const ta = this.b.type(a.node).dtype;
    const tb = this.b.type(b.node).dtype;
    if (ta === tb) return [a, b];
    // A literal takes the other side's type (2 * x stays f32; i + 1 stays i32).
    if (a.literal && !b.literal && (tb !== 'i32' || Number.isInteger(this.literalValue(a)))) {
      return [
        this.asDtype(a, tb === 'bool' ? 'i32' : tb),
        this.asDtype(b, tb === 'bool' ? 'i32' : tb),
      ];
    }
    if (b.literal && !a.literal && (ta !== 'i32' || Number.isInteger(this.literalValue(b)))) {
      return [
        this.asDtype(a, ta === 'bool' ? 'i32' : ta),
        this.asDtype(b, ta === 'bool' ? 'i32' : ta),
      ];
    }
    const rank = (t: DType): number => ({ bool: 0, u32: 1, i32: 2, f32: 3 })[t];
    const to: DType =
      rank(ta) >= rank(tb) ? (ta === 'bool' ? 'i32' : ta) : tb === 'bool' ? 'i32' : tb;
    return [this.asDtype(a, to), this.asDtype(b, to)];
  }

  /** Both operands on one shape: index axes aligned, or whole tensors broadcast numpy-style. */
  align(a: Value, b: Value, span: A.Ident['span']): [NodeId, NodeId, readonly string[] | null] {
    if (a.axes !== null || b.axes !== null) {
      const ax = a.axes ?? [];
      const bx = b.axes ?? [];
      // Inside index notation whole values are scalars (checked when they were read), and every
      // value's axes are in the space's canonical order, so the union is too.
      if (!this.space) throw new Error('internal: index axes outside index notation');
      const all = this.space.union(ax, bx);
      const sizes = new Map<string, number>();
      ax.forEach((n, i) => sizes.set(n, this.b.shape(a.node)[i]));
      bx.forEach((n, i) => sizes.set(n, this.b.shape(b.node)[i]));
      const toAll = (v: NodeId, axes: readonly string[]): NodeId => {
        if (axes.length === all.length) return v;
        const withOnes = all.map((n) => (axes.includes(n) ? sizes.get(n)! : 1));
        return this.b.broadcast(
          this.b.reshape(v, withOnes),
          all.map((n) => sizes.get(n)!),
        );
      };
      return [toAll(a.node, ax), toAll(b.node, bx), all];
    }
    const sa = this.b.shape(a.node);
    const sb = this.b.shape(b.node);
    const rank = Math.max(sa.length, sb.length);
    const pa = [...Array(rank - sa.length).fill(1), ...sa];
    const pb = [...Array(rank - sb.length).fill(1), ...sb];
    const out = pa.map((d, i) => {
      if (d === pb[i] || pb[i] === 1) return d;
      if (d === 1) return pb[i];
      throw new LowerError(
        'E_SHAPE_MISMATCH',
        `shapes ${shapeText(sa)} and ${shapeText(sb)} cannot be combined (axis ${i}: ${d} vs ${pb[i]})`,
        span,
      );
    });
    const widen = (n: NodeId, padded: number[]): NodeId =>
      this.b.broadcast(this.b.reshape(n, padded), out);
    return [widen(a.node, pa), widen(b.node, pb), null];
  }
}
