// File-system helpers shared by the dataset readers (data side of the flow: files → Dataset):
// checking that a path exists, listing a folder's files in a fixed order, and reading split files.

import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { DatasetError } from './dataset.js';

/** The path if something exists there, else undefined. */
export async function existingPath(path: string): Promise<string | undefined> {
  try {
    await stat(path);
    return path;
  } catch {
    return undefined;
  }
}

/**
 * The names of the regular files in `dir` whose lower-cased name ends in one of `extensions`, sorted by
 * code unit (not locale), so every machine sees the same order.
 */
export async function listFiles(dir: string, extensions: readonly string[]): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new DatasetError(`cannot list the folder ${dir}`, {
      hint: 'check the dataset path',
      cause: error,
    });
  }
  return entries
    .filter((e) => e.isFile() && extensions.some((x) => e.name.toLowerCase().endsWith(x)))
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Reads a split file: one image name per line (the first whitespace-separated field, so VOC's
 * per-class files `000005 -1` work too); blank lines and `#` comments are ignored, duplicates are an
 * error because they would silently weight an image twice.
 */
export async function readSplitFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new DatasetError(`cannot read the split file ${path}`, {
      hint: `the split "${basename(path, '.txt')}" does not exist; list the splits folder for the names`,
      cause: error,
    });
  }
  const names: string[] = [];
  const seen = new Map<string, number>();
  text.split(/\r?\n/).forEach((line, i) => {
    const name = line.replace(/#.*/, '').trim().split(/\s+/)[0];
    if (name === undefined || name === '') return;
    const before = seen.get(name);
    if (before !== undefined) {
      throw new DatasetError(
        `${path}:${i + 1}:1: ${name} is listed twice (first on line ${before})`,
        {
          hint: 'remove the duplicate line',
        },
      );
    }
    seen.set(name, i + 1);
    names.push(name);
  });
  return names;
}

/** Joins a folder and a file name given in an annotation, refusing names that climb out of it. */
export function insideFolder(dir: string, name: string): string | undefined {
  if (name.includes('..') || name.startsWith('/')) return undefined;
  return join(dir, name);
}
