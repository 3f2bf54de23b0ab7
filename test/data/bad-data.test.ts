// Bad data is skipped with one printed, counted warning per kind: never a crash, never a wrong box.
// Every bad file is made here, in a temp folder.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadCocoDataset } from '../../runtime/data/coco.js';
import { DatasetError } from '../../runtime/data/dataset.js';
import { loadImageFolder } from '../../runtime/data/folder.js';
import { encodePng } from '../../runtime/data/image.js';
import { DataLoader } from '../../runtime/data/loader/loader.js';
import { alignDetViewSpec } from '../../runtime/data/views/pipeline.js';
import { loadVocDataset } from '../../runtime/data/voc.js';
import { DataWarnings, readInOrder } from '../../runtime/data/warnings.js';
import { defaultBccdRoot } from '../../runtime/data/bccd.js';
import { patterned, syntheticDataset, tempDir } from './helpers.js';

function recorder(): { warnings: DataWarnings; lines: string[] } {
  const lines: string[] = [];
  return { warnings: new DataWarnings((line) => lines.push(line)), lines };
}

function voc(
  objects: string,
  size = '<size><width>40</width><height>30</height><depth>3</depth></size>',
): string {
  return `<?xml version="1.0"?>\n<annotation>\n  <filename>x.png</filename>\n  ${size}\n${objects}</annotation>\n`;
}
const object = (name: string, box: readonly (number | string)[]) =>
  `  <object><name>${name}</name><difficult>0</difficult><bndbox><xmin>${box[0]}</xmin><ymin>${box[1]}</ymin><xmax>${box[2]}</xmax><ymax>${box[3]}</ymax></bndbox></object>\n`;

/** JPEG bytes cut in half: the header reads, the pixels do not. */
function truncatedJpeg(): Uint8Array {
  const bytes = readFileSync(join(defaultBccdRoot(), 'images', 'BloodImage_00000.jpg'));
  return bytes.subarray(0, bytes.length >> 1);
}

describe('VOC', () => {
  test('each kind of bad file or box is skipped and counted, one printed line per kind', async () => {
    const root = tempDir('voc-bad');
    for (const d of ['annotations', 'images', 'splits']) mkdirSync(join(root, d));
    const png = await encodePng(patterned(40, 30, 1));
    const files: Record<string, string | undefined> = {
      good: voc(object('cat', [1, 1, 10, 10]) + object('dog', [11, 11, 40, 30])),
      zero: voc(
        object('cat', [5, 5, 5, 9]) + object('cat', [5, 5, 9, 5]) + object('cat', [2, 2, 8, 8]),
      ),
      outside: voc(object('cat', [45, 1, 50, 10]) + object('cat', [30, 20, 60, 40])),
      unknown: voc(object('bird', [1, 1, 10, 10]) + object('cat', [1, 1, 10, 10])),
      unclosed: '<annotation><size><width>40</width></size><object>',
      mismatched: '<annotation><size></annotation>',
      notnumber: voc(object('cat', [1, 'one', 10, 10])),
      nobox: voc('  <object><name>cat</name></object>\n'),
      noimage: voc(object('cat', [1, 1, 10, 10])),
      corrupt: voc(object('cat', [1, 1, 10, 10])),
      missingxml: undefined,
    };
    for (const [stem, text] of Object.entries(files)) {
      if (text !== undefined) writeFileSync(join(root, 'annotations', `${stem}.xml`), text);
      if (stem === 'corrupt')
        writeFileSync(join(root, 'images', `${stem}.png`), Buffer.from('not a png at all'));
      else if (stem !== 'noimage') writeFileSync(join(root, 'images', `${stem}.png`), png);
    }
    writeFileSync(join(root, 'splits', 'all.txt'), Object.keys(files).join('\n') + '\n');

    const { warnings, lines } = recorder();
    const dataset = await loadVocDataset({
      root,
      split: 'all',
      categories: ['cat', 'dog'],
      warnings,
    });
    expect(dataset.samples.map((s) => s.key)).toEqual(['good', 'zero', 'outside', 'unknown']);
    const counts = Object.fromEntries(warnings.list().map((w) => [w.kind, w.count]));
    expect(counts).toEqual({
      'corrupt-image': 1,
      'missing-image': 1,
      'missing-annotation': 1,
      'malformed-annotation': 4,
      'zero-area-box': 2,
      'box-outside-image': 1,
      'box-clipped': 1,
      'unknown-category': 1,
    });
    expect(lines.length).toBe(8);
    expect(lines.find((l) => l.startsWith('warning[malformed-annotation]'))).toMatch(
      /unclosed\.xml:1:\d+/,
    );
    const boxes = (key: string) => Array.from(dataset.samples.find((s) => s.key === key)!.boxes);
    expect(boxes('good')).toEqual([0, 0, 10, 10, 10, 10, 40, 30]);
    expect(boxes('zero')).toEqual([1, 1, 8, 8]);
    expect(boxes('outside')).toEqual([29, 19, 40, 30]); // clipped, with a warning
    expect(Array.from(dataset.samples.find((s) => s.key === 'unknown')!.labels)).toEqual([1]);
  });

  test('a split that does not exist is a DatasetError naming the file', async () => {
    const root = tempDir('voc-nosplit');
    mkdirSync(join(root, 'annotations'));
    await expect(loadVocDataset({ root, split: 'nope' })).rejects.toThrow(/nope\.txt/);
    await expect(loadVocDataset({ root: tempDir('empty') })).rejects.toBeInstanceOf(DatasetError);
  });
});

describe('concurrent reads', () => {
  test('the first warning of a kind is the first bad item in order, however the reads finish', async () => {
    const { warnings, lines } = recorder();
    // Item 0 finishes last and item 2 first: the printed line must still name item 0.
    const delays = [30, 10, 0, 20];
    const read = await readInOrder(delays, warnings, async (delay, recorder) => {
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (delay !== 20) recorder.add('corrupt-image', `item-${delay}`, 'bad');
      return delay;
    });
    expect(read).toEqual(delays);
    expect(lines).toEqual([
      'warning[corrupt-image]: item-30: bad; skipped the image (further ones are counted)',
    ]);
    expect(warnings.count('corrupt-image')).toBe(3);
  });
});

describe('COCO', () => {
  test('malformed entries skip their image; broken JSON is a DatasetError', async () => {
    const dir = tempDir('coco-bad');
    writeFileSync(join(dir, 'a.png'), await encodePng(patterned(40, 30, 2)));
    writeFileSync(join(dir, 'b.png'), await encodePng(patterned(40, 30, 3)));
    writeFileSync(join(dir, 'c.png'), truncatedJpeg().subarray(0, 64));
    const json = {
      images: [
        { id: 1, file_name: 'a.png', width: 40, height: 30 },
        { id: 2, file_name: 'b.png', width: 40, height: 30 },
        { id: 3, file_name: 'c.png', width: 40, height: 30 },
        { file_name: 'noid.png' },
      ],
      annotations: [
        { id: 1, image_id: 1, category_id: 1, bbox: [1.5, 2, 10, 5] },
        { id: 2, image_id: 2, category_id: 1, bbox: [1, 2, 'x', 5] },
        { id: 3, image_id: 1, category_id: 9, bbox: [1, 2, 3, 4] },
        { id: 4, image_id: 1, category_id: 1, bbox: [1, 2, 0, 4] },
        { id: 5, image_id: 77, category_id: 1, bbox: [1, 2, 3, 4] },
        { id: 6, image_id: 3, category_id: 1, bbox: [1, 2, 3, 4] },
      ],
      categories: [{ id: 1, name: 'thing' }],
    };
    const file = join(dir, 'gt.json');
    writeFileSync(file, JSON.stringify(json));
    const { warnings } = recorder();
    const dataset = await loadCocoDataset({ annotationFile: file, imagesDir: dir, warnings });
    expect(dataset.samples.map((s) => s.imageId)).toEqual([1]);
    expect(Array.from(dataset.samples[0].boxes)).toEqual([1.5, 2, 11.5, 7]);
    const counts = Object.fromEntries(warnings.list().map((w) => [w.kind, w.count]));
    expect(counts).toEqual({
      'corrupt-image': 1,
      'malformed-annotation': 3,
      'zero-area-box': 1,
      'unknown-category': 1,
    });

    writeFileSync(file, JSON.stringify(json).slice(0, 50));
    await expect(
      loadCocoDataset({ annotationFile: file, imagesDir: dir, warnings }),
    ).rejects.toBeInstanceOf(DatasetError);
  });
});

describe('images that fail only when decoded', () => {
  test('image folder: unreadable files are skipped at listing time', async () => {
    const dir = tempDir('folder');
    writeFileSync(join(dir, 'a.png'), await encodePng(patterned(8, 8, 0)));
    writeFileSync(join(dir, 'b.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0x00, 1, 2, 3]));
    writeFileSync(join(dir, 'notes.txt'), 'ignored');
    const { warnings } = recorder();
    const dataset = await loadImageFolder({ dir, warnings });
    expect(dataset.samples.map((s) => s.key)).toEqual(['a']);
    expect(dataset.labelled).toBe(false);
    expect(warnings.count('corrupt-image')).toBe(1);
  });

  test('loader: a truncated JPEG is skipped once, batches are filled from the next images', async () => {
    const dir = tempDir('loader-bad');
    const base = await syntheticDataset(dir, [
      { width: 40, height: 30, boxes: [0, 0, 10, 10] },
      { width: 40, height: 30, boxes: [0, 0, 10, 10] },
      { width: 40, height: 30, boxes: [0, 0, 10, 10] },
    ]);
    const badPath = join(dir, 'truncated.jpg');
    writeFileSync(badPath, truncatedJpeg());
    const dataset = {
      ...base,
      samples: [
        ...base.samples.slice(0, 1),
        { ...base.samples[1], key: 'truncated', imagePath: badPath, width: 640, height: 480 },
        ...base.samples.slice(1),
      ],
    };
    const { warnings, lines } = recorder();
    const loader = new DataLoader({
      dataset,
      views: [alignDetViewSpec([[40, 30]], 8)],
      batchSize: 2,
      maxBoxes: 2,
      seed: 1,
      shuffle: false,
      mode: 'off',
      warnings,
    });
    for (const epoch of [0, 1]) {
      const sizes: number[][] = [];
      for await (const batch of loader.epoch(epoch)) sizes.push(Array.from(batch.sampleIndices));
      expect(sizes).toEqual([[0, 2], [3]]);
    }
    expect(warnings.count('corrupt-image')).toBe(1);
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain('truncated.jpg');
  });
});
