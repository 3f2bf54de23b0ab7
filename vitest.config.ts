// Vitest configuration: one forked process per test file, so each file gets its own Dawn instance
// and a hang or crash in native code stays inside that file. ALIGNC_TEST_REPORT=FILE also writes a
// JSON report (CI prints its 'N passed, N failed' line from it).
import { defineConfig } from 'vitest/config';

const report = process.env.ALIGNC_TEST_REPORT;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    env: { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
    reporters: report ? ['default', 'json'] : ['default'],
    outputFile: report ? { json: report } : undefined,
  },
});
