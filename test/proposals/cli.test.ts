// `alignc proposals` end to end on a folder of two tiny PNGs: the summary, the written COCO file, a
// second run served from it, and usage errors.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseArgs } from '../../cli/command.js';
import { proposalsCommand } from '../../cli/commands/proposals.js';
import { encodePng } from '../../runtime/data/image.js';
import { UsageError } from '../../runtime/errors.js';
import { paint, rectanglesImage } from './synthetic.js';

let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'alignc-proposals-cli-'));
  writeFileSync(join(dir, 'img_001.png'), await encodePng(rectanglesImage()));
  const other = paint(64, 48, [90, 90, 90], [{ rect: [4, 6, 40, 44], colour: [250, 250, 0] }]);
  writeFileSync(join(dir, 'img_002.png'), await encodePng(other));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await proposalsCommand.run(parseArgs(argv, proposalsCommand.options));
    return { code, stdout };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('alignc proposals', () => {
  it('writes the COCO file and serves it from the cache on a second run', async () => {
    const out = join(dir, 'out', 'p.json');
    const argv = ['--images', dir, '--out', out, '--top', '4', '--min-side', '16'];
    const first = await run([...argv, '--scale', '100', '--min-size', '20', '--workers', '0']);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^2 images, \d+ proposals .* from a fresh run \(in-thread\)/);
    expect(first.stdout).toContain(`written to ${out}`);
    const coco = JSON.parse(readFileSync(out, 'utf8')) as {
      images: { file_name: string }[];
      info: { alignc: { params: { top: number; scale: number } } };
    };
    expect(coco.images.map((i) => i.file_name)).toEqual(['img_001.png', 'img_002.png']);
    expect(coco.info.alignc.params).toMatchObject({ top: 4, scale: 100, minSide: 16 });
    const second = await run([...argv, '--scale', '100', '--min-size', '20']);
    expect(second.stdout).toMatch(/from the cache/);
  });

  it('reports a missing --images and a bad --mode as usage errors', async () => {
    await expect(run([])).rejects.toThrow(UsageError);
    await expect(run(['--images', dir, '--mode', 'quality'])).rejects.toThrow(/--mode/);
  });
});
