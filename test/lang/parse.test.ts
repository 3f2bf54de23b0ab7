// grammar/: every construct of the language parses to the AST it should, with operator precedence
// and associativity right, and with spans pointing at the right line and column.

import { describe, expect, test } from 'vitest';
import type * as A from '../../grammar/ast.js';
import { parseSource } from '../../grammar/parse.js';

function parse(text: string): A.Module {
  const r = parseSource(text, 't.align');
  expect(r.diagnostics).toEqual([]);
  if (!r.module) throw new Error('no module');
  return r.module;
}

/** The AST without spans and raw texts, as a compact s-expression-like string for expressions. */
function show(e: A.Expr): string {
  switch (e.kind) {
    case 'Number':
      return e.unit ? `${e.value}${e.unit}` : String(e.value);
    case 'String':
      return JSON.stringify(e.value);
    case 'Bool':
      return String(e.value);
    case 'Name':
      return e.name;
    case 'List':
      return `[${e.items.map(show).join(' ')}]`;
    case 'Paren':
      return show(e.inner);
    case 'Unary':
      return `(${e.op} ${show(e.operand)})`;
    case 'Binary':
      return `(${e.op} ${show(e.left)} ${show(e.right)})`;
    case 'Call':
      return `(call ${show(e.callee)}${e.args.map((a) => ` ${a.name ? `${a.name.name}=` : ''}${show(a.value)}`).join('')})`;
    case 'Index':
      return `(index ${show(e.target)} ${e.indices.map(show).join(' ')})`;
    case 'Member':
      return `(. ${show(e.target)} ${e.member.name})`;
    case 'Reduce':
      return `(${e.op}${e.indices ? `[${e.indices.map((i) => i.name).join(' ')}]` : ''} ${show(e.body)})`;
    case 'Cast':
      return `(${e.dtype} ${show(e.operand)})`;
    default:
      return e satisfies never;
  }
}

function expr(text: string): string {
  const item = parse(`const x = ${text}`).items[0];
  if (item.kind !== 'ValueDecl') throw new Error('not a declaration');
  return show(item.value);
}

describe('expressions', () => {
  test('precedence and associativity', () => {
    expect(expr('1 + 2 * 3 - 4')).toBe('(- (+ 1 (* 2 3)) 4)');
    expect(expr('-x ^ 2')).toBe('(- (^ x 2))');
    expect(expr('2 ^ 3 ^ 2')).toBe('(^ 2 (^ 3 2))');
    expect(expr('a < b and not c or d')).toBe('(or (and (< a b) (not c)) d)');
    expect(expr('a >> b >> c')).toBe('(>> (>> a b) c)');
    expect(expr('1..9')).toBe('(.. 1 9)');
    expect(expr('(1 + 2) * 3')).toBe('(* (+ 1 2) 3)');
  });
  test('literals with units, lists, strings with escapes', () => {
    expect(expr('[12 epochs, 500 iters, 10%, 1e-4, true]')).toBe(
      '[12epoch 500iter 10percent 0.0001 true]',
    );
    expect(expr('"a\\"b\\n"')).toBe(JSON.stringify('a"b\n'));
  });
  test('calls with named arguments (keywords allowed as names), members, indexing', () => {
    expect(expr('resize(short: [800], max: 1333)')).toBe('(call resize short=[800] max=1333)');
    expect(expr('f(a, data: b,)')).toBe('(call f a data=b)');
    expect(expr('q.embed[i, 0]')).toBe('(index (. q embed) i 0)');
  });
  test('reductions with and without index lists, casts', () => {
    expect(expr('sum[d](q[i, d] * k[j, d])')).toBe('(sum[d] (* (index q i d) (index k j d)))');
    expect(expr('logsumexp[a, b](x[a, b])')).toBe('(logsumexp[a b] (index x a b))');
    expect(expr('max(x)')).toBe('(max x)');
    expect(expr('f32(m > 0)')).toBe('(f32 (> m 0))');
  });
});

describe('declarations and statements', () => {
  test('use, with std paths, file paths and aliases', () => {
    const m = parse('use std.losses\nuse "../common.align" as c');
    expect(m.items.map((i) => (i.kind === 'Use' ? [i.source, i.alias?.name] : i.kind))).toEqual([
      [{ kind: 'std', segments: ['std', 'losses'] }, undefined],
      [{ kind: 'file', path: '../common.align', raw: '"../common.align"' }, 'c'],
    ]);
  });
  test('value declarations of every kind', () => {
    const m = parse(
      'const a = 1\ndataset b = x()\nproposals c = y()\nview d = z()\ndetector e = w()',
    );
    expect(
      m.items.map((i) => (i.kind === 'ValueDecl' ? `${i.declKind} ${i.name.name}` : i.kind)),
    ).toEqual(['const a', 'dataset b', 'proposals c', 'view d', 'detector e']);
  });
  test('fn with typed parameters, defaults, comprehension lets, return and backward', () => {
    const m = parse(
      'fn f(x: f32[N, 4], t: f32 = 0.5, l: i32[N]) -> f32[N] {\n  let s[n] = x[n, 0] / t\n  return s\n  backward(g) {\n    grad x = g\n  }\n}',
    );
    const fn = m.items[0];
    expect(fn.kind).toBe('FnDecl');
    if (fn.kind !== 'FnDecl') return;
    expect(
      fn.params.map((p) => [
        p.name.name,
        p.type.dtype,
        p.type.dims.map((d) => (d.kind === 'DimName' ? d.name : d.size)),
        p.default ? show(p.default) : null,
      ]),
    ).toEqual([
      ['x', 'f32', ['N', 4], null],
      ['t', 'f32', [], '0.5'],
      ['l', 'i32', ['N'], null],
    ]);
    expect(fn.body.map((s) => s.kind)).toEqual(['Let', 'Return', 'Backward']);
    const let_ = fn.body[0];
    expect(let_.kind === 'Let' && let_.indices?.map((i) => i.name)).toEqual(['n']);
  });
  test('stage statements: clauses, views, lets, matches, weighted losses', () => {
    const m = parse(
      'stage s {\n  data d, batch: 2\n  view v = aug\n  let o = det(v)\n  match m = max_iou(o.anchors)\n  loss l = sum(o.x), weight: 0.5\n  train 12 epochs\n  report every: 10 iters\n}',
    );
    const st = m.items[0];
    if (st.kind !== 'StageDecl') throw new Error('not a stage');
    expect(st.body.map((s) => (s.kind === 'Clause' ? s.clause : s.kind))).toEqual([
      'data',
      'ViewBind',
      'Let',
      'Match',
      'Loss',
      'train',
      'report',
    ]);
    const loss = st.body[4];
    expect(loss.kind === 'Loss' && loss.args.map((a) => [a.name?.name, show(a.value)])).toEqual([
      ['weight', '0.5'],
    ]);
  });
  test('comments are collected, not parsed', () => {
    const m = parse('// a\nconst x = 1 /* b */\n');
    expect(m.comments.map((c) => [c.text, c.block])).toEqual([
      ['// a', false],
      ['/* b */', true],
    ]);
  });
});

test('spans: 1-based line and column of every node, end exclusive', () => {
  const m = parse('\n\nconst tau =\n    0.25');
  const d = m.items[0];
  if (d.kind !== 'ValueDecl') throw new Error('not a declaration');
  expect([d.span.start.line, d.span.start.column]).toEqual([3, 1]);
  expect([d.name.span.start.line, d.name.span.start.column, d.name.span.end.column]).toEqual([
    3, 7, 10,
  ]);
  expect([
    d.value.span.start.line,
    d.value.span.start.column,
    d.value.span.end.offset - d.value.span.start.offset,
  ]).toEqual([4, 5, 4]);
  expect(d.value.span.file).toBe('t.align');
});
