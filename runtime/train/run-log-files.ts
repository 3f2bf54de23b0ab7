// Where a training run's JSONL log goes (runtime/train → runtime/io's RunLogWriter): a new run
// writes `RUN/log.jsonl`; a resumed run cannot append to it (the writer never reopens a log, so a
// killed run's partial last line stays where the reader expects it), so it writes the next free
// `RUN/log.resume-N.jsonl`, whose header names the same run and whose step numbers continue.

import { existsSync } from 'node:fs';
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

export function openRunLog(runDir: string, header: HeaderFields): RunLogWriter {
  return RunLogWriter.create(runLogPath(runDir), header);
}
