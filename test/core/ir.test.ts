// The IR itself (compiler/ir): shape rules reject bad nodes with located messages, the verifier
// catches malformed graphs, the pretty-printer's format, view index maps, and the CPU reference's
// integer/cast semantics and Threefry random bits (against the Random123 known-answer vectors).
import { describe, expect, it } from 'vitest';
import type { Graph, Node } from '../../compiler/ir/index.js';
import {
  GraphBuilder,
  IrShapeError,
  IrVerifyError,
  movementAsStridedView,
  movementSourceIndex,
  printGraph,
  verifyGraph,
} from '../../compiler/ir/index.js';
import { interpret } from '../../runtime/cpu/interpret.js';
import { threefry2x32 } from '../../runtime/cpu/random.js';
import { tensorData } from '../../runtime/cpu/tensor-data.js';
import { castValue } from '../../runtime/cpu/elementwise.js';

describe('shape rules', () => {
  it('infers conv2d output size (stride, padding, dilation, groups)', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 4, 7, 13]);
    const w = b.input('w', [6, 2, 3, 3]);
    const y = b.add({
      op: 'conv2d',
      stride: [2, 1],
      padding: [1, 2],
      dilation: [1, 2],
      groups: 2,
      inputs: [x, w],
    });
    expect(b.shape(y)).toEqual([2, 6, 4, 13]);
  });

  it('rejects implicit broadcasting with an actionable message', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [7, 13]);
    const y = b.input('y', [13]);
    expect(() => b.binary('add', x, y)).toThrow(IrShapeError);
    expect(() => b.binary('add', x, y)).toThrow(/broadcast explicitly/);
  });

  it('rejects bad dtypes, axes, permutations and slices', () => {
    const b = new GraphBuilder();
    const i = b.input('i', [3], 'i32');
    const f = b.input('f', [2, 3]);
    expect(() => b.unary('exp', i)).toThrow(/must be f32/);
    expect(() => b.reduce('sum', f, [2])).toThrow(/axis 2/);
    expect(() => b.permute(f, [0, 0])).toThrow(/not a permutation/);
    expect(() =>
      b.add({ op: 'slice', start: [0, 2], stop: [2, 1], step: [1, 1], inputs: [f] }),
    ).toThrow(/bad range/);
    expect(() => b.add({ op: 'matmul', inputs: [f, f] })).toThrow(/contraction/);
    expect(() => b.input('f', [1])).toThrow(/used twice/);
  });

  it('reduce keeps reduced axes as size 1; argmax gives i32', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3, 5, 4]);
    expect(b.shape(b.reduce('max', x, [2, 0]))).toEqual([1, 5, 1]);
    expect(b.type(b.add({ op: 'argmax', axis: 1, inputs: [x] }))).toEqual({
      shape: [3, 1, 4],
      dtype: 'i32',
    });
  });
});

describe('verifier and printer', () => {
  function small(): Graph {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 3]);
    const y = b.unary('exp', x);
    return b.build([b.reduce('sum', y, [1])]);
  }

  it('prints one line per node', () => {
    expect(printGraph(small())).toBe(
      [
        '%0 = input() "x" : f32[2,3]',
        '%1 = unary(%0) exp : f32[2,3]',
        '%2 = reduce(%1) sum axes=[1] : f32[2,1]',
        'return %2',
      ].join('\n'),
    );
  });

  it('accepts builder output and rejects tampered graphs', () => {
    const g = small();
    verifyGraph(g);
    const wrongType = {
      ...g,
      nodes: g.nodes.map((n) => (n.id === 1 ? ({ ...n, dtype: 'i32' } as Node) : n)),
    };
    expect(() => verifyGraph(wrongType)).toThrow(IrVerifyError);
    const forward = {
      ...g,
      nodes: g.nodes.map((n) => (n.id === 1 ? ({ ...n, inputs: [2] } as Node) : n)),
    };
    expect(() => verifyGraph(forward)).toThrow(/not an earlier node/);
    expect(() => verifyGraph({ ...g, outputs: [9] })).toThrow(/output %9/);
    expect(() => verifyGraph({ ...g, inputs: [] })).toThrow(/input nodes/);
  });

  it('checks input values against the graph', () => {
    expect(() => interpret(small(), [tensorData([3, 2], [1, 2, 3, 4, 5, 6])])).toThrow(
      /input "x" is f32\[2,3\]/,
    );
  });
});

describe('views', () => {
  it('maps output indices to operand indices', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [4, 6]);
    const s = b.add({ op: 'slice', start: [1, 0], stop: [4, 6], step: [2, 3], inputs: [x] });
    const node = b.node(s);
    if (node.op !== 'slice') throw new Error('expected slice');
    expect(movementSourceIndex(node, [4, 6], [1, 1])).toEqual([3, 3]);
    expect(movementAsStridedView(node, [4, 6])).toEqual({ offset: 6, strides: [12, 3] });
    const p = b.node(b.add({ op: 'pad', low: [1, 0], high: [0, 0], value: 0, inputs: [x] }));
    if (p.op !== 'pad') throw new Error('expected pad');
    expect(movementSourceIndex(p, [4, 6], [0, 2])).toBeNull();
  });
});

describe('CPU reference scalar semantics', () => {
  it('casts like WGSL (truncate, saturate, keep bits)', () => {
    expect(castValue('f32', 'i32', -2.7)).toBe(-2);
    expect(castValue('f32', 'i32', 3e10)).toBe(2147483647);
    expect(castValue('f32', 'u32', -5)).toBe(0);
    expect(castValue('i32', 'u32', -1)).toBe(4294967295);
    expect(castValue('f32', 'bool', Number.NaN)).toBe(0);
  });

  it('wraps i32 arithmetic and follows the WGSL division-by-zero rule', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3], 'i32');
    const y = b.input('y', [3], 'i32');
    const g = b.build([b.binary('mul', x, y), b.binary('div', x, y), b.binary('rem', x, y)]);
    const [mul, div, rem] = interpret(g, [
      tensorData([3], [2147483647, -7, 9], 'i32'),
      tensorData([3], [2, 2, 0], 'i32'),
    ]);
    expect(Array.from(mul.data)).toEqual([-2, -14, 0]);
    expect(Array.from(div.data)).toEqual([1073741823, -3, 9]);
    expect(Array.from(rem.data)).toEqual([1, -1, 0]);
  });

  it('evaluates leaves and out-of-range indices as documented', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 3]);
    const idx = b.input('idx', [2, 2], 'i32');
    const iota = b.add({ op: 'iota', axis: 1, shape: [2, 3], dtype: 'i32', inputs: [] });
    const lit = b.add({ op: 'literal', values: [1, 0, 1], shape: [3], dtype: 'bool', inputs: [] });
    const gathered = b.add({ op: 'gather', axis: 1, inputs: [x, idx] });
    const src = b.fill(1, [2, 2]);
    const scattered = b.add({ op: 'scatter_add', axis: 1, inputs: [b.fill(0, [2, 3]), idx, src] });
    const padded = b.add({ op: 'pad', low: [0, 1], high: [0, 0], value: -9, inputs: [x] });
    const g = b.build([iota, lit, gathered, scattered, padded]);
    const [i, l, ga, sc, pa] = interpret(g, [
      tensorData([2, 3], [1, 2, 3, 4, 5, 6]),
      tensorData([2, 2], [2, -1, 3, 0], 'i32'),
    ]);
    expect(Array.from(i.data)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(Array.from(l.data)).toEqual([1, 0, 1]);
    expect(Array.from(ga.data)).toEqual([3, 0, 0, 4]);
    expect(Array.from(sc.data)).toEqual([0, 0, 1, 1, 0, 0]);
    expect(Array.from(pa.data)).toEqual([-9, 1, 2, 3, -9, 4, 5, 6]);
  });

  it('Threefry-2x32-20 matches the Random123 known answers', () => {
    expect(threefry2x32(0, 0, 0, 0)).toEqual([0x6b200159, 0x99ba4efe]);
    expect(threefry2x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff)).toEqual([
      0x1cb996fc, 0xbb002be7,
    ]);
    expect(threefry2x32(0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3)).toEqual([
      0xc4923a9c, 0x483df7a0,
    ]);
  });

  it('random_bits is element i = threefry(key, (i, 0)) word 0', () => {
    const b = new GraphBuilder();
    const key = b.input('key', [2], 'u32');
    const g = b.build([b.add({ op: 'random_bits', shape: [2, 2], dtype: 'u32', inputs: [key] })]);
    const [bits] = interpret(g, [tensorData([2], [1, 2], 'u32')]);
    expect(Array.from(bits.data)).toEqual([0, 1, 2, 3].map((i) => threefry2x32(1, 2, i, 0)[0]));
  });
});
