// Where a training run's JSONL log goes (runtime/train → runtime/io's RunLogWriter): a new run
// writes `RUN/log.jsonl`; a resumed run cannot append to it (the writer never reopens a log, so a
// killed run's partial last line stays where the reader expects it), so it writes the next free
// `RUN/log.resume-N.jsonl`, whose header names the same run and whose step numbers continue.
// `runLogFiles` lists them back in writing order for the readers (runtime/report's merged log).

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RUN_LOG_FILE } from '../io/run-log.js';
import { RunLogWriter, type HeaderFields } from '../io/run-log-writer.js';

/** The log file a run (or its N-th resume) writes. */
export function runLogPath(runDir: string): string {
  const first = join(runDir, RUN_LOG_FILE);
  if (!existsSync(first)) return first;
  for (let n = 1; ; n++) {
    const next = join(runDir, RUN_LOG_FILE.replace(/\.jsonl$/, `.resume-${n}.jsonl`));
    if (!existsSync(next)) return next;
  }
}

const RESUME_LOG = /^log\.resume-([1-9][0-9]*)\.jsonl$/;

/** The log files of a run directory in the order they were written: `log.jsonl`, then resume 1, 2… */
export function runLogFiles(runDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(runDir);
  } catch {
    return [];
  }
  const resumes = names
    .map((n) => ({ n, m: RESUME_LOG.exec(n) }))
    .filter((x): x is { n: string; m: RegExpExecArray } => x.m !== null)
    .sort((a, b) => Number(a.m[1]) - Number(b.m[1]))
    .map((x) => join(runDir, x.n));
  return [...(names.includes(RUN_LOG_FILE) ? [join(runDir, RUN_LOG_FILE)] : []), ...resumes];
}

export function openRunLog(runDir: string, header: HeaderFields): RunLogWriter {
  return RunLogWriter.create(runLogPath(runDir), header);
}
