// Reads a run log (runtime/io; `runs/NAME/log.jsonl` → typed records for `alignc report` and the
// reproduction script). A last line without its newline that does not parse is what a killed run
// leaves behind: it is dropped and reported, not an error. Any other bad line is a RunLogError at
// file:line:col, because a log damaged in the middle means something else went wrong.

import { readFileSync } from 'node:fs';
import { AlignError, FileError } from '../errors.js';
import { checkRunRecord, RecordShapeProblem } from './run-log-check.js';
import type {
  CheckpointRecord,
  EndRecord,
  EvalRecord,
  RunBodyRecord,
  RunHeader,
  RunRecord,
  StepRecord,
} from './run-log.js';

export class RunLogError extends AlignError {
  readonly code = 'E_RUN_LOG';
}

export interface TruncatedLine {
  /** 1-based line number of the dropped partial line. */
  readonly line: number;
  readonly text: string;
}

export interface RunLog {
  readonly path: string;
  readonly header: RunHeader;
  /** Every record after the header, in file order. */
  readonly records: readonly RunBodyRecord[];
  readonly steps: readonly StepRecord[];
  readonly evals: readonly EvalRecord[];
  readonly checkpoints: readonly CheckpointRecord[];
  /** Null while the run is going on, or when it was killed before it could write one. */
  readonly end: EndRecord | null;
  /** The partial last line a killed run left, if any. */
  readonly truncatedLastLine: TruncatedLine | null;
}

function locate(path: string, line: number, column: number, message: string, hint?: string) {
  const at = { line, column, offset: 0 };
  return new RunLogError(message, { span: { file: path, start: at, end: at }, hint });
}

/** Whether `prefix` could still become valid JSON (it parses, or it only ends too early). */
function viablePrefix(prefix: string): boolean {
  try {
    JSON.parse(prefix);
    return true;
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    if (message.includes('Unexpected end of JSON input')) return true;
    const at = /at position (\d+)/.exec(message);
    return at !== null && Number(at[1]) >= prefix.length;
  }
}

/**
 * The 1-based column of the first character that makes `line` invalid JSON. V8 names a position
 * for some mistakes only, so: the shortest prefix that can no longer be completed ends at it
 * (a prefix of a viable prefix is viable, so binary search finds it).
 */
function errorColumn(line: string): number {
  let lo = 0; // viable
  let hi = line.length; // not viable (the whole line failed)
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (viablePrefix(line.slice(0, mid))) lo = mid;
    else hi = mid;
  }
  return hi;
}

function jsonReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/, .* is not valid JSON$/s, '').replace(/ in JSON at position.*$/s, '');
}

/** Parses the text of a run log; `path` is used in messages. */
export function parseRunLog(text: string, path: string): RunLog {
  const lines = text.split('\n');
  // A file ending in '\n' splits into a last empty string: that is the complete case.
  const endsComplete = lines[lines.length - 1] === '';
  if (endsComplete) lines.pop();
  let header: RunHeader | undefined;
  const records: RunBodyRecord[] = [];
  const lastStep = new Map<string, number>();
  let end: EndRecord | null = null;
  let truncatedLastLine: TruncatedLine | null = null;

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const lineText = lines[i];
    if (lineText.trim() === '') {
      if (i === lines.length - 1 && !endsComplete) continue;
      throw locate(path, lineNo, 1, 'empty line in a run log', 'each line must be one record');
    }
    let json: unknown;
    try {
      json = JSON.parse(lineText);
    } catch (error) {
      if (i === lines.length - 1 && !endsComplete) {
        truncatedLastLine = { line: lineNo, text: lineText };
        break;
      }
      throw locate(
        path,
        lineNo,
        errorColumn(lineText),
        `line is not valid JSON: ${jsonReason(error)}`,
        'only the last line may be incomplete (a killed run); this one is followed by others',
      );
    }
    let record: RunRecord;
    try {
      record = checkRunRecord(json);
    } catch (error) {
      if (!(error instanceof RecordShapeProblem)) throw error;
      throw locate(path, lineNo, 1, `bad ${describeKind(json)} record: ${error.message}`);
    }
    if (header === undefined) {
      if (record.kind !== 'header')
        throw locate(path, lineNo, 1, `the first record is a '${record.kind}', not the header`);
      header = record;
      continue;
    }
    if (end !== null)
      throw locate(path, lineNo, 1, `a '${record.kind}' record after the run's end record`);
    switch (record.kind) {
      case 'header':
        throw locate(path, lineNo, 1, 'a second header record', 'one run directory holds one run');
      case 'step': {
        const previous = lastStep.get(record.stage) ?? 0;
        if (record.step <= previous)
          throw locate(
            path,
            lineNo,
            1,
            `stage '${record.stage}' step ${record.step} comes after step ${previous}`,
            'steps must increase within a stage',
          );
        lastStep.set(record.stage, record.step);
        break;
      }
      case 'end':
        end = record;
        break;
      case 'eval':
      case 'checkpoint':
        break;
      default:
        return record satisfies never;
    }
    records.push(record);
  }
  if (header === undefined)
    throw new RunLogError(`${path}: the run log has no header record`, {
      hint: 'the run stopped before writing its first line, or this is not a run log',
    });
  return {
    path,
    header,
    records,
    steps: records.filter((r): r is StepRecord => r.kind === 'step'),
    evals: records.filter((r): r is EvalRecord => r.kind === 'eval'),
    checkpoints: records.filter((r): r is CheckpointRecord => r.kind === 'checkpoint'),
    end,
    truncatedLastLine,
  };
}

function describeKind(json: unknown): string {
  const kind = typeof json === 'object' && json !== null ? (json as { kind?: unknown }).kind : '';
  return typeof kind === 'string' && kind !== '' ? `'${kind}'` : 'run log';
}

/** Reads and parses the run log at `path`. */
export function readRunLog(path: string): RunLog {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error);
    throw new FileError(`cannot read the run log '${path}': ${reason}`, { cause: error });
  }
  return parseRunLog(text, path);
}
