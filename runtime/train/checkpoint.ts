// Training checkpoints (runtime/train; the loop's state on disk, read back by `--resume`): one
// safetensors file per checkpoint holding every tensor group of the run (online detector,
// momentum detector, optimizer state, frozen backbone) under its group prefix, plus a JSON entry
// `alignc.train` in `__metadata__` with everything else a resume needs (stage, step, epoch, data
// position, seed, schedules). Written atomically: temp file, fsync, rename, fsync of the directory,
// so a crash or SIGKILL at any instant leaves either the old or the new file, never a torn one.
// docs/training.md describes the format for users.

import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { TensorData } from '../cpu/tensor-data.js';
import {
  parseSafetensors,
  parseSafetensorsHeader,
  serializeSafetensors,
  type TensorToSave,
} from '../io/safetensors.js';
import type { Schedule, Warmup } from '../optim/schedules.js';
import { CheckpointError, ResumeError } from './errors.js';

export const CHECKPOINT_FORMAT = 'alignc-checkpoint/1';
/** The `__metadata__` key holding the JSON of CheckpointMeta. */
export const CHECKPOINT_META_KEY = 'alignc.train';
/** Checkpoints live in this folder of the run directory. */
export const CHECKPOINT_DIR = 'checkpoints';

/** The learning-rate schedule, as the loop evaluates it each step (runtime/optim/schedules.ts). */
export interface LrScheduleSpec {
  readonly base: number;
  readonly schedule: Schedule;
  readonly warmup?: Warmup;
}

export interface CheckpointMeta {
  readonly format: typeof CHECKPOINT_FORMAT;
  /** Increases by one with every checkpoint a run writes (across stages): the newest wins. */
  readonly sequence: number;
  readonly stage: string;
  /** Optimizer steps done in this stage; the next step is number `step + 1`. */
  readonly step: number;
  readonly totalSteps: number;
  /** The data position of the next step: epoch (from 0) and batch within that epoch (from 0). */
  readonly epoch: number;
  readonly batchIndex: number;
  /** The stage finished (this is its end-of-stage checkpoint). */
  readonly complete: boolean;
  /**
   * Random streams: every draw of step k comes from Philox stream (seed, stage, 'step', k) and the
   * data order from (seed, 'order', epoch), so the seed and the positions above are their whole
   * state: nothing else needs saving.
   */
  readonly rng: { readonly generator: 'philox4x32-10'; readonly seed: number };
  readonly lr: LrScheduleSpec;
  /** EMA momentum schedule (cosine from `base` to 1 over `totalSteps`), when there is an EMA. */
  readonly momentum: { readonly base: number } | null;
  /** Values used at the last step done, for the record. */
  readonly lastLr: number | null;
  readonly lastMomentum: number | null;
  /** The optimizer and any setting a resume must match (compared as JSON). */
  readonly setup: Readonly<Record<string, unknown>>;
  /** Group prefix → tensor names in the group's order (the file stores `prefix + name`). */
  readonly groups: Readonly<Record<string, readonly string[]>>;
  readonly wallSeconds: number;
}

export type TensorGroups = ReadonlyMap<string, ReadonlyMap<string, TensorData>>;

export interface LoadedCheckpoint {
  readonly path: string;
  readonly meta: CheckpointMeta;
  readonly groups: TensorGroups;
}

/** The file name of a checkpoint: `<stage>-<step, 8 digits>.safetensors`. */
export function checkpointFileName(stage: string, step: number): string {
  return `${stage}-${String(step).padStart(8, '0')}.safetensors`;
}

function toSaved(name: string, t: TensorData): TensorToSave {
  switch (t.dtype) {
    case 'f32':
      return {
        tensor: {
          kind: 'float',
          shape: t.shape,
          data: t.data instanceof Float32Array ? t.data : Float32Array.from(t.data),
        },
      };
    case 'i32':
      return {
        tensor: {
          kind: 'int',
          shape: t.shape,
          data: t.data instanceof Int32Array ? t.data : Int32Array.from(t.data),
        },
      };
    case 'u32':
    case 'bool':
      throw new CheckpointError(`tensor ${name}: ${t.dtype} tensors are not checkpointed`);
    default:
      return t.dtype satisfies never;
  }
}

/** Writes `path` so that it is either absent/old or complete and durable: temp, fsync, rename. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    // The rename itself is durable only once the directory entry is.
    const dirFd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch (error) {
    try {
      unlinkSync(tmp);
    } catch {
      // the temp file may not exist
    }
    throw new CheckpointError(
      `cannot write checkpoint ${path}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error, hint: 'check free disk space and that the run directory is writable' },
    );
  }
}

/** Saves a checkpoint atomically into `runDir/checkpoints/`; returns its path. */
export function saveCheckpoint(runDir: string, meta: CheckpointMeta, groups: TensorGroups): string {
  const tensors = new Map<string, TensorToSave>();
  for (const [prefix, group] of groups) {
    for (const [name, t] of group) tensors.set(prefix + name, toSaved(prefix + name, t));
  }
  const bytes = serializeSafetensors(tensors, { [CHECKPOINT_META_KEY]: JSON.stringify(meta) });
  const path = join(runDir, CHECKPOINT_DIR, checkpointFileName(meta.stage, meta.step));
  writeFileAtomic(path, bytes);
  return path;
}

function parseMeta(text: string | undefined, file: string): CheckpointMeta {
  if (text === undefined)
    throw new CheckpointError(`${file} has no '${CHECKPOINT_META_KEY}' metadata`, {
      hint: 'it is not an alignc training checkpoint (weights only?); start a new run from it instead',
    });
  const meta = JSON.parse(text) as CheckpointMeta;
  if (meta.format !== CHECKPOINT_FORMAT)
    throw new CheckpointError(
      `${file}: checkpoint format '${String(meta.format)}' is not ${CHECKPOINT_FORMAT}`,
    );
  return meta;
}

/** Reads only the metadata of a checkpoint (the header, not the tensor data). */
export function readCheckpointMeta(path: string): CheckpointMeta {
  const bytes = readFileSync(path);
  return parseMeta(parseSafetensorsHeader(bytes, path).metadata[CHECKPOINT_META_KEY], path);
}

/** Loads a checkpoint: metadata and every tensor group, f32 as Float32Array, i32 as Int32Array. */
export function loadCheckpoint(path: string): LoadedCheckpoint {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new CheckpointError(`cannot read checkpoint ${path}`, { cause: error });
  }
  const contents = parseSafetensors(bytes, path);
  const meta = parseMeta(contents.metadata[CHECKPOINT_META_KEY], path);
  const groups = new Map<string, Map<string, TensorData>>();
  for (const [prefix, names] of Object.entries(meta.groups)) {
    const group = new Map<string, TensorData>();
    for (const name of names) {
      const loaded = contents.tensors.get(prefix + name);
      if (loaded === undefined)
        throw new CheckpointError(`${path}: tensor ${prefix + name} listed in metadata is missing`);
      const t = loaded.tensor;
      group.set(name, { shape: t.shape, dtype: t.kind === 'float' ? 'f32' : 'i32', data: t.data });
    }
    groups.set(prefix, group);
  }
  return { path, meta, groups };
}

/** Every complete checkpoint file in `runDir/checkpoints` with its metadata, oldest first. */
export function listCheckpoints(runDir: string): { path: string; meta: CheckpointMeta }[] {
  const dir = join(runDir, CHECKPOINT_DIR);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  // Temp files of an interrupted write end in `.tmp-PID` and are never read.
  return names
    .filter((n) => n.endsWith('.safetensors'))
    .map((n) => ({ path: join(dir, n), meta: readCheckpointMeta(join(dir, n)) }))
    .sort((a, b) => a.meta.sequence - b.meta.sequence);
}

/**
 * The checkpoint to continue from, given `--resume PATH`: a checkpoint file, a run directory, or
 * its `checkpoints/` folder (then the newest checkpoint by sequence number).
 */
export function findResumeCheckpoint(path: string): string {
  let isFile = false;
  try {
    isFile = statSync(path).isFile();
  } catch (error) {
    throw new ResumeError(`cannot resume from ${path}: it does not exist`, { cause: error });
  }
  if (isFile) return path;
  const runDir = basename(path) === CHECKPOINT_DIR ? dirname(path) : path;
  const all = listCheckpoints(runDir);
  const newest = all[all.length - 1];
  if (newest === undefined)
    throw new ResumeError(
      `cannot resume from ${path}: no checkpoint in ${join(runDir, CHECKPOINT_DIR)}`,
      {
        hint: 'checkpoints are written every N steps and at the end of each stage; start the run afresh',
      },
    );
  return newest.path;
}

/** Deletes all but the newest `keep` checkpoints of `stage` (end-of-stage ones are always kept). */
export function pruneCheckpoints(runDir: string, stage: string, keep: number): void {
  const mine = listCheckpoints(runDir).filter((c) => c.meta.stage === stage && !c.meta.complete);
  for (const c of mine.slice(0, Math.max(0, mine.length - keep))) unlinkSync(c.path);
}
