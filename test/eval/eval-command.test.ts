// `alignc eval` end to end, minus the process: parse the arguments as cli/main.ts does, call the
// command's run, capture what it writes to stdout, and compare with the pycocotools goldens.

import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { parseArgs } from '../../cli/command.js';
import { evalCommand } from '../../cli/commands/eval.js';
import { AlignError } from '../../runtime/errors.js';
import { readFileSync } from 'node:fs';

const fixture = (name: string): string =>
  fileURLToPath(new URL(`../fixtures/eval/${name}`, import.meta.url));
const expected = JSON.parse(readFileSync(fixture('expected_b_noisy.json'), 'utf8')) as {
  stats: number[];
  per_category: { category_id: number; AP: number }[];
};

let stdout = '';
beforeEach(() => {
  stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function run(argv: string[]): Promise<number> {
  return evalCommand.run(parseArgs(argv, evalCommand.options));
}

describe('alignc eval', () => {
  test("prints pycocotools' summary layout, per-category AP and VOC AP50", async () => {
    const code = await run(['--gt', fixture('gt.json'), '--results', fixture('dt_b_noisy.json')]);
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    const first = lines.findIndex((l) => l.startsWith(' Average Precision'));
    // The 12 lines exactly as pycocotools' summarize() prints them for this case (values from the
    // golden rounded to 3 decimals).
    const f = (i: number): string => expected.stats[i].toFixed(3);
    expect(lines.slice(first, first + 12)).toEqual([
      ` Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = ${f(0)}`,
      ` Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = ${f(1)}`,
      ` Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ] = ${f(2)}`,
      ` Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = ${f(3)}`,
      ` Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = ${f(4)}`,
      ` Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = ${f(5)}`,
      ` Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = ${f(6)}`,
      ` Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ] = ${f(7)}`,
      ` Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = ${f(8)}`,
      ` Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = ${f(9)}`,
      ` Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = ${f(10)}`,
      ` Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = ${f(11)}`,
    ]);
    expect(f(0)).toBe('0.303');
    const rbc = lines.find((l) => /^\s*1\s+RBC\s/.test(l));
    expect(rbc).toBeDefined();
    expect(rbc?.trim().split(/\s+/)[2]).toBe(expected.per_category[0].AP.toFixed(3));
    expect(stdout).toContain('87 images, 3 categories, 1137 boxes (0 crowd)');
    expect(stdout).toContain('1394 detections');
    expect(stdout).toMatch(/VOC AP50 \(VOC2010\+ all-point interpolation, IoU >= 0\.5\): 0\.635/);
  });

  test('--json prints the full-precision numbers', async () => {
    const code = await run([
      '--gt',
      fixture('gt_absent.json'),
      '--results',
      fixture('dt_e_absent.json'),
      '--json',
    ]);
    expect(code).toBe(0);
    const out = JSON.parse(stdout) as {
      stats: Record<string, number>;
      statsList: number[];
      perCategory: { categoryId: number; ap: number }[];
      counts: { detections: number };
    };
    const e = JSON.parse(readFileSync(fixture('expected_e_absent.json'), 'utf8')) as {
      stats: number[];
      per_category: { category_id: number; AP: number }[];
    };
    expect(out.statsList).toEqual(e.stats);
    expect(out.stats.APs).toBe(-1);
    expect(out.perCategory.map((c) => [c.categoryId, c.ap])).toEqual(
      e.per_category.map((c) => [c.category_id, c.AP]),
    );
    expect(out.counts.detections).toBe(1296);
  });

  test('missing --results is a usage error', async () => {
    await expect(run(['--gt', fixture('gt.json')])).rejects.toMatchObject({
      code: 'E_USAGE',
      message: expect.stringContaining('--results'),
    });
  });

  test('a positional path is a checkpoint to evaluate (test/run/eval-checkpoint.test.ts): a missing one is named', async () => {
    const error: unknown = await run(['runs/x/last']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AlignError);
    expect((error as AlignError).code).toBe('E_EVAL_CHECKPOINT');
    expect((error as AlignError).message).toContain('runs/x/last does not exist');
  });

  test('a missing file is an AlignError naming it', async () => {
    await expect(
      run(['--gt', fixture('nope.json'), '--results', fixture('dt_b_noisy.json')]),
    ).rejects.toMatchObject({ code: 'E_FILE', message: expect.stringContaining('nope.json') });
  });
});
