// `alignc reproduce` on the command line (cli/commands/reproduce.ts): --dry-run lists the
// `alignc run` commands of the matrix still to do, and bad flags are usage errors naming the
// allowed values. Runs nothing.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/app.js';

const dir = mkdtempSync(join(tmpdir(), 'alignc-reproduce-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o = vi
    .spyOn(process.stdout, 'write')
    .mockImplementation((s) => (out.push(String(s)), true));
  const e = vi
    .spyOn(process.stderr, 'write')
    .mockImplementation((s) => (err.push(String(s)), true));
  try {
    return { code: await main(argv), out: out.join(''), err: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('alignc reproduce', () => {
  it('--dry-run prints the alignc run commands of the matrix', async () => {
    const r = await run(
      'reproduce',
      '--budget',
      'tiny',
      '--detectors',
      'retinanet',
      '--seeds',
      '3',
      '--fractions',
      '10',
      '--out',
      dir,
      '--dry-run',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines.map((l) => / --stage (\S+)/.exec(l)?.[1])).toEqual([
      'pretrain_image',
      'pretrain_box',
      'finetune_scratch',
      'finetune_image',
      'finetune_aligndet',
    ]);
    for (const l of lines)
      expect(l).toMatch(/^alignc run \S*pipelines\/reproduce\/retinanet\.align /);
    expect(lines[1]).toContain(`--seed 3 --out ${join(dir, 'retinanet', 'seed-3', 'pretrain')} `);
    expect(lines[4]).toContain(
      `--out ${join(dir, 'retinanet', 'seed-3', 'labelled-10pct', 'aligndet')} `,
    );
    expect(lines[4]).toMatch(
      /--set labelled\.fraction=10% --set labelled\.seed=3 --backend cpu-reference$/,
    );
    expect(lines[4]).toContain('--set finetune_aligndet.train.length=2iters');
  });

  it('--backend webgpu passes the backend to every alignc run', async () => {
    const r = await run(
      'reproduce',
      '--budget',
      'tiny',
      '--detectors',
      'fcos',
      '--settings',
      'scratch',
      '--fractions',
      '10',
      '--seeds',
      '0',
      '--backend',
      'webgpu',
      '--out',
      join(tmpdir(), 'alignc-reproduce-none'),
      '--dry-run',
    );
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/--stage finetune_scratch .* --backend webgpu$/);
  });

  it('refuses unknown budgets, detectors and settings, naming the allowed ones', async () => {
    const budget = await run('reproduce', '--budget', 'huge', '--dry-run');
    expect(budget.code).toBe(1);
    expect(budget.err).toContain("--budget must be one of tiny, small, medium, full, not 'huge'");
    const detector = await run('reproduce', '--detectors', 'retinanet,detr', '--dry-run');
    expect(detector.code).toBe(1);
    expect(detector.err).toContain("unknown value 'detr' in --detectors");
    expect(detector.err).toContain('choose from retinanet, fcos');
    const setting = await run('reproduce', '--settings', 'byol', '--dry-run');
    expect(setting.err).toContain('choose from scratch, image, aligndet');
    const jobs = await run('reproduce', '--jobs', '0', '--dry-run');
    expect(jobs.err).toContain('--jobs needs a whole number >= 1, got 0');
    const backend = await run('reproduce', '--backend', 'cuda', '--dry-run');
    expect(backend.code).toBe(1);
    expect(backend.err).toContain("--backend must be cpu-reference or webgpu, not 'cuda'");
  });
});
