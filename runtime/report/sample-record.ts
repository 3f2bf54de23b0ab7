// A drawn sample: one image with the boxes a run produced for it, written by a training run to
// `runs/NAME/images/*.json` and drawn by `alignc report` (runtime/report: run dir → HTML). The
// format is the contract with the runner, like run-log.ts; docs/reports.md shows an example.
//
// Boxes are [x1, y1, x2, y2] in 0-based pixel-edge coordinates of the stored image (as
// runtime/data's Dataset: the box covers columns x1 ≤ x < x2). Labels are category names.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AlignError, FileError } from '../errors.js';

export const SAMPLE_FORMAT = 'alignc-sample/1';

export class SampleRecordError extends AlignError {
  readonly code = 'E_SAMPLE_RECORD';
}

export type Box = readonly [number, number, number, number];

export interface LabelledBox {
  readonly box: Box;
  readonly label: string;
}

export interface ScoredBox extends LabelledBox {
  readonly score: number;
}

/** A proposal (or anchor) `proposal` assigned to ground-truth box `groundTruth` with this IoU. */
export interface Match {
  readonly proposal: number;
  readonly groundTruth: number;
  readonly iou: number;
}

export interface SampleRecord {
  readonly format: typeof SAMPLE_FORMAT;
  readonly stage: string;
  readonly step: number;
  /** The image file, relative to the run directory or absolute. */
  readonly image: string;
  readonly groundTruth: readonly LabelledBox[];
  /** Unlabelled boxes: selective-search proposals (pre-training) or sampled anchors. */
  readonly proposals: readonly { readonly box: Box }[];
  readonly matches: readonly Match[];
  readonly predictions: readonly ScoredBox[];
}

class Problem extends Error {}

function list(o: Record<string, unknown>, key: string): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) throw new Problem(`'${key}' is not a list`);
  return v;
}

function obj(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new Problem(`${where} is not an object`);
  return v as Record<string, unknown>;
}

function box(v: unknown, where: string): Box {
  if (
    !Array.isArray(v) ||
    v.length !== 4 ||
    !v.every((c) => typeof c === 'number' && Number.isFinite(c))
  )
    throw new Problem(`${where}.box is not [x1, y1, x2, y2] of finite numbers`);
  return [v[0], v[1], v[2], v[3]] as Box;
}

function text(o: Record<string, unknown>, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new Problem(`${where}.${key} is not a string`);
  return v;
}

function num(o: Record<string, unknown>, key: string, where: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new Problem(`${where}.${key} is not a finite number`);
  return v;
}

function checkSample(value: unknown): SampleRecord {
  const o = obj(value, 'the record');
  if (o.format !== SAMPLE_FORMAT)
    throw new Problem(`format is ${JSON.stringify(o.format)}, not "${SAMPLE_FORMAT}"`);
  const groundTruth = list(o, 'groundTruth').map((g, i) => {
    const e = obj(g, `groundTruth[${i}]`);
    return { box: box(e.box, `groundTruth[${i}]`), label: text(e, 'label', `groundTruth[${i}]`) };
  });
  const proposals = list(o, 'proposals').map((p, i) => ({
    box: box(obj(p, `proposals[${i}]`).box, `proposals[${i}]`),
  }));
  const matches = list(o, 'matches').map((m, i) => {
    const e = obj(m, `matches[${i}]`);
    const match = {
      proposal: num(e, 'proposal', `matches[${i}]`),
      groundTruth: num(e, 'groundTruth', `matches[${i}]`),
      iou: num(e, 'iou', `matches[${i}]`),
    };
    if (
      !Number.isInteger(match.proposal) ||
      match.proposal < 0 ||
      match.proposal >= proposals.length
    )
      throw new Problem(`matches[${i}].proposal ${match.proposal} is not a proposal index`);
    if (
      !Number.isInteger(match.groundTruth) ||
      match.groundTruth < 0 ||
      match.groundTruth >= groundTruth.length
    )
      throw new Problem(
        `matches[${i}].groundTruth ${match.groundTruth} is not a ground-truth index`,
      );
    return match;
  });
  const predictions = list(o, 'predictions').map((p, i) => {
    const e = obj(p, `predictions[${i}]`);
    return {
      box: box(e.box, `predictions[${i}]`),
      label: text(e, 'label', `predictions[${i}]`),
      score: num(e, 'score', `predictions[${i}]`),
    };
  });
  return {
    format: SAMPLE_FORMAT,
    stage: text(o, 'stage', 'the record'),
    step: num(o, 'step', 'the record'),
    image: text(o, 'image', 'the record'),
    groundTruth,
    proposals,
    matches,
    predictions,
  };
}

/** Parses one sample record's JSON text; `path` names it in errors. */
export function parseSampleRecord(json: string, path: string): SampleRecord {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new SampleRecordError(`${path}: not valid JSON: ${String(error)}`);
  }
  try {
    return checkSample(value);
  } catch (error) {
    if (error instanceof Problem)
      throw new SampleRecordError(`${path}: bad sample record: ${error.message}`, {
        hint: 'see docs/reports.md for the images/*.json format',
      });
    throw error;
  }
}

export function readSampleRecord(path: string): SampleRecord {
  let json: string;
  try {
    json = readFileSync(path, 'utf8');
  } catch (error) {
    throw new FileError(`cannot read the sample record '${path}': ${String(error)}`, {
      cause: error,
    });
  }
  return parseSampleRecord(json, path);
}

/**
 * Writes `record` as `runDir/images/NAME.json` (for the training runner), after the reader's check,
 * so a record the report cannot read is refused here. Returns the path written.
 */
export function writeSampleRecord(runDir: string, name: string, record: SampleRecord): string {
  const json = JSON.stringify(record);
  try {
    checkSample(JSON.parse(json));
  } catch (error) {
    if (error instanceof Problem) throw new Error(`refusing a bad sample record: ${error.message}`);
    throw error;
  }
  const path = join(runDir, 'images', `${name}.json`);
  mkdirSync(join(runDir, 'images'), { recursive: true });
  writeFileSync(path, json + '\n');
  return path;
}
