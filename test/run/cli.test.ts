// `alignc run` as a user runs it (the compiled dist/, built by `npm test` first): usage errors and
// located refusals print as one message with exit status 1, and nothing is written for them.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
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
