// Fuzzing the front end (grammar/ + compiler/check): thousands of mutated and truncated versions of
// the repo's pipelines must never crash it and must always come back with well-formed, located
// diagnostics (a known code, a span inside the file, a renderable caret excerpt). Seeded; the seed
// and the failing mutant are printed on failure. Reproduce with ALIGN_FUZZ_SEED=… (and
// ALIGN_FUZZ_COUNT=… for longer runs).

import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, test } from 'vitest';
import { checkFiles } from '../../compiler/check/index.js';
import { readFromDisk } from '../../compiler/check/modules.js';
import { DIAGNOSTIC_CODES, renderDiagnostic } from '../../compiler/diagnostics.js';
import { formatAlign } from '../../compiler/format/format.js';
import { parseSource } from '../../grammar/parse.js';
import { Rng } from '../../runtime/rng.js';

const SEED = Number(process.env.ALIGN_FUZZ_SEED ?? 20261127);
const COUNT = Number(process.env.ALIGN_FUZZ_COUNT ?? 2000);

const FRAGMENTS = [
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  ',',
  ':',
  '=',
  '==',
  '>>',
  '..',
  '->',
  '"',
  '"x"',
  '%',
  '^',
  '-',
  'let',
  'fn',
  'stage',
  'use',
  'view',
  'loss',
  'match',
  'sum[d](',
  'f32[N, 4]',
  'data',
  'train',
  'backward(g) {',
  'grad x =',
  '1e999',
  '0.5',
  '12 epochs',
  '@',
  '\n',
  '/*',
  '*/',
  '//',
  'x',
  'q[i, d]',
];

function sources(): { path: string; text: string }[] {
  const dir = 'pipelines';
  const files = [
    ...readdirSync(dir)
      .filter((f) => f.endsWith('.align'))
      .map((f) => join(dir, f)),
    ...readdirSync(join(dir, 'std')).map((f) => join(dir, 'std', f)),
  ];
  return files.map((f) => ({ path: resolve(f), text: readFileSync(f, 'utf8') }));
}

function mutate(text: string, rng: Rng): string {
  const at = rng.int(0, text.length + 1);
  switch (rng.int(0, 7)) {
    case 0:
      return text.slice(0, at);
    case 1:
      return text.slice(0, at) + text.slice(Math.min(text.length, at + rng.int(1, 40)));
    case 2:
      return text.slice(0, at) + FRAGMENTS[rng.int(0, FRAGMENTS.length)] + text.slice(at);
    case 3: {
      const lines = text.split('\n');
      const i = rng.int(0, lines.length);
      const j = rng.int(0, lines.length);
      [lines[i], lines[j]] = [lines[j], lines[i]];
      return lines.join('\n');
    }
    case 4:
      return text.slice(0, at) + String.fromCharCode(rng.int(32, 127)) + text.slice(at + 1);
    case 5: {
      const words = text.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? ['x'];
      const w = words[rng.int(0, words.length)];
      return text.replace(w, words[rng.int(0, words.length)]);
    }
    default: {
      const numbers = [...text.matchAll(/\d+(\.\d+)?/g)];
      const n = numbers[rng.int(0, Math.max(1, numbers.length))];
      if (!n || n.index === undefined) return text;
      const replacement = ['-1', '0', '1e6', '2.5', '100000000'][rng.int(0, 5)];
      return text.slice(0, n.index) + replacement + text.slice(n.index + n[0].length);
    }
  }
}

test(`${COUNT} mutated pipelines: no crash, every diagnostic located (seed ${SEED})`, () => {
  const rng = Rng.fromSeed(SEED);
  const corpus = sources();
  let withErrors = 0;
  for (let i = 0; i < COUNT; i++) {
    const source = corpus[rng.int(0, corpus.length)];
    let text = source.text;
    const rounds = rng.int(1, 4);
    for (let r = 0; r < rounds; r++) text = mutate(text, rng);
    const where = `seed ${SEED}, mutant ${i} of ${source.path}:\n${text.slice(0, 400)}`;
    let program;
    try {
      program = checkFiles([source.path], (p) => (p === source.path ? text : readFromDisk(p)));
    } catch (error) {
      throw new Error(`front end crashed (${where}): ${(error as Error).stack}`);
    }
    if (program.diagnostics.length > 0) withErrors++;
    const codes = new Set(Object.keys(DIAGNOSTIC_CODES));
    for (const d of program.diagnostics) {
      // Plain checks, not expect(): tens of thousands of them run here.
      const fileText = program.sources(d.span.file);
      const problem = !codes.has(d.code)
        ? `unknown code ${d.code}`
        : d.span.file.length === 0 || fileText === undefined
          ? `diagnostic without a known file: ${d.span.file}`
          : d.span.start.line < 1 ||
              d.span.start.column < 1 ||
              d.span.start.line > fileText.split('\n').length
            ? `span outside the file: ${d.span.start.line}:${d.span.start.column}`
            : !/^.+:\d+:\d+: error\[E_[A-Z_]+\]: /.test(renderDiagnostic(d, program.sources))
              ? 'unrenderable diagnostic'
              : undefined;
      if (problem) throw new Error(`${problem} (${where})`);
    }
  }
  // The mutations must actually exercise the error paths, not just pass through.
  expect(withErrors).toBeGreaterThan(COUNT / 2);
}, 120_000);

test(`mutants that still parse format idempotently (seed ${SEED})`, async () => {
  const rng = Rng.fromSeed(SEED + 1);
  const corpus = sources();
  let formatted = 0;
  for (let i = 0; formatted < 150 && i < 5000; i++) {
    const source = corpus[rng.int(0, corpus.length)];
    const text = mutate(source.text, rng);
    if (parseSource(text, source.path).module === undefined) continue;
    formatted++;
    const where = `seed ${SEED + 1}, mutant ${i} of ${source.path}`;
    const once = await formatAlign(text, source.path);
    expect(await formatAlign(once, source.path), where).toBe(once);
  }
  expect(formatted).toBe(150);
}, 120_000);
