// Golden diagnostics of compiler/check: one case (or more) per diagnostic code, each stating the
// exact `line:col CODE message` the checker must produce, plus cases that must check clean.

import { describe, expect, test } from 'vitest';
import { DIAGNOSTIC_CODES } from '../../compiler/diagnostics.js';
import { diagnosticsOf, PRELUDE, syntaxErrorsOf } from './helpers.js';

const seen = new Set<string>();
function expectDiagnostics(
  source: string,
  expected: string[],
  extra: Record<string, string> = {},
): void {
  const got = diagnosticsOf(source, extra);
  for (const d of got) seen.add(d.split(' ')[1]);
  expect(got).toEqual(expected);
}

/** The prelude plus a stage body (stage statements start on line 6). */
function stage(...lines: string[]): string {
  return `${PRELUDE}\nstage s {\n${lines.join('\n')}\n}`;
}

const TRAIN = ['data d, batch: 2', 'view v = aug', 'let o = det(v)'];
const OPT = ['optimize sgd(lr: 0.01), params: det', 'train 1 epochs'];

describe('clean sources', () => {
  test('config declarations, a function and a training stage', () => {
    expectDiagnostics(
      stage(
        ...TRAIN,
        'match m = max_iou(o.anchors, v.boxes, v.ids, pos: 0.5, neg: 0.4)',
        'loss l = sum(o.embed) * 0 + sum(f32(m.positive)), weight: 2',
        ...OPT,
      ),
      [],
    );
  });
  test('comprehensions, reductions, casts and where', () => {
    expectDiagnostics(
      [
        'fn f(q: f32[N, D], k: f32[M, D], l: i32[N]) -> f32[N, M] {',
        '  let s[i, j] = sum[d](q[i, d] * k[j, d]) / 0.5',
        '  let m[i, j] = where(l[i] >= 0, s[i, j], -inf)',
        '  return m',
        '}',
      ].join('\n'),
      [],
    );
  });
});

test('`normalize` is the L2 normalisation in tensor code and the image normalisation in a view', () => {
  expectDiagnostics(
    'view a = normalize(mean: [1, 2, 3], std: [1, 1, 1])\nfn f(x: f32[N, D]) -> f32[N, D] {\n  return normalize(x) + softmax(x) + log_softmax(x)\n}',
    [],
  );
});

describe('one golden message per diagnostic code', () => {
  test('E_UNKNOWN_NAME with a suggestion, and use before declaration', () => {
    expectDiagnostics(
      'dataset a = coco(images: "i", annotations: b)\nconst b = "x"\nconst c = datset',
      [
        '1:44 E_UNKNOWN_NAME `b` is used before its declaration (line 2)',
        '3:11 E_UNKNOWN_NAME unknown name `datset`',
      ],
    );
    expectDiagnostics('const tau = 0.5\nconst t = tua', [
      '2:11 E_UNKNOWN_NAME unknown name `tua`; did you mean `tau`?',
    ]);
  });
  test('E_UNKNOWN_PARAM with "did you mean"', () => {
    expectDiagnostics(
      stage(
        ...TRAIN,
        'loss l = sum(o.embed)',
        'optimize sgd(lr_rate: 0.1), params: det',
        'train 1 epochs',
      ),
      ['10:14 E_UNKNOWN_PARAM unknown parameter `lr_rate` of `sgd`; did you mean `lr`?'],
    );
  });
  test('E_ARG_RANGE names the range', () => {
    expectDiagnostics('view a = hflip(p: 1.5)', [
      '1:19 E_ARG_RANGE `p` of `hflip` must be between 0 and 1, got 1.5',
    ]);
    expectDiagnostics('dataset a = coco(images: "i", annotations: "j", fraction: 120%)', [
      '1:59 E_ARG_RANGE `fraction` of `coco` must be between 0 and 100, got 120',
    ]);
  });
  test('E_ARG_TYPE', () => {
    expectDiagnostics('view a = hflip(p: "half")', [
      '1:19 E_ARG_TYPE `p` of `hflip` must be a number, not a string',
    ]);
  });
  test('E_MISSING_ARG, E_TOO_MANY_ARGS, E_DUPLICATE_ARG', () => {
    expectDiagnostics('proposals p = nms()', [
      '1:15 E_DECL_KIND `proposals p` must be proposals such as selective_search(…) >> nms(…), not proposal filter',
      '1:15 E_MISSING_ARG `nms` needs `iou`',
    ]);
    expectDiagnostics('view a = hflip(0.5, 0.3)', [
      '1:21 E_TOO_MANY_ARGS `hflip` takes at most 1 positional argument',
    ]);
    expectDiagnostics('view a = hflip(p: 0.5, p: 0.3)', [
      '1:24 E_DUPLICATE_ARG `p` is given twice to `hflip`',
    ]);
  });
  test('E_DECL_KIND', () => {
    expectDiagnostics('dataset x = resnet(depth: 50)', [
      '1:13 E_DECL_KIND `dataset x` must be a dataset such as coco(…), not backbone',
    ]);
  });
  test('E_DUPLICATE: declarations, built-ins, parameters, lets', () => {
    expectDiagnostics('const a = 1\nconst a = 2\nconst exp = 3', [
      '2:7 E_DUPLICATE `a` is already defined',
      '3:7 E_DUPLICATE `exp` is a built-in and cannot be redefined',
    ]);
    expectDiagnostics('fn f(x: f32, x: f32) -> f32 {\n  let y = x\n  let y = x\n  return y\n}', [
      '1:14 E_DUPLICATE parameter `x` appears twice in `f`',
      '3:7 E_DUPLICATE `y` is already defined in `f`',
    ]);
  });
  test('E_UNKNOWN_MEMBER lists the fields', () => {
    expectDiagnostics(stage(...TRAIN, 'let x = o.embeds'), [
      '9:11 E_UNKNOWN_MEMBER retinanet output has no field `embeds`; did you mean `embed`?',
    ]);
  });
  test('E_NOT_CALLABLE', () => {
    expectDiagnostics('const a = 1\nconst b = a(2)', [
      '2:11 E_NOT_CALLABLE `a` is an integer, which cannot be called',
    ]);
  });
  test('E_CONTEXT: tensor code at top level, blocks inside fn, detectors outside stages', () => {
    expectDiagnostics('const a = exp(1)', [
      '1:11 E_CONTEXT `exp` is tensor code; it cannot be used in a top-level declaration',
    ]);
    expectDiagnostics('fn f(x: f32) -> f32 {\n  let b = resnet(depth: 18)\n  return x\n}', [
      '2:11 E_CONTEXT `resnet` is not tensor code; it cannot be used inside `fn`',
    ]);
  });
  test('E_TYPE: pipes of the wrong kinds, boolean masks as indices', () => {
    expectDiagnostics('view a = hflip(p: 0.5) >> nms(iou: 0.5)', [
      '1:10 E_TYPE `>>` chains view transforms, or proposals with proposal filters; it cannot chain transform with proposal filter',
    ]);
    expectDiagnostics('fn f(x: f32[N], m: bool[N]) -> f32[N] {\n  return x[m]\n}', [
      '2:12 E_TYPE boolean masks do not select rows (shapes are static)',
    ]);
  });
  test('E_DTYPE', () => {
    expectDiagnostics('fn f(x: f32[N], l: i32[N]) -> f32[N] {\n  return x + l\n}', [
      '2:10 E_DTYPE cannot mix f32 and i32; convert one side with f32(…) or i32(…)',
    ]);
  });
  test('E_SHAPE_MISMATCH shows both shapes', () => {
    expectDiagnostics('fn f(a: f32[N, 4], b: f32[M, 4]) -> f32[N, 4] {\n  return a + b\n}', [
      '2:10 E_SHAPE_MISMATCH shapes do not fit: f32[N, 4] and f32[M, 4] do not broadcast: N vs M in axis -2',
    ]);
    expectDiagnostics(
      'fn g(a: f32[N, 4], b: f32[N, 4]) -> f32 {\n  return sum(a)\n}\nfn f(a: f32[N, 4], b: f32[M, 4]) -> f32 {\n  return g(a, b)\n}',
      [
        '5:15 E_SHAPE_MISMATCH argument `b` of `g`: expected f32[N, 4] (N from `a`) but got f32[M, 4]',
      ],
    );
    expectDiagnostics('fn f(a: f32[N, 4]) -> f32[N] {\n  return a\n}', [
      '2:10 E_SHAPE_MISMATCH `f` must return f32[N]: expected f32[N] but got f32[N, 4]',
    ]);
    expectDiagnostics(
      `use std.losses\n${stage(...TRAIN, 'loss l = l1(o.deltas, v.boxes, f32(o.image))', ...OPT)}`,
      [
        '10:23 E_SHAPE_MISMATCH argument `target` of `l1`: expected f32[S_v, 4] (N = S_v from `pred`) but got f32[P, 4]',
      ],
    );
    expectDiagnostics(stage(...TRAIN, 'loss l = o.embed', ...OPT), [
      '9:10 E_SHAPE_MISMATCH a loss must be a scalar f32, but `l` is f32[S_v, 32]',
    ]);
  });
  test('E_RANK', () => {
    expectDiagnostics('fn f(a: f32[N]) -> f32 {\n  return a[0, 1]\n}', [
      '2:10 E_RANK f32[N] has 1 axis but is indexed with 2',
    ]);
    expectDiagnostics('fn f(a: f32[N, 4]) -> f32[N] {\n  let s[n] = a[n]\n  return s\n}', [
      '2:14 E_RANK the body of `let s[…]` must be one element, but it is f32[4]',
    ]);
  });
  test('E_INDEX_UNBOUND and E_INDEX_RANGE', () => {
    expectDiagnostics('fn f(a: f32[N]) -> f32[N] {\n  let b = a[i]\n  return b\n}', [
      '2:13 E_INDEX_UNBOUND index `i` is not bound here',
    ]);
    expectDiagnostics(
      'fn f(a: f32[N], b: f32[M]) -> f32[N] {\n  let s[i] = a[i] + b[i]\n  return s\n}',
      ['2:23 E_INDEX_RANGE index `i` runs over N (line 2) but axis 0 of f32[M] is M'],
    );
    expectDiagnostics('fn f(a: f32[N]) -> f32[N] {\n  let s[i, j] = a[i]\n  return a\n}', [
      '2:12 E_INDEX_RANGE the range of index `j` cannot be inferred',
    ]);
  });
  test('E_RETURN and E_BACKWARD', () => {
    expectDiagnostics('fn f(a: f32) -> f32 {\n  let b = a\n}', [
      '1:4 E_RETURN `f` never returns a value',
    ]);
    expectDiagnostics(
      'fn f(a: f32, b: f32) -> f32 {\n  return a * b\n  backward(g) {\n    grad a = g * b\n    grad c = g\n  }\n}',
      [
        '3:3 E_BACKWARD the backward block gives no gradient for `b`',
        '5:10 E_BACKWARD `c` is not a parameter of `f`',
      ],
    );
  });
  test('E_RECURSION, direct and through another function', () => {
    expectDiagnostics(
      'fn f(x: f32) -> f32 {\n  return g(x)\n}\nfn g(x: f32) -> f32 {\n  return f(x) + 1\n}\nfn h(x: f32) -> f32 {\n  return h(x)\n}',
      ['1:4 E_RECURSION `f` calls itself (f → g → f)', '7:4 E_RECURSION `h` calls itself (h → h)'],
    );
  });
  test('E_STAGE: missing clauses, repeated clauses, optimizing an EMA copy, later stages', () => {
    expectDiagnostics(stage(...TRAIN, 'loss l = sum(o.embed)'), [
      '5:7 E_STAGE stage `s` has losses but has no `optimize` clause',
      '5:7 E_STAGE stage `s` has losses but has no `train` clause',
    ]);
    expectDiagnostics(
      stage(
        ...TRAIN,
        'loss l = sum(o.embed)',
        'optimize sgd(lr: 0.1), params: slow',
        'train 1 epochs',
        'train 2 epochs',
      ),
      [
        '10:32 E_STAGE an ema(…) copy follows its online detector; it cannot also be optimized',
        '12:1 E_STAGE stage `s` has two `train` clauses',
      ],
    );
    expectDiagnostics(stage('evaluate det, data: d, metric: coco_map()'), [
      '6:10 E_STAGE this detector has no classifier, so it cannot be evaluated',
    ]);
    expectDiagnostics(
      `${PRELUDE}\nstage a {\ninit det, from: b\n}\nstage b {\ninit det, from: "x.safetensors"\n}`,
      ['6:17 E_STAGE stage `b` does not run before this point'],
    );
  });
  test('E_IMPORT_NOT_FOUND', () => {
    expectDiagnostics('use std.lossez', [
      '1:5 E_IMPORT_NOT_FOUND cannot find `std.lossez` (looked for pipelines/std/lossez.align)',
    ]);
  });
});

describe('imports', () => {
  test('a cycle is reported with its chain', () => {
    const got = diagnosticsOf('use "b.align"', {
      '/virtual/b.align': 'use "c.align"',
      '/virtual/c.align': 'use "main.align"',
    });
    expect(got).toEqual([
      '1:5 E_IMPORT_CYCLE import cycle: /virtual/main.align → /virtual/b.align → /virtual/c.align → /virtual/main.align',
    ]);
    seen.add('E_IMPORT_CYCLE');
  });
  test('two imports of one name conflict; `as` keeps them apart', () => {
    const files = {
      '/virtual/a.align': 'fn l1(x: f32) -> f32 {\n  return x\n}',
      '/virtual/b.align': 'fn l1(x: f32) -> f32 {\n  return x\n}',
    };
    expectDiagnostics(
      'use "a.align"\nuse "b.align"',
      ['2:1 E_IMPORT_CONFLICT `l1` is imported twice, by two different `use`'],
      files,
    );
    expectDiagnostics(
      'use "a.align"\nuse "b.align" as b\nfn f(x: f32) -> f32 {\n  return l1(x) + b.l1(x)\n}',
      [],
      files,
    );
  });
  test('std functions are visible through `use std.losses` and shape-checked', () => {
    expectDiagnostics(
      'use std.losses\nfn f(p: f32[N, 4], t: f32[M, 4], w: f32[N]) -> f32 {\n  return l1(p, t, w)\n}',
      [
        '3:16 E_SHAPE_MISMATCH argument `target` of `l1`: expected f32[N, 4] (N from `pred`) but got f32[M, 4]',
      ],
    );
  });
});

describe('syntax errors', () => {
  test('every error of a file in one run, one per line', () => {
    const got = syntaxErrorsOf(
      'dataset x = coco("a" "b")\nfn f(a: f32 -> f32 { return a }\nstage s { data x,, batch: 2 }\nview v = ',
    );
    for (const d of got) seen.add(d.split(' ')[1]);
    expect(got).toEqual([
      "1:22 E_PARSE_EXPECTED expected ')' but found '\"b\"' in a call",
      "2:13 E_PARSE_EXPECTED expected ')' but found '->' in a `fn` declaration",
      "3:18 E_PARSE_UNEXPECTED expected an expression but found ',' in an argument",
      '4:10 E_PARSE_UNEXPECTED expected an expression but found end of file in an expression',
    ]);
  });
  test('lexical errors, unterminated strings, huge numbers, deep nesting', () => {
    const got = [
      ...syntaxErrorsOf('const a = 1 $ 2'),
      ...syntaxErrorsOf('const a = "abc'),
      ...syntaxErrorsOf('const a = 1e999'),
      ...syntaxErrorsOf(`const a = ${'('.repeat(70)}1${')'.repeat(70)}`),
    ];
    for (const d of got) seen.add(d.split(' ')[1]);
    expect(got).toEqual([
      '1:13 E_PARSE_CHAR unexpected character "$"',
      '1:11 E_PARSE_STRING this string has no closing quote on its line',
      '1:11 E_PARSE_NUMBER the number 1e999 is too large to represent',
      '1:75 E_PARSE_TOO_DEEP brackets are nested more than 64 deep here',
    ]);
  });
  test('over-long operator chains and prefix runs are refused before any pass can overflow the stack', () => {
    const chains = [
      Array(5000).fill('1').join(' + '),
      Array(5000).fill('2').join(' ^ '),
      `${'-'.repeat(5000)}1`,
      `b${'.c'.repeat(5000)}`,
    ];
    for (const chain of chains) {
      expect(syntaxErrorsOf(`const a = ${chain}`)[0]).toMatch(
        /^1:\d+ E_PARSE_TOO_DEEP this expression nests more than 200 operations deep$/,
      );
    }
    expect(diagnosticsOf(`const a = ${Array(150).fill('1').join(' + ')}`)).toEqual([]);
  });
});

test('every diagnostic code is produced by some case above', () => {
  expect([...seen].sort()).toEqual(Object.keys(DIAGNOSTIC_CODES).sort());
});
