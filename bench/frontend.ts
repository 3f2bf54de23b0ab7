// Benchmark case: the `.align` front end. Parse + check of every shipped pipeline (each with the
// std modules it uses, parsed afresh), as `alignc check` does it — the language issue's promise is
// milliseconds, not seconds. Needs no GPU; the figure is milliseconds per pipeline.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkFiles } from '../compiler/check/index.js';
import { readFromDisk } from '../compiler/check/modules.js';
import { packageRoot } from '../runtime/package-root.js';
import { result, timeRounds, type BenchCase } from './harness.js';

export function frontendCase(): BenchCase {
  return {
    name: 'frontend-check',
    group: 'frontend',
    async run(_ctx, rounds) {
      const dir = join(packageRoot(), 'pipelines');
      const files = readdirSync(dir)
        .filter((f) => f.endsWith('.align'))
        .map((f) => join(dir, f));
      let diagnostics = 0;
      let round = 0;
      const times = await timeRounds(Math.max(rounds, 20), async () => {
        round++;
        for (const file of files) {
          // A comment that changes every round defeats the parse cache (keyed by file and text):
          // every file is re-read and re-parsed, as in a new `alignc check` process.
          const read = (p: string) => {
            const text = readFromDisk(p);
            return text === undefined ? undefined : `${text}\n// round ${round}\n`;
          };
          diagnostics += checkFiles([file], read).diagnostics.length;
        }
      });
      return result(
        `parse + check of the ${files.length} shipped pipelines (with their std imports)`,
        times,
        files.length,
        'ms/pipeline',
        (ms) => ms,
        diagnostics > 0
          ? `${diagnostics} diagnostics (a shipped pipeline does not check)`
          : undefined,
      );
    },
  };
}
