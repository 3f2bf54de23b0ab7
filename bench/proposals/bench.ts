// Proposal quality and speed on BCCD: alignc's selective search against OpenCV's (ximgproc, "fast"
// mode) on the same images in the same run. Recall of the ground-truth boxes at IoU 0.5 and 0.7 for
// the same number of proposals per image, and seconds per image (single thread each).
//
// Both methods' ranked box lists go through the same post-processing here: "aligndet" applies
// AlignDet's filters (min side 32, aspect ≤ 3, √area ratio ≤ 0.8), NMS 0.5 in rank order, then the
// first N; "raw" takes the first N of the ranked list as is. OpenCV runs in a child process
// (scripts/opencv-selective-search.py with Debian's /usr/bin/python3).
//
// Run from the repository root: npm run build && node dist/bench/proposals/bench.js [--count 30] [--split test]
//        [--out bench/proposals/results.json]

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeImage } from '../../runtime/data/image.js';
import { boxIou, filterBoxes, nmsInOrder } from '../../runtime/data/proposals/box-ops.js';
import type { Box } from '../../runtime/data/proposals/box-ops.js';
import { resolveProposalParams } from '../../runtime/data/proposals/params.js';
import { selectiveSearch } from '../../runtime/data/proposals/selective-search.js';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

// Paths are relative to the repository root, where the bench is run from.
const repo = resolve('.');
const bccdRoot = option(
  'root',
  existsSync(join(repo, 'data/bccd/images')) ? join(repo, 'data/bccd') : '/work/shared/data/bccd',
);
const count = Number(option('count', '30'));
const split = option('split', 'test');
const outPath = option('out', join(repo, 'bench/proposals/results.json'));
const tops = option('tops', '50,100,300')
  .split(',')
  .map((s) => Number(s));
const params = resolveProposalParams({ top: 0 });

/** VOC boxes of one image, 0-based with exclusive x2/y2; zero-area boxes are counted, not kept. */
function groundTruth(stem: string): { boxes: Box[]; zeroArea: number } {
  const xml = readFileSync(join(bccdRoot, 'annotations', `${stem}.xml`), 'utf8');
  const boxes: Box[] = [];
  let zeroArea = 0;
  for (const m of xml.matchAll(/<bndbox>([\s\S]*?)<\/bndbox>/g)) {
    const get = (tag: string): number =>
      Number(new RegExp(`<${tag}>\\s*([-\\d.]+)`).exec(m[1])?.[1]);
    const box: Box = [get('xmin') - 1, get('ymin') - 1, get('xmax'), get('ymax')];
    if (box[2] > box[0] && box[3] > box[1]) boxes.push(box);
    else zeroArea++;
  }
  return { boxes, zeroArea };
}

interface PerImage {
  readonly stem: string;
  readonly width: number;
  readonly height: number;
  readonly gt: Box[];
  readonly ranked: Box[];
  readonly seconds: number;
}

function recallAt(images: readonly PerImage[], pick: (img: PerImage) => Box[]) {
  let total = 0;
  let hit50 = 0;
  let hit70 = 0;
  let boxes = 0;
  for (const img of images) {
    const chosen = pick(img);
    boxes += chosen.length;
    for (const g of img.gt) {
      total++;
      let best = 0;
      for (const b of chosen) best = Math.max(best, boxIou(g, b));
      if (best >= 0.5) hit50++;
      if (best >= 0.7) hit70++;
    }
  }
  return {
    recall50: hit50 / total,
    recall70: hit70 / total,
    meanBoxes: boxes / images.length,
  };
}

function evaluate(images: readonly PerImage[]) {
  const aligndet: Record<string, ReturnType<typeof recallAt>> = {};
  const raw: Record<string, ReturnType<typeof recallAt>> = {};
  for (const n of tops) {
    aligndet[n] = recallAt(images, (img) =>
      nmsInOrder(filterBoxes(img.ranked, img.width, img.height, params).boxes, 0.5, n),
    );
    raw[n] = recallAt(images, (img) => img.ranked.slice(0, n));
  }
  raw.all = recallAt(images, (img) => img.ranked);
  const seconds = images.reduce((s, i) => s + i.seconds, 0) / images.length;
  const candidates = images.reduce((s, i) => s + i.ranked.length, 0) / images.length;
  return { secondsPerImage: seconds, meanCandidates: candidates, aligndet, raw };
}

async function main(): Promise<void> {
  const stems = readFileSync(join(bccdRoot, 'splits', `${split}.txt`), 'utf8')
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .slice(0, count);
  const paths = stems.map((s) => join(bccdRoot, 'images', `${s}.jpg`));
  const truth = stems.map(groundTruth);
  const load0 = loadavg();

  const scratch = mkdtempSync(join(tmpdir(), 'alignc-bench-'));
  const cvJson = join(scratch, 'opencv.json');
  const script = join(repo, 'scripts/opencv-selective-search.py');
  process.stderr.write(`OpenCV on ${stems.length} images…\n`);
  const cv = spawnSync('/usr/bin/python3', [script, cvJson, ...paths], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (cv.status !== 0) throw new Error(`${script} failed with status ${cv.status}`);
  const cvOut = JSON.parse(readFileSync(cvJson, 'utf8')) as {
    opencv: string;
    images: { file: string; width: number; height: number; seconds: number; boxes: Box[] }[];
  };

  process.stderr.write(`alignc on ${stems.length} images…\n`);
  const ours: PerImage[] = [];
  for (let i = 0; i < stems.length; i++) {
    const image = await decodeImage(paths[i]);
    const start = performance.now();
    const ranked = selectiveSearch(image, params);
    const seconds = (performance.now() - start) / 1000;
    ours.push({ stem: stems[i], ...image, gt: truth[i].boxes, ranked, seconds });
    process.stderr.write(`alignc ${stems[i]}: ${ranked.length} boxes, ${seconds.toFixed(2)} s\n`);
  }
  const theirs: PerImage[] = cvOut.images.map((r, i) => ({
    stem: stems[i],
    width: r.width,
    height: r.height,
    gt: truth[i].boxes,
    ranked: r.boxes,
    seconds: r.seconds,
  }));

  const cpu = cpus();
  const results = {
    date: new Date().toISOString(),
    machine: {
      cpu: cpu[0]?.model ?? 'unknown',
      logicalCores: cpu.length,
      loadAverageBefore: load0,
      loadAverageAfter: loadavg(),
      node: process.version,
      opencv: cvOut.opencv,
    },
    dataset: { root: bccdRoot, split, images: stems },
    groundTruthBoxes: truth.reduce((n, t) => n + t.boxes.length, 0),
    zeroAreaBoxesSkipped: truth.reduce((n, t) => n + t.zeroArea, 0),
    alignc: { params: { ...params, top: 'per row' }, ...evaluate(ours) },
    opencv: { mode: 'switchToSelectiveSearchFast() defaults', ...evaluate(theirs) },
  };
  writeFileSync(outPath, JSON.stringify(results, null, 2) + '\n');
  process.stdout.write(table(results.alignc, results.opencv) + '\n');
  process.stderr.write(`wrote ${outPath}\n`);
}

function table(a: ReturnType<typeof evaluate>, b: ReturnType<typeof evaluate>): string {
  const pct = (x: number): string => (100 * x).toFixed(1);
  const rows = [
    '| proposals per image | alignc R@0.5 | OpenCV R@0.5 | alignc R@0.7 | OpenCV R@0.7 |',
    '|---|---|---|---|---|',
  ];
  for (const [kind, label] of [
    ['aligndet', 'filtered + NMS 0.5, first'],
    ['raw', 'raw ranked, first'],
  ] as const) {
    const keys = Object.keys(a[kind]);
    for (const k of keys) {
      const x = a[kind][k];
      const y = b[kind][k];
      const n =
        k === 'all' ? `all (${a.meanCandidates.toFixed(0)} vs ${b.meanCandidates.toFixed(0)})` : k;
      rows.push(
        `| ${label} ${n} (mean kept ${x.meanBoxes.toFixed(1)} / ${y.meanBoxes.toFixed(1)}) | ${pct(x.recall50)} | ${pct(y.recall50)} | ${pct(x.recall70)} | ${pct(y.recall70)} |`,
      );
    }
  }
  rows.push(
    '',
    `seconds per image: alignc ${a.secondsPerImage.toFixed(2)}, OpenCV ${b.secondsPerImage.toFixed(2)}`,
  );
  return rows.join('\n');
}

await main();
