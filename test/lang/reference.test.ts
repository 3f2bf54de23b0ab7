// docs/language.md and editors/align.tmLanguage.json stay in step with the implementation: every
// diagnostic code, built-in and clause is documented, and the TextMate grammar knows every keyword
// of the lexer (and its patterns are valid regular expressions).

import { readFileSync, writeFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { builtins, tensorVariantBuiltins } from '../../compiler/check/builtins/index.js';
import { builtinReferenceMarkdown } from '../../compiler/check/builtins/reference.js';
import { clauseSignatures } from '../../compiler/check/builtins/stage.js';
import { DIAGNOSTIC_CODES } from '../../compiler/diagnostics.js';
import { CLAUSE_WORDS, DTYPE_WORDS, REDUCE_WORDS, UNIT_WORDS } from '../../grammar/tokens.js';

let doc = readFileSync('docs/language.md', 'utf8');

/** Table rows compared cell by cell, so Prettier's column padding does not matter. */
function normalize(markdown: string): string {
  return markdown
    .split('\n')
    .map((l) =>
      l.startsWith('|')
        ? l
            .split('|')
            .map((c) => c.trim().replace(/^-+$/, '---'))
            .join('|')
        : l.trim(),
    )
    .filter((l) => l !== '')
    .join('\n');
}

test('the built-in reference in the docs is the one generated from the signature tables', () => {
  const region = () => {
    const start = doc.indexOf('-->', doc.indexOf('<!-- builtins:start')) + 3;
    return { start, end: doc.indexOf('<!-- builtins:end -->') };
  };
  const generated = builtinReferenceMarkdown();
  if (process.env.ALIGN_UPDATE_DOCS === '1') {
    const { start, end } = region();
    doc = `${doc.slice(0, start)}\n\n${generated}\n${doc.slice(end)}`;
    writeFileSync('docs/language.md', doc);
  }
  const { start, end } = region();
  expect(normalize(doc.slice(start, end))).toBe(normalize(generated));
});

test('every diagnostic code is documented with an example', () => {
  for (const code of Object.keys(DIAGNOSTIC_CODES))
    expect(doc, code).toMatch(new RegExp(`\\|\\s*\`${code}\`\\s*\\| .+ \\| \`.+\`.*\\|`));
});

test('every built-in and clause has a row in the reference', () => {
  for (const name of [
    ...builtins.keys(),
    ...tensorVariantBuiltins.keys(),
    ...Object.keys(clauseSignatures),
  ]) {
    expect(doc, name).toMatch(new RegExp(`\\|\\s*\`${name}\`\\s*\\|`));
  }
});

test('the TextMate grammar is valid and highlights every keyword', () => {
  const grammar = readFileSync('editors/align.tmLanguage.json', 'utf8');
  const patterns: string[] = [];
  /** Patterns that give keyword-like scopes (not the catch-all name and call patterns). */
  const keywordPatterns: string[] = [];
  JSON.parse(grammar, (key, value: unknown) => {
    if ((key === 'match' || key === 'begin' || key === 'end') && typeof value === 'string')
      patterns.push(value);
    if (typeof value === 'object' && value !== null && 'match' in value) {
      const v = value as {
        match: string;
        name?: string;
        captures?: Record<string, { name: string }>;
      };
      const scope = v.name ?? v.captures?.['1']?.name ?? '';
      if (/^(keyword|storage|constant|support)/.test(scope)) keywordPatterns.push(v.match);
    }
    return value;
  });
  for (const p of patterns) expect(() => new RegExp(p), p).not.toThrow();
  const keywords = [
    'use',
    'as',
    'const',
    'dataset',
    'proposals',
    'view',
    'detector',
    'fn',
    'stage',
    'let',
    'return',
    'match',
    'loss',
    'backward',
    'grad',
    'true',
    'false',
    'and',
    'or',
    'not',
    ...CLAUSE_WORDS,
    ...REDUCE_WORDS,
    ...DTYPE_WORDS,
    ...UNIT_WORDS,
  ];
  const highlighted = (word: string) =>
    keywordPatterns.some((p) => {
      const m =
        new RegExp(p).exec(` ${word}[ `) ??
        new RegExp(p).exec(`${word} x`) ??
        new RegExp(p).exec(`1 ${word}`);
      return m !== null && m[0].includes(word);
    });
  for (const k of keywords) expect(highlighted(k), k).toBe(true);
});
