// Tests of compiler/lower's function lowering: `.align` functions → IR graphs, run on the CPU
// reference and compared with plain-JS computations of the same math; gradients of lowered
// functions against central finite differences (f64); located errors for shape mistakes.

import { describe, expect, it } from 'vitest';
import type { FnDecl } from '../../grammar/ast.js';
import { parseSource } from '../../grammar/parse.js';
import { lowerFn, type ArgType } from '../../compiler/lower/lower-fn.js';
import { LowerError } from '../../compiler/lower/errors.js';
import { interpret } from '../../runtime/cpu/interpret.js';
import { tensorData, type TensorData } from '../../runtime/cpu/tensor-data.js';
import { buildBackward } from '../../runtime/autodiff/backward.js';

function functions(source: string): Map<string, FnDecl> {
  const parsed = parseSource(source, 'test.align');
  if (!parsed.module) throw new Error(parsed.diagnostics.map((d) => d.message).join('\n'));
  const fns = new Map<string, FnDecl>();
  for (const item of parsed.module.items) if (item.kind === 'FnDecl') fns.set(item.name.name, item);
  return fns;
}

function run(source: string, name: string, args: Record<string, TensorData>): TensorData {
  const fns = functions(source);
  const types = new Map<string, ArgType>(
    Object.entries(args).map(([k, v]) => [k, { shape: v.shape, dtype: v.dtype }]),
  );
  const lowered = lowerFn(fns.get(name)!, types, fns);
  const inputs = lowered.params.map((p) => args[p.name]);
  return interpret(lowered.graph, inputs)[0];
}

/** Deterministic values in [-2, 2). */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 4 - 2;
  });
}

function boxes(n: number, seed: number): number[] {
  const v = values(n * 4, seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x1 = v[4 * i] * 10;
    const y1 = v[4 * i + 1] * 10;
    out.push(x1, y1, x1 + 2 + Math.abs(v[4 * i + 2]) * 8, y1 + 2 + Math.abs(v[4 * i + 3]) * 8);
  }
  return out;
}

describe('lowering .align functions to IR', () => {
  it('a whole-tensor reduction: mean absolute error', () => {
    const a = values(12, 1);
    const b = values(12, 2);
    const out = run('fn l1(a: f32[N, 4], b: f32[N, 4]) -> f32 { return mean(abs(a - b)) }', 'l1', {
      a: tensorData([3, 4], a),
      b: tensorData([3, 4], b),
    });
    const expected = a.reduce((s, x, i) => s + Math.abs(x - b[i]), 0) / 12;
    expect(out.shape).toEqual([]);
    expect(out.data[0]).toBeCloseTo(expected, 5);
  });

  it('index notation: a similarity matrix is a contraction over d', () => {
    const q = values(3 * 5, 3);
    const k = values(4 * 5, 4);
    const out = run(
      'fn sim(q: f32[N, D], k: f32[M, D]) -> f32[N, M] { let s[i, j] = sum[d](q[i, d] * k[j, d]) return s }',
      'sim',
      { q: tensorData([3, 5], q), k: tensorData([4, 5], k) },
    );
    expect(out.shape).toEqual([3, 4]);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 4; j++) {
        let s = 0;
        for (let d = 0; d < 5; d++) s += q[i * 5 + d] * k[j * 5 + d];
        expect(out.data[i * 4 + j]).toBeCloseTo(s, 5);
      }
    }
  });

  it('a contraction lowers to matmul, batched over shared indices, in any head order', () => {
    const fns = functions(`
      fn sim(q: f32[N, D], k: f32[M, D]) -> f32[N, M] { let s[i, j] = sum[d](q[i, d] * k[j, d]) return s }
      fn bsim(q: f32[B, N, D], k: f32[B, M, D]) -> f32[M, B, N] {
        let s[j, b, i] = sum[d](q[b, i, d] * k[b, j, d])
        return s
      }`);
    const lowered = lowerFn(
      fns.get('sim')!,
      new Map([
        ['q', { shape: [3, 5], dtype: 'f32' }],
        ['k', { shape: [4, 5], dtype: 'f32' }],
      ]),
      fns,
    );
    const ops = lowered.graph.nodes.map((n) => n.op);
    expect(ops).toContain('matmul');
    expect(lowered.graph.nodes.some((n) => n.shape.length === 3)).toBe(false); // no [N, M, D]
    const q = values(2 * 3 * 5, 21);
    const k = values(2 * 4 * 5, 22);
    const out = run(
      'fn bsim(q: f32[B, N, D], k: f32[B, M, D]) -> f32[M, B, N] { let s[j, b, i] = sum[d](q[b, i, d] * k[b, j, d]) return s }',
      'bsim',
      { q: tensorData([2, 3, 5], q), k: tensorData([2, 4, 5], k) },
    );
    expect(out.shape).toEqual([4, 2, 3]);
    for (let j = 0; j < 4; j++) {
      for (let b = 0; b < 2; b++) {
        for (let i = 0; i < 3; i++) {
          let s = 0;
          for (let d = 0; d < 5; d++) s += q[(b * 3 + i) * 5 + d] * k[(b * 4 + j) * 5 + d];
          expect(out.data[(j * 2 + b) * 3 + i]).toBeCloseTo(s, 5);
        }
      }
    }
  });

  it('head indices in another order transpose the result', () => {
    const x = values(6, 5);
    const out = run('fn t(x: f32[A, B]) -> f32[B, A] { let y[j, i] = x[i, j] return y }', 't', {
      x: tensorData([2, 3], x),
    });
    expect(out.shape).toEqual([3, 2]);
    expect([...out.data]).toEqual([x[0], x[3], x[1], x[4], x[2], x[5]].map(Math.fround));
  });

  it('logsumexp is stable for large inputs', () => {
    const x = [1000, 1001, 999, -5, -4, -6];
    const out = run(
      'fn lse(x: f32[N, M]) -> f32[N] { let r[i] = logsumexp[j](x[i, j]) return r }',
      'lse',
      { x: tensorData([2, 3], x) },
    );
    const lse = (r: number[]) => {
      const m = Math.max(...r);
      return m + Math.log(r.reduce((s, v) => s + Math.exp(v - m), 0));
    };
    expect(out.data[0]).toBeCloseTo(lse(x.slice(0, 3)), 3);
    expect(out.data[1]).toBeCloseTo(lse(x.slice(3)), 5);
  });

  it('an index used as a value, and constant indices', () => {
    const x = values(9, 6);
    const eye = run(
      'fn d(x: f32[N, N]) -> f32[N, N] { let m[i, j] = f32(i == j) * x[i, j] return m }',
      'd',
      { x: tensorData([3, 3], x) },
    );
    expect(Array.from(eye.data, (v) => v + 0)).toEqual(
      x.map((v, n) => (Math.floor(n / 3) === n % 3 ? Math.fround(v) : 0)),
    );
    const b = boxes(5, 7);
    const area = run(
      'fn area(b: f32[N, 4]) -> f32[N] { let a[i] = (b[i, 2] - b[i, 0]) * (b[i, 3] - b[i, 1]) return a }',
      'area',
      { b: tensorData([5, 4], b) },
    );
    for (let i = 0; i < 5; i++) {
      expect(area.data[i]).toBeCloseTo(
        (b[4 * i + 2] - b[4 * i]) * (b[4 * i + 3] - b[4 * i + 1]),
        4,
      );
    }
  });

  it('gathers rows with an index tensor and inlines user functions', () => {
    const x = values(4 * 2, 8);
    const source = `
      fn pick(x: f32[N, D], idx: i32[M]) -> f32[M, D] { return x[idx] }
      fn twice(x: f32[N, D], idx: i32[M]) -> f32[M, D] { let p = pick(x, idx) return p + p }`;
    const out = run(source, 'twice', {
      x: tensorData([4, 2], x),
      idx: tensorData([3], [3, 0, 3], 'i32'),
    });
    expect(out.shape).toEqual([3, 2]);
    const expected = [3, 0, 3].flatMap((r) => [2 * x[r * 2], 2 * x[r * 2 + 1]]);
    expect([...out.data].map((v) => +v.toFixed(5))).toEqual(expected.map((v) => +v.toFixed(5)));
  });

  it('numpy broadcasting outside index notation, and stable softplus', () => {
    const x = [-100, -1, 0, 1, 100, 3];
    const out = run('fn f(x: f32[N, 3], w: f32[3]) -> f32[N, 3] { return softplus(x * w) }', 'f', {
      x: tensorData([2, 3], x),
      w: tensorData([3], [1, 2, 3]),
    });
    const w = [1, 2, 3];
    x.forEach((v, i) => {
      const z = v * w[i % 3];
      const expected = Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
      expect(out.data[i]).toBeCloseTo(expected, 4);
    });
  });

  it('default parameters become constants', () => {
    const out = run('fn f(x: f32[N], t: f32 = 0.5) -> f32[N] { return x / t }', 'f', {
      x: tensorData([2], [1, 3]),
    });
    expect([...out.data]).toEqual([2, 6]);
  });
});

describe('gradients of lowered functions', () => {
  function gradCheck(source: string, name: string, args: Record<string, TensorData>): number {
    const fns = functions(source);
    const types = new Map<string, ArgType>(
      Object.entries(args).map(([k, v]) => [k, { shape: v.shape, dtype: v.dtype }]),
    );
    const lowered = lowerFn(fns.get(name)!, types, fns);
    const b = lowered.builder;
    const grads = buildBackward(b, lowered.output, lowered.inputNodes, {
      stopGradient: lowered.stopGradient,
    });
    const graph = b.build([lowered.output, ...grads]);
    const inputs = lowered.params.map((p) => args[p.name]);
    const evaluate = (ins: TensorData[]) => interpret(graph, ins, { float64: true });
    const analytic = evaluate(inputs);
    let worst = 0;
    lowered.params.forEach((p, k) => {
      const base = Float64Array.from(inputs[k].data);
      for (let e = 0; e < base.length; e++) {
        const h = 1e-6;
        const probe = (delta: number) => {
          const data = Float64Array.from(base);
          data[e] += delta;
          const ins = inputs.map((t, j) => (j === k ? { ...t, data } : t));
          return Array.from(evaluate(ins)[0].data).reduce((s, v) => s + v, 0);
        };
        const numeric = (probe(h) - probe(-h)) / (2 * h);
        const got = analytic[1 + k].data[e];
        worst = Math.max(worst, Math.abs(numeric - got) / Math.max(1, Math.abs(numeric)));
      }
    });
    return worst;
  }

  it('match central finite differences', () => {
    const q = tensorData([3, 4], values(12, 11), 'f32', true);
    const k = tensorData([5, 4], values(20, 12), 'f32', true);
    const source = `fn contrast(q: f32[N, D], k: f32[M, D]) -> f32 {
      let qn = normalize(q)
      let kn = normalize(k)
      let s[i, j] = sum[d](qn[i, d] * kn[j, d]) / 0.2
      let l[i] = logsumexp[j](s[i, j]) - s[i, 0]
      return mean(l)
    }`;
    expect(gradCheck(source, 'contrast', { q, k })).toBeLessThan(1e-6);
    const x = tensorData([6], values(6, 13), 'f32', true);
    const sp =
      'fn f(x: f32[N]) -> f32 { return sum(log_sigmoid(x) + softplus(2 * x) + clamp(x, -1, 1)) }';
    expect(gradCheck(sp, 'f', { x })).toBeLessThan(1e-6);
  });

  it('rows masked entirely to -inf give -inf with a zero, finite gradient', () => {
    const source = `fn f(x: f32[N, M], keep: bool[N, M]) -> f32 {
      let l[i] = logsumexp[j](where(keep[i, j], x[i, j], -inf))
      let r[i] = logaddexp(l[i], where(keep[i, 0], x[i, 0], -inf))
      return sum(where(r > -inf, r, 0))
    }`;
    const fns = functions(source);
    const lowered = lowerFn(
      fns.get('f')!,
      new Map<string, ArgType>([
        ['x', { shape: [2, 3], dtype: 'f32' }],
        ['keep', { shape: [2, 3], dtype: 'bool' }],
      ]),
      fns,
    );
    const [gx] = buildBackward(lowered.builder, lowered.output, [lowered.inputNodes[0]]);
    const graph = lowered.builder.build([lowered.output, gx]);
    const x = [0.5, -1, 2, 3, 4, 5];
    const [value, grad] = interpret(graph, [
      tensorData([2, 3], x),
      tensorData([2, 3], [1, 0, 1, 0, 0, 0], 'bool'),
    ]);
    // Row 0: logaddexp(log(e^0.5 + e^2), 0.5); row 1 is fully masked and contributes 0.
    const l0 = Math.log(Math.exp(0.5) + Math.exp(2));
    expect(value.data[0]).toBeCloseTo(Math.log(Math.exp(l0) + Math.exp(0.5)), 5);
    expect([...grad.data].every(Number.isFinite)).toBe(true);
    expect([...grad.data.slice(3)]).toEqual([0, 0, 0]);
  });

  it('one_hot and stack', () => {
    const source = `
      fn oh(l: i32[N]) -> f32[N, 3] { return one_hot(l, 3) }
      fn st(a: f32[N], b: f32[N]) -> f32[N, 2] { return stack(a, b) }`;
    const oh = run(source, 'oh', { l: tensorData([3], [2, -1, 0], 'i32') });
    expect([...oh.data]).toEqual([0, 0, 1, 0, 0, 0, 1, 0, 0]);
    const st = run(source, 'st', { a: tensorData([2], [1, 2]), b: tensorData([2], [3, 4]) });
    expect([...st.data]).toEqual([1, 3, 2, 4]);
  });

  it('detach stops the gradient', () => {
    const fns = functions('fn f(x: f32[N]) -> f32 { return sum(x * detach(x)) }');
    const lowered = lowerFn(fns.get('f')!, new Map([['x', { shape: [3], dtype: 'f32' }]]), fns);
    const [g] = buildBackward(lowered.builder, lowered.output, lowered.inputNodes, {
      stopGradient: lowered.stopGradient,
    });
    const graph = lowered.builder.build([g]);
    const out = interpret(graph, [tensorData([3], [1, 2, 3])])[0];
    expect([...out.data]).toEqual([1, 2, 3]); // d/dx (x · c) = c, not 2x
  });
});

describe('lowering errors are located', () => {
  function lowerError(source: string, name: string, args: Record<string, ArgType>): LowerError {
    const fns = functions(source);
    try {
      lowerFn(fns.get(name)!, new Map(Object.entries(args)), fns);
    } catch (error) {
      if (error instanceof LowerError) return error;
      throw error;
    }
    throw new Error('no error');
  }

  it('a dimension bound to two sizes shows both', () => {
    const e = lowerError('fn f(a: f32[N, 4], b: f32[N, 4]) -> f32 { return sum(a - b) }', 'f', {
      a: { shape: [3, 4], dtype: 'f32' },
      b: { shape: [5, 4], dtype: 'f32' },
    });
    expect(e.code).toBe('E_SHAPE_MISMATCH');
    expect(e.message).toContain('[5, 4]');
    expect(e.message).toContain('N is 5 here but 3 elsewhere');
    expect(e.span?.start.line).toBe(1);
  });

  it('shapes that do not broadcast', () => {
    const e = lowerError('fn f(a: f32[N], b: f32[M]) -> f32 { return sum(a * b) }', 'f', {
      a: { shape: [3], dtype: 'f32' },
      b: { shape: [4], dtype: 'f32' },
    });
    expect(e.code).toBe('E_SHAPE_MISMATCH');
    expect(e.message).toContain('[3] and [4]');
  });

  it('an index whose range cannot be inferred', () => {
    const e = lowerError('fn f(a: f32[N]) -> f32[N, N] { let m[i, j] = a[i] return m }', 'f', {
      a: { shape: [3], dtype: 'f32' },
    });
    expect(e.code).toBe('E_INDEX_RANGE');
    expect(e.message).toContain('index j');
    expect(e.span?.start.column).toBeGreaterThan(30);
  });

  it('an index that disagrees with a second axis size', () => {
    const e = lowerError(
      'fn f(a: f32[N], b: f32[M]) -> f32[N] { let m[i] = a[i] * b[i] return m }',
      'f',
      {
        a: { shape: [3], dtype: 'f32' },
        b: { shape: [4], dtype: 'f32' },
      },
    );
    expect(e.code).toBe('E_INDEX_RANGE');
  });
});

describe('normalize', () => {
  it('has a finite gradient for an all-zero row', () => {
    const fns = functions('fn f(x: f32[N, D]) -> f32 { return sum(normalize(x)) }');
    const lowered = lowerFn(fns.get('f')!, new Map([['x', { shape: [2, 3], dtype: 'f32' }]]), fns);
    const [g] = buildBackward(lowered.builder, lowered.output, lowered.inputNodes);
    const out = interpret(lowered.builder.build([lowered.output, g]), [
      tensorData([2, 3], [0, 0, 0, 3, 0, 4]),
    ]);
    expect(out[0].data[0]).toBeCloseTo(1.4, 5);
    expect([...out[1].data].every(Number.isFinite)).toBe(true);
  });
});
