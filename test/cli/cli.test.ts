// End-to-end tests of the `alignc` executable (the compiled dist/, as a user runs it): help,
// version, usage errors, doctor on the real adapter, and that every command exits by itself
// (Dawn keeps Node alive unless the runtime tears the device down).

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot, packageVersion } from '../../runtime/package-root.js';

const cli = join(packageRoot(), 'dist', 'cli', 'main.js');

function alignc(args: string[], env: Record<string, string> = {}) {
  const started = performance.now();
  const result = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, ...env },
  });
  return { ...result, seconds: (performance.now() - started) / 1000 };
}

describe('alignc executable', () => {
  it('is built (npm test builds it first)', () => {
    expect(existsSync(cli)).toBe(true);
  });

  it('prints help and version', () => {
    const help = alignc(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('usage: alignc <command>');
    expect(help.stdout).toContain('doctor');
    const version = alignc(['--version']);
    expect(version.stdout.trim()).toBe(`alignc ${packageVersion()}`);
  });

  it('names an unknown command and suggests the closest', () => {
    const result = alignc(['docter']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("unknown command 'docter'; did you mean 'doctor'?");
  });

  it('names an unknown option without a stack trace', () => {
    const result = alignc(['doctor', '--jsn']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('error[E_USAGE]: unknown option --jsn');
    expect(result.stderr).toContain('did you mean --json?');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('doctor reports the adapter, verifies a dispatch and exits by itself', () => {
    const result = alignc(['doctor', '--json']);
    expect(result.error).toBeUndefined(); // not killed by the timeout: no hang at exit
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout) as {
      ok: boolean;
      verdict: string;
      adapter: { device: string; enabledFeatures: string[] };
      dispatch: { ok: boolean; elements: number };
    };
    expect(report.ok).toBe(true);
    expect(report.dispatch.ok).toBe(true);
    expect(report.verdict).toMatch(/^READY/);
    expect(report.adapter.device.length).toBeGreaterThan(0);
    expect(result.seconds).toBeLessThan(20);
  });

  it('doctor without any Vulkan driver says what to install, exits 1 and does not hang', () => {
    const result = alignc(['doctor'], {
      VK_DRIVER_FILES: '/nonexistent/icd.json',
      VK_ICD_FILENAMES: '/nonexistent/icd.json',
    });
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('error[E_GPU_NO_ADAPTER]');
    expect(result.stdout).toContain('mesa-vulkan-drivers');
    expect(result.stdout).toContain('verdict: NOT READY');
  });
});
