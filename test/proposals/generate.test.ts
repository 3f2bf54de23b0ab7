// Dataset-level proposal generation: the COCO cache file, its invalidation by parameters and image
// changes, corrupt images skipped with one counted warning, the progress bar, attachProposals.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dataset, Sample } from '../../runtime/data/dataset.js';
import { encodePng } from '../../runtime/data/image.js';
import { boxIou } from '../../runtime/data/proposals/box-ops.js';
import { fromCoco, toCoco } from '../../runtime/data/proposals/cache.js';
import { attachProposals, generateProposals } from '../../runtime/data/proposals/generate.js';
import type { ProposalRunOptions } from '../../runtime/data/proposals/generate.js';
import { DataWarnings } from '../../runtime/data/warnings.js';
import { BLUE_RECT, RED_RECT, paint, rectanglesImage } from './synthetic.js';

let dir: string;
let dataset: Dataset;

function sample(imageId: number, file: string, width: number, height: number): Sample {
  return {
    key: file.replace(/\.png$/, ''),
    imageId,
    imagePath: join(dir, file),
    width,
    height,
    boxes: new Float64Array(0),
    labels: new Int32Array(0),
    crowd: new Uint8Array(0),
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'alignc-proposals-'));
  writeFileSync(join(dir, 'a.png'), await encodePng(rectanglesImage()));
  const other = paint(64, 48, [90, 90, 90], [{ rect: [4, 6, 40, 44], colour: [250, 250, 0] }]);
  writeFileSync(join(dir, 'b.png'), await encodePng(other));
  writeFileSync(join(dir, 'broken.png'), 'this is not an image');
  const png = await encodePng(rectanglesImage());
  writeFileSync(join(dir, 'truncated.png'), png.subarray(0, Math.floor(png.length / 2)));
  dataset = {
    name: 'synthetic',
    labelled: false,
    categories: [],
    samples: [
      sample(1, 'a.png', 80, 60),
      sample(2, 'broken.png', 80, 60),
      sample(3, 'b.png', 64, 48),
      sample(4, 'truncated.png', 80, 60),
    ],
  };
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function options(extra: Partial<ProposalRunOptions> = {}): {
  opts: ProposalRunOptions;
  logs: string[];
  printed: string[];
  warnings: DataWarnings;
} {
  const logs: string[] = [];
  const printed: string[] = [];
  const warnings = new DataWarnings((line) => printed.push(line));
  return {
    opts: {
      params: { minSide: 16, minSize: 20, scale: 100, top: 5 },
      cacheFile: join(dir, 'proposals.json'),
      workers: 0,
      progress: false,
      warnings,
      log: (line) => logs.push(line),
      ...extra,
    },
    logs,
    printed,
    warnings,
  };
}

describe('generateProposals', () => {
  it('writes a COCO file, skipping corrupt images with one counted warning', async () => {
    const lines: string[] = [];
    const { opts, printed, warnings } = options({
      progress: { write: (t: string) => lines.push(t), isTTY: false },
    });
    const run = await generateProposals(dataset, opts);
    expect(run.source).toBe('in-thread');
    expect(run.file.images.map((i) => i.imageId)).toEqual([1, 3]);
    expect(warnings.count('corrupt-image')).toBe(2);
    expect(printed.length).toBe(1);
    expect(printed[0]).toMatch(/warning\[corrupt-image\].*broken\.png/);
    expect(lines.at(-1)).toMatch(/proposals \[#+\] 4\/4/);

    const coco = JSON.parse(readFileSync(opts.cacheFile as string, 'utf8')) as {
      images: { id: number; file_name: string; width: number; height: number }[];
      annotations: { image_id: number; bbox: number[]; category_id: number; area: number }[];
      categories: { id: number; name: string }[];
    };
    expect(coco.categories).toEqual([
      { id: 1, name: 'selective_search', supercategory: 'proposal' },
    ]);
    expect(coco.images[0]).toMatchObject({ id: 1, file_name: 'a.png', width: 80, height: 60 });
    const first = run.file.images[0];
    const annotations = coco.annotations.filter((a) => a.image_id === 1);
    expect(annotations.length).toBe(first.boxes.length);
    expect(first.boxes.length).toBeLessThanOrEqual(5);
    annotations.forEach((a, i) => {
      const [x1, y1, x2, y2] = first.boxes[i];
      expect(a.bbox).toEqual([x1, y1, x2 - x1, y2 - y1]);
      expect(a.area).toBe((x2 - x1) * (y2 - y1));
      expect(a.category_id).toBe(1);
    });
  });

  it('serves a matching cache, and warns again about the images it skipped', async () => {
    await generateProposals(dataset, options().opts);
    const { opts, logs, warnings } = options();
    const before = readFileSync(opts.cacheFile as string, 'utf8');
    const run = await generateProposals(dataset, opts);
    expect(run.source).toBe('cache');
    expect(logs.join('\n')).toMatch(/using cached/);
    expect(warnings.count('corrupt-image')).toBe(2);
    expect(readFileSync(opts.cacheFile as string, 'utf8')).toBe(before);
  });

  it('recomputes when a parameter changes, and the boxes follow the new parameter', async () => {
    await generateProposals(dataset, options().opts);
    const { opts, logs } = options({ params: { minSide: 16, minSize: 20, scale: 100, top: 1 } });
    const run = await generateProposals(dataset, opts);
    expect(run.source).toBe('in-thread');
    expect(logs.join('\n')).toMatch(/recomputing .*other parameters or images/);
    for (const image of run.file.images) expect(image.boxes.length).toBeLessThanOrEqual(1);
  });

  it('recomputes when an image file changes', async () => {
    const first = await generateProposals(dataset, options().opts);
    const moved = paint(64, 48, [90, 90, 90], [{ rect: [20, 6, 60, 44], colour: [250, 250, 0] }]);
    writeFileSync(join(dir, 'b.png'), await encodePng(moved));
    const { opts, logs } = options();
    const run = await generateProposals(dataset, opts);
    expect(run.source).toBe('in-thread');
    expect(logs.join('\n')).toMatch(/recomputing/);
    expect(run.file.key).not.toBe(first.file.key);
  });

  it('recomputes over a malformed cache file instead of failing', async () => {
    const { opts, logs } = options();
    writeFileSync(opts.cacheFile as string, '{"images": 3');
    const run = await generateProposals(dataset, opts);
    expect(run.source).toBe('in-thread');
    expect(logs.join('\n')).toMatch(/recomputing/);
  });

  it('attaches proposals as the boxes of the samples, dropping skipped images', async () => {
    const { opts } = options({ params: { minSide: 16, minSize: 20, scale: 100, top: 0 } });
    const run = await generateProposals(dataset, opts);
    const attached = attachProposals(dataset, run.file);
    expect(attached.samples.map((s) => s.imageId)).toEqual([1, 3]);
    const a = attached.samples[0];
    const rows = Array.from({ length: a.boxes.length / 4 }, (_, i) =>
      Array.from(a.boxes.subarray(i * 4, i * 4 + 4)),
    );
    for (const rect of [RED_RECT, BLUE_RECT]) {
      const best = Math.max(...rows.map((b) => boxIou([b[0], b[1], b[2], b[3]], rect)));
      expect(best).toBeGreaterThanOrEqual(0.7);
    }
    expect(Array.from(a.labels).every((l) => l === 0)).toBe(true);
  });
});

describe('COCO round trip', () => {
  it('fromCoco(toCoco(file)) gives the file back', async () => {
    const { opts } = options();
    const run = await generateProposals(dataset, { ...opts, force: true });
    expect(fromCoco(JSON.parse(JSON.stringify(toCoco(run.file))))).toEqual(run.file);
  });

  it('rejects a COCO file that is not an alignc proposal file, naming the problem', () => {
    expect(() => fromCoco({ images: [], annotations: [] })).toThrow(/field 'info'/);
  });
});
