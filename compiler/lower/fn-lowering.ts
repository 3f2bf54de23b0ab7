// FnLowering: the lowering of one `.align` function body to IR, for compiler/lower (checked AST →
// IR). Statements, comprehensions (`let s[i, j] = …`), reductions, names, operators; calls and
// indexing live in calls.ts and indexing.ts, value operations in value-ops.ts.
//
// Two modes of expression meet here. Outside index notation, values are whole tensors and
// elementwise operators broadcast numpy-style. Inside `let s[i, j] = …` and `sum[d](…)`, values
// live on named index axes (index-space.ts) and `x[i, d]` reads x along them; reductions remove
// their index. Only shapes known from the actual arguments are used: dimension names (`N`, `D`)
// bind on first use and must agree everywhere after.

import type * as A from '../../grammar/ast.js';
import type { DType, NodeId, Shape } from '../ir/index.js';
import { BUILTIN_CONSTANTS, type Value } from './builtins.js';
import { call } from './calls.js';
import { LowerError } from './errors.js';
import { IndexSpace, type IndexedValue } from './index-space.js';
import { gatherRows, index, listLiteral } from './indexing.js';
import { reduceAxes, repeatReduce } from './reductions.js';
import { shapeText, typeText, ValueOps } from './value-ops.js';

export type Binding =
  | { readonly kind: 'value'; readonly value: Value }
  | { readonly kind: 'index' }
  | { readonly kind: 'fn'; readonly decl: A.FnDecl };

const MAX_INLINE_DEPTH = 32;

export class FnLowering extends ValueOps {
  readonly dims = new Map<string, number>();
  readonly functions: ReadonlyMap<string, A.FnDecl>;
  #depth = 0;

  constructor(functions: ReadonlyMap<string, A.FnDecl>) {
    super();
    this.functions = functions;
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
        return call(this, e, scope, space);
      case 'Index':
        return index(this, e, scope, space);
      case 'Reduce':
        return this.reduce(e, scope, space);
      case 'List':
        return listLiteral(this, e);
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
      return { node: reduceAxes(this, e.op, node, axes, e.span), axes: null };
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
      const contraction = this.contraction(e, inner, local);
      if (contraction) {
        for (const ix of e.indices) local.forget(ix.name);
        return space ? contraction : { node: contraction.node, axes: null };
      }
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
      node = reduceAxes(this, e.op, node, axes, e.span);
      node = this.b.reshape(
        node,
        keep.map((a) => local.size(a)),
      );
    }
    // A reduced index the body does not depend on repeats the same value `extent` times.
    if (extent !== 1) node = repeatReduce(this, e.op, node, extent, e.span);
    for (const n of reduced) local.forget(n);
    return space ? { node, axes: keep } : { node, axes: null };
  }

  /**
   * `sum[d](a[…, d] * b[…, d])` where each factor also has indices of its own (a similarity
   * matrix, a projection) lowers to a batched matmul instead of an [M, N, D] broadcast product and
   * a reduction: same value, O(M·N) memory, and the GEMM kernel. Returns undefined when the body
   * is not such a product (the general path handles it).
   */
  contraction(
    e: A.ReduceExpr,
    scope: ReadonlyMap<string, Binding>,
    space: IndexSpace,
  ): Value | undefined {
    let body = e.body;
    while (body.kind === 'Paren') body = body.inner;
    if (e.op !== 'sum' || e.indices?.length !== 1 || body.kind !== 'Binary' || body.op !== '*') {
      return undefined;
    }
    const d = e.indices[0].name;
    const left = this.expr(body.left, scope, space);
    const right = this.expr(body.right, scope, space);
    const L = left.axes ?? [];
    const R = right.axes ?? [];
    const mine = (axes: readonly string[], other: readonly string[]) =>
      axes.filter((a) => !other.includes(a));
    const mAxes = mine(L, R);
    const nAxes = mine(R, L);
    if (!L.includes(d) || !R.includes(d) || mAxes.length === 0 || nAxes.length === 0) {
      // Not a contraction: finish the product the ordinary way (the reduction follows).
      const product = this.map2('mul', left, right, body.span);
      const reduced = this.indexed(product, space);
      const at = reduced.axes.indexOf(d);
      const keep = reduced.axes.filter((a) => a !== d);
      if (at < 0) return undefined;
      const node = this.b.reshape(
        reduceAxes(this, 'sum', reduced.node, [at], e.span),
        keep.map((a) => space.size(a)),
      );
      return { node, axes: keep };
    }
    const size = (a: string) => space.size(a);
    const product = (axes: readonly string[]) => axes.reduce((p, a) => p * size(a), 1);
    const batch = L.filter((a) => R.includes(a) && a !== d);
    const matrix = (
      v: Value,
      axes: readonly string[],
      rows: readonly string[],
      cols: readonly string[],
    ) => {
      const order = [...batch, ...rows, ...cols];
      const permuted = this.b.permute(
        this.asDtype(v, 'f32').node,
        order.map((a) => axes.indexOf(a)),
      );
      return this.b.reshape(permuted, [...batch.map(size), product(rows), product(cols)]);
    };
    const a = matrix(left, L, mAxes, [d]);
    const b = matrix(right, R, [d], nAxes);
    const raw = [...batch, ...mAxes, ...nAxes];
    const mm = this.b.reshape(this.b.add({ op: 'matmul', inputs: [a, b] }), raw.map(size));
    const canonical = space.union(raw.filter((x) => x !== d));
    return {
      node: this.b.permute(
        mm,
        canonical.map((x) => raw.indexOf(x)),
      ),
      axes: canonical,
    };
  }
}
