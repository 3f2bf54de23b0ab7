// `alignc run` as a user runs it (the compiled dist/, built by `npm test` first): usage errors and
// located refusals print as one message with exit status 1, and nothing is written for them.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../runtime/package-root.js';

const root = packageRoot();
const cli = join(root, 'dist', 'cli', 'main.js');

function alignc(args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    cwd: root,
  });
}

describe('alignc run (executable)', () => {
  it('is listed in --help', () => {
    expect(alignc(['--help']).stdout).toMatch(/\n\s+run\s/);
  });

  it('refuses a pipeline it cannot execute, at its file:line:col, before making a run directory', () => {
    const out = join(root, '.cache', 'run-cli-never-made');
    const r = alignc(['run', 'pipelines/aligndet-fcos.align', '--out', out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^pipelines\/aligndet-fcos\.align:\d+:\d+: error\[E_RUN_UNSUPPORTED\]: detector online: weights /,
    );
    expect(r.stderr).not.toContain('    at ');
    expect(existsSync(out)).toBe(false);
  });

  it("refuses a stage that calls the pipeline's own namesake of a std loss, naming both places", () => {
    // The pipeline imports its own copy of std.losses: a runner that recognised `box_infonce` by
    // name would silently run std's function instead of this one.
    const dir = mkdtempSync(join(tmpdir(), 'alignc-own-loss-'));
    try {
      const std = readFileSync(join(root, 'pipelines', 'std', 'losses.align'), 'utf8');
      writeFileSync(join(dir, 'my-losses.align'), std);
      const pipeline = readFileSync(join(root, 'pipelines', 'bccd-default.align'), 'utf8');
      expect(pipeline).toContain('use std.losses\n');
      const file = join(dir, 'own.align');
      writeFileSync(file, pipeline.replace('use std.losses\n', 'use "my-losses.align"\n'));
      const out = join(dir, 'run');
      const r = alignc(['run', file, '--out', out]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        /own\.align:\d+:\d+: error\[E_RUN_UNSUPPORTED\]: loss contrast: calls box_infonce \(.*my-losses\.align:\d+:\d+\), defined by this pipeline/,
      );
      expect(existsSync(out)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names a bad override and a missing file', () => {
    const bad = alignc(['run', 'pipelines/bccd-default.align', '--set', 'online.neck.chanels=3']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(
      'error[E_RUN_OVERRIDE]: --set online.neck.chanels: fpn(…) has no parameter chanels',
    );
    const none = alignc(['run']);
    expect(none.status).toBe(1);
    expect(none.stderr).toContain('error[E_USAGE]: alignc run needs a pipeline file');
  });
});
