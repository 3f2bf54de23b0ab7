// The front-end commands of the CLI: `alignc check`, `alignc compile --emit …` and `alignc fmt`,
// run through cli/main.ts's dispatcher in a child process, as a user runs them: exit statuses,
// located messages, and never a stack trace for a user mistake.

import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseArgs } from '../../cli/command.js';
import { checkCommand } from '../../cli/commands/check.js';
import { compileCommand } from '../../cli/commands/compile.js';
import { fmtCommand } from '../../cli/commands/fmt.js';
import { AlignError } from '../../runtime/errors.js';

async function run(
  command: typeof checkCommand,
  argv: string[],
): Promise<{ status: number; out: string; error?: AlignError }> {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => {
    chunks.push(String(s));
    return true;
  }) as typeof process.stdout.write;
  try {
    const status = await command.run(parseArgs(argv, command.options));
    return { status, out: chunks.join('') };
  } catch (error) {
    if (error instanceof AlignError) return { status: 1, out: chunks.join(''), error };
    throw error;
  } finally {
    process.stdout.write = write;
  }
}

describe('alignc check', () => {
  test('the shipped pipeline checks clean', async () => {
    const r = await run(checkCommand, ['pipelines/aligndet-retinanet.align']);
    expect(r.error).toBeUndefined();
    expect(r.out).toBe('ok: 1 file checked (+3 imported)\n');
  });
  test('a broken file: every diagnostic rendered with file:line:col and a caret, status 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'alignc-'));
    const file = join(dir, 'bad.align');
    writeFileSync(file, 'view a = hflip(p: 2)\nconst b = c\n');
    const r = await run(checkCommand, [file]);
    expect(r.status).toBe(1);
    expect(r.error?.render()).toBe(
      [
        `${file}:1:19: error[E_ARG_RANGE]: \`p\` of \`hflip\` must be between 0 and 1, got 2`,
        '  |',
        '1 | view a = hflip(p: 2)',
        '  |                   ^',
        '  hint: flip probability',
        '',
        `${file}:2:11: error[E_UNKNOWN_NAME]: unknown name \`c\``,
        '  |',
        '2 | const b = c',
        '  |           ^',
        '',
        '2 errors',
      ].join('\n'),
    );
  });
});

describe('alignc compile', () => {
  test('--emit ast prints the AST as JSON', async () => {
    const r = await run(compileCommand, ['pipelines/std/tensor.align', '--emit', 'ast']);
    const ast = JSON.parse(r.out) as {
      kind: string;
      items: { kind: string; name: { name: string } }[];
    };
    expect(ast.kind).toBe('Module');
    expect(ast.items.map((i) => i.name.name)).toEqual([
      'l2_normalize',
      'logsumexp_rows',
      'safe_sqrt',
    ]);
  });
  test('--emit ir lowers the functions with the given sizes, gradients on request', async () => {
    const r = await run(compileCommand, [
      'pipelines/std/tensor.align',
      '--emit',
      'ir',
      '--fn',
      'l2_normalize',
      '--dims',
      'N=2,D=3',
    ]);
    expect(r.error).toBeUndefined();
    expect(r.out).toMatch(/^\/\/ fn l2_normalize \(N=2, D=3\)\n%0 = input\(\) "x" : f32\[2,3\]/);
    expect(r.out).toContain('reduce(%2) sum axes=[1] : f32[2,1]');
    const all = await run(compileCommand, ['pipelines/std/tensor.align', '--emit', 'ir']);
    expect(all.out.match(/^\/\/ fn /gm)?.length).toBe(3);
    const grad = await run(compileCommand, [
      'pipelines/std/tensor.align',
      '--emit',
      'ir',
      '--fn',
      'logsumexp_rows',
      '--grad',
    ]);
    expect(grad.out).toContain('with gradients');
    const missing = await run(compileCommand, [
      'pipelines/std/tensor.align',
      '--emit',
      'ir',
      '--fn',
      'l2_normalise',
    ]);
    expect(missing.error?.message).toContain('no function l2_normalise');
    expect(missing.error?.hint).toContain('did you mean l2_normalize?');
  });
  test('--emit wgsl prints the kernels generated for this adapter; a bad --emit is a usage error', async () => {
    const r = await run(compileCommand, [
      'pipelines/std/tensor.align',
      '--emit',
      'wgsl',
      '--fn',
      'l2_normalize',
      '--dims',
      'N=4,D=3',
      '--grad',
    ]);
    expect(r.error).toBeUndefined();
    expect(r.out).toMatch(/^\/\/ fn l2_normalize \(N=4, D=3\): \d+ kernels on /);
    expect(r.out).toContain('@compute @workgroup_size(');
    expect(r.out).toContain('fn main(');
    const bad = await run(compileCommand, ['pipelines/std/tensor.align', '--emit', 'png']);
    expect(bad.error?.code).toBe('E_USAGE');
  });
});

describe('alignc fmt', () => {
  test('--check reports an unformatted file and leaves it alone; fmt rewrites it; then --check passes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'alignc-'));
    const file = join(dir, 'messy.align');
    copyFileSync('test/fixtures/lang/format/messy.align', file);
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        '"../../../../pipelines/std/boxes.align"',
        '"boxes.align"',
      ),
    );
    const before = readFileSync(file, 'utf8');
    const check = await run(fmtCommand, ['--check', file]);
    expect([check.status, check.out]).toEqual([1, `not formatted: ${file}\n`]);
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect((await run(fmtCommand, [file])).out).toBe(`formatted ${file}\n`);
    expect((await run(fmtCommand, ['--check', file])).status).toBe(0);
  });
});

test.skipIf(!existsSync('dist/cli/main.js'))(
  'through the built executable: status 1 and no stack trace for a user mistake',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'alignc-'));
    const file = join(dir, 'bad.align');
    writeFileSync(file, 'stage s {\n  train 12 epochs\n');
    const r = spawnSync(process.execPath, ['dist/cli/main.js', 'check', file], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${file}:3:1: error[E_PARSE_EXPECTED]`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  },
);
