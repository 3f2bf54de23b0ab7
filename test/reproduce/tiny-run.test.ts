// `alignc reproduce --budget tiny` in this process (runtime/report/reproduce.ts with the in-process
// executor): RetinaNet, settings (b) and (c), one seed, one labelled fraction, 2 steps per stage at
// 96×64. Checks that the matrix ran (image-domain then box-domain pre-training in one run
// directory; each fine-tuning run starts from a link to the checkpoint its `init` names), that
// results.md holds the numbers of the run logs it produced (recomputed here from the logs with
// plain arithmetic), that the plots exist, that a second invocation skips every finished run, and
// that a fine-tuning run whose results are gone or whose log is damaged counts as not done.

import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readRunLog } from '../../runtime/io/run-log-reader.js';
import { packageRoot } from '../../runtime/package-root.js';
import { BUDGETS } from '../../runtime/report/reproduce-budgets.js';
import { isDone } from '../../runtime/report/reproduce-execute.js';
import { inProcessExecutor } from '../../runtime/report/reproduce-executors.js';
import { reproduce, type ReproduceOptions } from '../../runtime/report/reproduce.js';
import { listCheckpoints } from '../../runtime/train/checkpoint.js';

const root = packageRoot();
mkdirSync(join(root, '.cache'), { recursive: true });
const tmp = mkdtempSync(join(root, '.cache', 'reproduce-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const options: ReproduceOptions = {
  root,
  budget: BUDGETS.tiny,
  detectors: ['retinanet'],
  seeds: [0],
  fractions: [10],
  settings: ['image', 'aligndet'],
  outDir: join(tmp, 'runs'),
  resultsFile: join(tmp, 'docs', 'results.md'),
  plotDir: join(tmp, 'docs', 'results'),
  jobs: 1,
  executor: inProcessExecutor(),
  command: 'alignc reproduce --budget tiny',
  say: () => {},
};
const seedDir = join(tmp, 'runs', 'retinanet', 'seed-0');
const dirOf = (setting: string) => join(seedDir, 'labelled-10pct', setting);
const evalsOf = (setting: string) => readRunLog(join(dirOf(setting), 'log.jsonl')).evals;
/** "12.3" for an AP of 0.123, as the table writes it. */
const points = (ap: number) => (ap * 100).toFixed(1);
// Generous: 69–129 s measured at load average 11–16 (six engineers sharing two cores).
const SLOW = { timeout: 900_000 };

describe('alignc reproduce, tiny budget', () => {
  let outcome: Awaited<ReturnType<typeof reproduce>>;

  it('pre-trains once, then fine-tunes from links to its checkpoints', SLOW, async () => {
    outcome = await reproduce(options);
    expect(outcome.execution?.failed).toEqual([]);
    expect(outcome.execution?.ran.map((r) => r.id)).toEqual([
      'retinanet/seed-0/pretrain_image',
      'retinanet/seed-0/pretrain_box',
      'retinanet/seed-0/10pct/image',
      'retinanet/seed-0/10pct/aligndet',
    ]);
    const pretrained = listCheckpoints(join(seedDir, 'pretrain')).filter((c) => c.meta.complete);
    expect(pretrained.map((c) => c.meta.stage)).toEqual(['pretrain_image', 'pretrain_box']);
    // Each fine-tuning directory holds the pre-training checkpoint itself (a hard link).
    for (const [setting, from] of [
      ['image', 0],
      ['aligndet', 1],
    ] as const) {
      const stages = listCheckpoints(dirOf(setting)).map((c) => c.meta.stage);
      expect(stages).toEqual([pretrained[from].meta.stage, `finetune_${setting}`]);
      const linked = listCheckpoints(dirOf(setting))[0].path;
      expect(statSync(linked).ino).toBe(statSync(pretrained[from].path).ino);
    }
    const log = readRunLog(join(dirOf('aligndet'), 'log.jsonl'));
    expect(log.header.seed).toBe(0);
    expect(String(log.header.settings.overrides)).toContain('labelled.fraction=10%');
    expect(log.evals.map((e) => `${e.stage}:${e.step}`)).toEqual([
      'finetune_aligndet:1',
      'finetune_aligndet:2',
    ]);
  });

  it('writes results.md with the numbers of the run logs, and the plots', () => {
    const written = readFileSync(options.resultsFile, 'utf8');
    expect(written).toBe(outcome.markdown);
    // Prettier pads table cells; compare with single spaces.
    const md = written.replace(/ {2,}/g, ' ');
    expect(md).toContain('**Placeholder.**');
    expect(md).toContain('`alignc reproduce --budget tiny`');
    for (const [setting, label] of [
      ['image', '(b) image-domain only'],
      ['aligndet', '(c) image + box domain (AlignDet)'],
    ]) {
      const [at1, at2] = evalsOf(setting).map((e) => e.stats);
      // | setting | seeds | AP | AP50 | AP @ 1 | AP @ 2 |: one seed, so no ± part.
      expect(md).toContain(
        `| ${label} | 0 | ${points(at2.AP)} | ${points(at2.AP50)} | ${points(at1.AP)} | ${points(at2.AP)} |`,
      );
    }
    // No random-init run in this matrix: only AlignDet against image-domain is paired, and random
    // init is listed as absent.
    expect(md).not.toContain('− (a) random init, paired by seed');
    expect(md).toContain(
      '- (c) image + box domain (AlignDet) − (b) image-domain only, paired by seed',
    );
    expect(md).toContain('cannot be judged from one seed');
    expect(md).toContain('](results/retinanet-10pct.svg)');
    for (const ext of ['svg', 'png'])
      expect(existsSync(join(options.plotDir, `retinanet-10pct.${ext}`))).toBe(true);
    expect(readFileSync(join(options.plotDir, 'retinanet-10pct.svg'), 'utf8')).toContain(
      '(c) image + box domain (AlignDet) (n=1)',
    );
  });

  it(
    'skips finished runs; a fine-tuning run without its checkpoint is not done',
    SLOW,
    async () => {
      const again = await reproduce(options);
      expect(again.execution?.ran).toEqual([]);
      expect(again.execution?.skipped).toHaveLength(4);
      const results = (md: string) => md.slice(md.indexOf('## Results'));
      expect(results(again.markdown)).toBe(results(outcome.markdown));
      const image = outcome.matrix.runs.find((r) => r.id === 'retinanet/seed-0/10pct/image')!;
      expect(isDone(image)).toBe(true);
      rmSync(join(dirOf('image'), 'checkpoints'), { recursive: true });
      expect(isDone(image)).toBe(false);
      // A fine-tuning log damaged in the middle: redone rather than trusted or fatal.
      const aligndet = outcome.matrix.runs.find((r) => r.id === 'retinanet/seed-0/10pct/aligndet')!;
      const logFile = join(dirOf('aligndet'), 'log.jsonl');
      const [head, ...rest] = readFileSync(logFile, 'utf8').split('\n');
      writeFileSync(logFile, [head, '{"kind": oops', ...rest].join('\n'));
      expect(isDone(aligndet)).toBe(false);
    },
  );
});
