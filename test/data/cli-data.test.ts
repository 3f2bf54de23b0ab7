// `alignc data`: VOC → COCO ground truth for the evaluator and labelled-fraction split files.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { parseArgs } from '../../cli/command.js';
import { dataCommand } from '../../cli/commands/data.js';
import { UsageError } from '../../runtime/errors.js';
import { tempDir } from './helpers.js';

async function run(argv: string[]): Promise<string> {
  const out: string[] = [];
  const write = vi
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
  const warn = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    expect(await dataCommand.run(parseArgs(argv, dataCommand.options))).toBe(0);
  } finally {
    write.mockRestore();
    warn.mockRestore();
  }
  return out.join('');
}

describe('alignc data', () => {
  test('bccd val → COCO equal to the evaluator golden, and a 10 % fraction file', async () => {
    const dir = tempDir('cli-data');
    const coco = join(dir, 'val.json');
    const split = join(dir, 'val10.txt');
    const text = await run([
      'bccd',
      '--split',
      'val',
      '--coco',
      coco,
      '--fraction',
      '10',
      '--seed',
      '1',
      '--out',
      split,
    ]);
    expect(text).toContain('bccd/val: 87 images, 1137 boxes');
    expect(text).toMatch(/zero-area-box: 1 \(first: .*BloodImage_00338\.xml/);
    const golden = JSON.parse(
      readFileSync('test/fixtures/data/bccd-val-coco-gt.json', 'utf8'),
    ) as Record<string, unknown>;
    const mine = JSON.parse(readFileSync(coco, 'utf8')) as Record<string, unknown>;
    for (const key of ['images', 'annotations', 'categories'])
      expect(mine[key]).toEqual(golden[key]);
    expect(readFileSync(split, 'utf8').trim().split('\n').length).toBe(9); // round(8.7)
  });

  test('usage mistakes are UsageErrors', async () => {
    await expect(dataCommand.run(parseArgs([], dataCommand.options))).rejects.toBeInstanceOf(
      UsageError,
    );
    await expect(
      dataCommand.run(parseArgs(['coco', 'x.json'], dataCommand.options)),
    ).rejects.toThrow(/--images/);
  });
});
