// VOC / COCO / folder datasets on the shipped BCCD files, and VOC → COCO conversion checked against
// the COCO ground truth made independently for the evaluator goldens (test/fixtures/data/README.md).

import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { BCCD_CATEGORIES, defaultBccdRoot, loadBccd } from '../../runtime/data/bccd.js';
import { toCocoJson, type CocoJson } from '../../runtime/data/coco.js';
import { parseVocAnnotation } from '../../runtime/data/voc.js';
import { DataWarnings } from '../../runtime/data/warnings.js';

const silent = () => new DataWarnings(() => {});

describe('VOC on real BCCD files', () => {
  test('parses BloodImage_00000.xml with 1-based boxes as written', () => {
    const text = readFileSync(`${defaultBccdRoot()}/annotations/BloodImage_00000.xml`, 'utf8');
    const a = parseVocAnnotation(text);
    expect(a.filename).toBe('BloodImage_00000.jpg');
    expect([a.width, a.height]).toEqual([640, 480]);
    // First object in the file, read by eye: WBC 260 177 491 376.
    expect(a.objects[0]).toEqual({
      name: 'WBC',
      difficult: false,
      xmin: 260,
      ymin: 177,
      xmax: 491,
      ymax: 376,
    });
  });

  test('space-indented files (00171) parse the same way', () => {
    const a = parseVocAnnotation(
      readFileSync(`${defaultBccdRoot()}/annotations/BloodImage_00171.xml`, 'utf8'),
    );
    expect(a.objects.length).toBeGreaterThan(0);
    for (const o of a.objects) expect(BCCD_CATEGORIES).toContain(o.name);
  });

  test('the val split converts to exactly the evaluator golden ground truth', async () => {
    const warnings = silent();
    const val = await loadBccd('val', { warnings });
    const golden = JSON.parse(
      readFileSync('test/fixtures/data/bccd-val-coco-gt.json', 'utf8'),
    ) as CocoJson;
    const mine = toCocoJson(val, golden.info?.description);
    expect(mine.categories).toEqual(golden.categories);
    expect(mine.images).toEqual(golden.images);
    expect(mine.annotations.length).toBe(1137);
    expect(mine.annotations).toEqual(golden.annotations);
    // 00338's zero-area box is the one val defect: skipped and counted, nothing else.
    expect(warnings.list().map((w) => [w.kind, w.count])).toEqual([['zero-area-box', 1]]);
    expect(warnings.list()[0].first).toContain('BloodImage_00338.xml object');
  });

  test('the whole dataset: 364 images, 4888 - 2 boxes, both zero-area boxes counted once', async () => {
    const lines: string[] = [];
    const warnings = new DataWarnings((line) => lines.push(line));
    const all = await loadBccd(undefined, { warnings });
    expect(all.samples.length).toBe(364);
    expect(all.samples.reduce((n, s) => n + s.labels.length, 0)).toBe(4886);
    expect(warnings.count('zero-area-box')).toBe(2);
    expect(lines.length).toBe(1); // one printed warning for the kind, the second only counted
  });
});

describe('proposals as pseudo boxes', () => {
  test('attach keeps the first k boxes in file order, labels 0; images without proposals get none', async () => {
    const { attachProposals } = await import('../../runtime/data/attach.js');
    const base = { name: 'x', labelled: false, categories: [] };
    const image = (imageId: number) => ({
      key: `i${imageId}`,
      imageId,
      imagePath: `i${imageId}.png`,
      width: 10,
      height: 10,
      boxes: new Float64Array(0),
      labels: new Int32Array(0),
      crowd: new Uint8Array(0),
    });
    const images = { ...base, samples: [image(1), image(2)] };
    const proposals = {
      ...base,
      labelled: true,
      samples: [
        {
          ...image(1),
          boxes: Float64Array.from([0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3]),
          labels: new Int32Array(3).fill(1),
          crowd: new Uint8Array(3),
        },
      ],
    };
    const out = attachProposals(images, proposals, { topK: 2 });
    expect(Array.from(out.samples[0].boxes)).toEqual([0, 0, 1, 1, 1, 1, 2, 2]);
    expect(Array.from(out.samples[0].labels)).toEqual([0, 0]);
    expect(out.samples[1].boxes.length).toBe(0);
  });
});
