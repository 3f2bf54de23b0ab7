// compiler/format: the Prettier plugin keeps every comment and the meaning of the file (the AST
// is unchanged up to spans), is idempotent on every pipeline and test fixture, and matches the
// reviewed golden output for a deliberately messy file.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { formatAlign } from '../../compiler/format/format.js';
import { parseSource } from '../../grammar/parse.js';

function alignFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? alignFiles(join(dir, e.name))
      : e.name.endsWith('.align')
        ? [join(dir, e.name)]
        : [],
  );
}

/** The AST as JSON without positions: what must survive formatting. */
function meaning(text: string): string {
  const r = parseSource(text, 'f.align');
  expect(r.diagnostics).toEqual([]);
  return JSON.stringify(r.module, (k, v: unknown) =>
    k === 'span' || k === 'keywordSpan' || k === 'sourceSpan'
      ? undefined
      : k === 'comments'
        ? (v as { text: string }[]).map((c) => c.text)
        : v,
  );
}

const files = [...alignFiles('pipelines'), ...alignFiles('test/fixtures/lang')].filter(
  (f) => parseSource(readFileSync(f, 'utf8'), f).module !== undefined,
);

describe('format(format(x)) == format(x), meaning and comments kept', () => {
  test.each(files)('%s', async (file) => {
    const text = readFileSync(file, 'utf8');
    const once = await formatAlign(text, file);
    const twice = await formatAlign(once, file);
    expect(twice).toBe(once);
    expect(meaning(once)).toBe(meaning(text));
  });
});

test('the messy fixture formats to the reviewed golden file', async () => {
  const file = 'test/fixtures/lang/format/messy.align';
  const golden = readFileSync('test/fixtures/lang/format/messy.formatted.align.txt', 'utf8');
  expect(await formatAlign(readFileSync(file, 'utf8'), file)).toBe(golden);
});

test('a file of comments only, and an empty file', async () => {
  expect(await formatAlign('// one\n\n   // two\n', 'c.align')).toBe('// one\n// two\n');
  expect(await formatAlign('', 'e.align')).toBe('');
});

test('syntax errors come back as located diagnostics, not a Prettier crash', async () => {
  await expect(formatAlign('const = 1', 'bad.align')).rejects.toMatchObject({
    code: 'E_PARSE_EXPECTED',
  });
});
