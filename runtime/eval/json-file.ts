// Reads the ground-truth and results files of an evaluation (runtime/eval, the step before
// validate.ts): a missing file is a FileError, text that is not JSON an EvalJsonError pointing at
// file:line:col when the parser says where.

import { readFileSync } from 'node:fs';
import { FileError, type SourcePosition } from '../errors.js';
import { EvalJsonError } from './errors.js';

function positionAt(text: string, offset: number): SourcePosition {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++)
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  return { line, column: offset - lineStart + 1, offset };
}

/** Parses the JSON file at `path`; `what` ("ground truth", "results") goes into messages. */
export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error);
    throw new FileError(`cannot read the ${what} file '${path}': ${reason}`, { cause: error });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const at = /at position (\d+)/.exec(message);
    const position = at ? positionAt(text, Number(at[1])) : undefined;
    const nonJsonNumber = /(^|[^"\w])(-?Infinity|NaN)([^"\w]|$)/.exec(text);
    const detail = message
      .replace(/, ".*" is not valid JSON$/s, '')
      .replace(/ in JSON at position \d+.*$/s, '');
    throw new EvalJsonError(
      `${position ? '' : `${path}: `}the ${what} file is not valid JSON: ${detail}`,
      {
        span: position ? { file: path, start: position, end: position } : undefined,
        hint: nonJsonNumber
          ? `it contains ${nonJsonNumber[2]}, which JSON has no literal for (Python's json.dump writes it for non-finite floats); drop or fix those entries`
          : undefined,
        cause: error,
      },
    );
  }
}
