// Writes a run log (runtime/io; a training run's steps → `runs/NAME/log.jsonl`). Each record is
// checked with the reader's own check, then written as one line with a single write(2) on an
// unbuffered file descriptor, so a killed process loses at most the line being written and the
// reader drops that partial line. The header, checkpoint and end records are also fdatasync'ed,
// so they survive a machine crash too; step records are not (one sync per step costs too much).

import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fdatasyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { AlignError } from '../errors.js';
import { checkRunRecord } from './run-log-check.js';
import {
  encodeRunRecord,
  RUN_LOG_FORMAT,
  type CheckpointRecord,
  type EvalRecord,
  type MachineDescription,
  type RunEndStatus,
  type RunHeader,
  type RunRecord,
  type StepRecord,
} from './run-log.js';

export class RunLogExistsError extends AlignError {
  readonly code = 'E_RUN_LOG_EXISTS';
}

type Without<T> = Omit<T, 'kind'>;
export type HeaderFields = Omit<RunHeader, 'kind' | 'format'>;

/** A run id that needs no git: the UTC start time to the second and 6 random hex digits. */
export function newRunId(startedAt: Date, random: Uint8Array = randomBytes(3)): string {
  const stamp = startedAt
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${Buffer.from(random).toString('hex')}`;
}

/** The SHA-256 (hex) of a pipeline file's text, for the header. */
export function sha256Hex(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

/** This machine, for the header; `adapter` is the WebGPU adapter's description if one is used. */
export function describeMachine(adapter: string | null): MachineDescription {
  const cpuList = cpus();
  return {
    platform: `${process.platform}-${process.arch}`,
    cpu: cpuList[0]?.model.trim() ?? 'unknown',
    cpuCount: cpuList.length,
    memoryBytes: totalmem(),
    node: process.version,
    adapter,
  };
}

export class RunLogWriter {
  private fd: number | undefined;

  private constructor(
    readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  /**
   * Creates the log at `path` (and its directory) and writes the header. Never appends to or
   * overwrites an existing log: a run directory holds one run.
   */
  static create(path: string, header: HeaderFields): RunLogWriter {
    mkdirSync(dirname(path), { recursive: true });
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST')
        throw new RunLogExistsError(`the run log '${path}' already exists`, {
          hint: 'choose a new run name, or delete the old run directory',
          cause: error,
        });
      throw error;
    }
    const writer = new RunLogWriter(path, fd);
    writer.write({ kind: 'header', format: RUN_LOG_FORMAT, ...header }, true);
    return writer;
  }

  step(fields: Without<StepRecord>): void {
    this.write({ kind: 'step', ...fields }, false);
  }

  eval(fields: Without<EvalRecord>): void {
    this.write({ kind: 'eval', ...fields }, false);
  }

  checkpoint(fields: Without<CheckpointRecord>): void {
    this.write({ kind: 'checkpoint', ...fields }, true);
  }

  /** Writes the end record and closes the file. */
  end(status: RunEndStatus, wallSeconds: number, message: string | null = null): void {
    this.write({ kind: 'end', status, wallSeconds, message }, true);
    this.close();
  }

  /** Closes without an end record (the reader then reports the run as not finished). */
  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }

  private write(record: RunRecord, sync: boolean): void {
    if (this.fd === undefined)
      throw new Error(`run log ${this.path}: '${record.kind}' record written after close/end`);
    const line = encodeRunRecord(record);
    // The reader's check, on exactly what will be read back: a record it would reject is a bug in
    // the caller, found here rather than when the report is made.
    try {
      checkRunRecord(JSON.parse(line));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`run log ${this.path}: refusing a bad '${record.kind}' record: ${reason}`);
    }
    const bytes = Buffer.from(line + '\n', 'utf8');
    let written = 0;
    while (written < bytes.length) written += writeSync(this.fd, bytes, written);
    if (sync) fdatasyncSync(this.fd);
  }
}
