// The field-by-field check of one run-log record (runtime/io, between JSON text and the typed
// records of run-log.ts). The reader uses it on every line it parses and the writer on every
// record before it writes, so a bug in a training run cannot produce a log the report cannot read.
// A problem is returned as a message naming the field (`losses.cls is "x", not a number`).

import {
  COCO_STAT_NAMES,
  RUN_END_STATUSES,
  RUN_LOG_FORMAT,
  RUN_RECORD_KINDS,
  type CheckpointRecord,
  type EndRecord,
  type EvalRecord,
  type MachineDescription,
  type RunHeader,
  type RunRecord,
  type StepRecord,
} from './run-log.js';
import type { CategoryReport } from '../eval/coco-eval.js';

/** Thrown inside the check with the field path and what is wrong; the callers add the location. */
export class RecordShapeProblem extends Error {}

type Json = Record<string, unknown>;

function fail(path: string, message: string): never {
  throw new RecordShapeProblem(path === '' ? message : `${path} ${message}`);
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value);
  return `${text.length > 40 ? text.slice(0, 37) + '...' : text}`;
}

function object(value: unknown, path: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail(path, `is ${describe(value)}, not an object`);
  return value as Json;
}

function string(o: Json, key: string, path: string): string {
  const v = o[key];
  if (typeof v !== 'string') fail(`${path}${key}`, `is ${describe(v)}, not a string`);
  return v;
}

function nullableString(o: Json, key: string, path: string): string | null {
  return o[key] === null ? null : string(o, key, path);
}

/** A number, or one of the strings standing for a non-finite number (see run-log.ts). */
function measured(value: unknown, path: string): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  fail(path, `is ${describe(value)}, not a number`);
}

/** A finite number (times, counts, seeds: never legitimately NaN). */
function finite(o: Json, key: string, path: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v))
    fail(`${path}${key}`, `is ${describe(v)}, not a finite number`);
  return v;
}

function count(o: Json, key: string, path: string): number {
  const v = finite(o, key, path);
  if (!Number.isInteger(v) || v < 0) fail(`${path}${key}`, `is ${v}, not a whole number >= 0`);
  return v;
}

function checkMachine(value: unknown): MachineDescription {
  const o = object(value, 'machine');
  const p = 'machine.';
  return {
    platform: string(o, 'platform', p),
    cpu: string(o, 'cpu', p),
    cpuCount: count(o, 'cpuCount', p),
    memoryBytes: count(o, 'memoryBytes', p),
    node: string(o, 'node', p),
    adapter: nullableString(o, 'adapter', p),
  };
}

function checkHeader(o: Json): RunHeader {
  const format = string(o, 'format', '');
  if (format !== RUN_LOG_FORMAT)
    fail('format', `is "${format}"; this alignc reads "${RUN_LOG_FORMAT}"`);
  const command = o.command;
  if (!Array.isArray(command) || !command.every((c) => typeof c === 'string'))
    fail('command', `is ${describe(command)}, not a list of strings`);
  const settings = object(o.settings, 'settings');
  for (const [key, v] of Object.entries(settings))
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
      fail(`settings.${key}`, `is ${describe(v)}, not a string, number or boolean`);
  const startedAt = string(o, 'startedAt', '');
  if (Number.isNaN(Date.parse(startedAt)))
    fail('startedAt', `is "${startedAt}", not an ISO 8601 time`);
  return {
    kind: 'header',
    format: RUN_LOG_FORMAT,
    runId: string(o, 'runId', ''),
    name: string(o, 'name', ''),
    pipeline: string(o, 'pipeline', ''),
    pipelineSha256: string(o, 'pipelineSha256', ''),
    seed: count(o, 'seed', ''),
    command: command as string[],
    machine: checkMachine(o.machine),
    startedAt,
    settings: settings as Record<string, string | number | boolean>,
  };
}

function checkStep(o: Json): StepRecord {
  const lossesJson = object(o.losses, 'losses');
  const losses: Record<string, number> = {};
  for (const [name, v] of Object.entries(lossesJson)) losses[name] = measured(v, `losses.${name}`);
  if (Object.keys(losses).length === 0) fail('losses', 'is empty; a step logs at least one term');
  const share = object(o.timeShare, 'timeShare');
  const part = (key: string): number => {
    const v = measured(share[key], `timeShare.${key}`);
    if (!(v >= 0 && v <= 1)) fail(`timeShare.${key}`, `is ${v}, not a share between 0 and 1`);
    return v;
  };
  const step = count(o, 'step', '');
  if (step < 1) fail('step', 'is 0; steps count from 1 (an eval before training uses step 0)');
  return {
    kind: 'step',
    stage: string(o, 'stage', ''),
    step,
    epoch: count(o, 'epoch', ''),
    wallSeconds: finite(o, 'wallSeconds', ''),
    lr: measured(o.lr, 'lr'),
    losses,
    ...(o.gradNorm === undefined ? {} : { gradNorm: measured(o.gradNorm, 'gradNorm') }),
    imagesPerSecond: measured(o.imagesPerSecond, 'imagesPerSecond'),
    timeShare: {
      data: part('data'),
      forward: part('forward'),
      backward: part('backward'),
      optimizer: part('optimizer'),
    },
  };
}

function checkCategory(value: unknown, path: string): CategoryReport {
  const o = object(value, path);
  const p = `${path}.`;
  return {
    categoryId: count(o, 'categoryId', p),
    name: string(o, 'name', p),
    ap: measured(o.ap, `${p}ap`),
    ap50: measured(o.ap50, `${p}ap50`),
    ap75: measured(o.ap75, `${p}ap75`),
    vocAp50: measured(o.vocAp50, `${p}vocAp50`),
  };
}

function checkEval(o: Json): EvalRecord {
  const statsJson = object(o.stats, 'stats');
  const stats = Object.fromEntries(
    COCO_STAT_NAMES.map((name) => [name, measured(statsJson[name], `stats.${name}`)]),
  ) as EvalRecord['stats'];
  const perCategory = o.perCategory;
  if (!Array.isArray(perCategory)) fail('perCategory', `is ${describe(perCategory)}, not a list`);
  const counts = object(o.counts, 'counts');
  return {
    kind: 'eval',
    stage: string(o, 'stage', ''),
    step: count(o, 'step', ''),
    wallSeconds: finite(o, 'wallSeconds', ''),
    split: string(o, 'split', ''),
    stats,
    perCategory: perCategory.map((c, i) => checkCategory(c, `perCategory[${i}]`)),
    vocAp50: measured(o.vocAp50, 'vocAp50'),
    counts: {
      images: count(counts, 'images', 'counts.'),
      categories: count(counts, 'categories', 'counts.'),
      groundTruth: count(counts, 'groundTruth', 'counts.'),
      crowdGroundTruth: count(counts, 'crowdGroundTruth', 'counts.'),
      detections: count(counts, 'detections', 'counts.'),
    },
  };
}

function checkCheckpoint(o: Json): CheckpointRecord {
  return {
    kind: 'checkpoint',
    stage: string(o, 'stage', ''),
    step: count(o, 'step', ''),
    wallSeconds: finite(o, 'wallSeconds', ''),
    path: string(o, 'path', ''),
  };
}

function checkEnd(o: Json): EndRecord {
  const status = string(o, 'status', '');
  if (!(RUN_END_STATUSES as readonly string[]).includes(status))
    fail('status', `is "${status}", not one of ${RUN_END_STATUSES.join(', ')}`);
  return {
    kind: 'end',
    status: status as EndRecord['status'],
    wallSeconds: finite(o, 'wallSeconds', ''),
    message: nullableString(o, 'message', ''),
  };
}

/** Checks parsed JSON as one record; throws RecordShapeProblem naming the field. */
export function checkRunRecord(value: unknown): RunRecord {
  const o = object(value, 'the record');
  const kind = o.kind;
  if (typeof kind !== 'string' || !(RUN_RECORD_KINDS as readonly string[]).includes(kind))
    fail('kind', `is ${describe(kind)}, not one of ${RUN_RECORD_KINDS.join(', ')}`);
  const k = kind as RunRecord['kind'];
  switch (k) {
    case 'header':
      return checkHeader(o);
    case 'step':
      return checkStep(o);
    case 'eval':
      return checkEval(o);
    case 'checkpoint':
      return checkCheckpoint(o);
    case 'end':
      return checkEnd(o);
    default:
      return k satisfies never;
  }
}
