// `alignc proposals`: selective-search proposals for a folder of images, filtered as AlignDet does
// and written as a COCO-format JSON (the proposals stage of the data side of the flow, run on its
// own). The work is runtime/data/proposals; this file parses flags and prints a summary.

import { basename, resolve } from 'node:path';
import { loadImageFolder } from '../../runtime/data/folder.js';
import { generateProposals } from '../../runtime/data/proposals/generate.js';
import { defaultProposalParams } from '../../runtime/data/proposals/params.js';
import type { ProposalParams, SearchMode } from '../../runtime/data/proposals/params.js';
import { DataWarnings } from '../../runtime/data/warnings.js';
import { UsageError } from '../../runtime/errors.js';
import type { Command, OptionSpec, ParsedArgs } from '../command.js';

const d = defaultProposalParams;

/** Numeric flags and the parameter each sets. */
const numericFlags: readonly [flag: string, param: keyof ProposalParams, description: string][] = [
  ['top', 'top', `keep at most K boxes per image, 0 = all (default ${d.top})`],
  ['scale', 'scale', `Felzenszwalb scale k; fast mode uses k/2, k, 3k/2 (default ${d.scale})`],
  ['sigma', 'sigma', `Gaussian smoothing before segmentation (default ${d.sigma})`],
  ['min-size', 'minSize', `Felzenszwalb minimum region, pixels (default ${d.minSize})`],
  ['min-side', 'minSide', `drop boxes with a side under this many pixels (default ${d.minSide})`],
  ['max-aspect', 'maxAspect', `drop boxes with w/h or h/w above this (default ${d.maxAspect})`],
  ['min-rel-size', 'minRelSize', `drop boxes with √(wh/WH) under this (default ${d.minRelSize})`],
  ['max-rel-size', 'maxRelSize', `drop boxes with √(wh/WH) above this (default ${d.maxRelSize})`],
  ['nms', 'nms', `NMS IoU threshold in rank order, 1 = off (default ${d.nms})`],
  ['seed', 'seed', `seed of the random ranking (default ${d.seed})`],
];

const options: OptionSpec[] = [
  { name: 'images', kind: 'string', placeholder: 'DIR', description: 'folder of JPEG/PNG images' },
  {
    name: 'split',
    kind: 'string',
    placeholder: 'FILE',
    description: 'only the images listed in this split file',
  },
  {
    name: 'out',
    kind: 'string',
    placeholder: 'FILE',
    description: 'COCO JSON to write (default .cache/proposals/<dataset>-<key>.json)',
  },
  { name: 'mode', kind: 'string', placeholder: 'fast|single', description: 'diversification' },
  ...numericFlags.map(([name, , description]): OptionSpec => ({
    name,
    kind: 'number',
    placeholder: 'N',
    description,
  })),
  {
    name: 'workers',
    kind: 'number',
    placeholder: 'N',
    description: 'worker threads, 0 = main thread (default: cores - 1)',
  },
  { name: 'force', kind: 'boolean', description: 'recompute even if the output file is current' },
  { name: 'quiet', kind: 'boolean', description: 'no progress bar' },
];

function requestedParams(args: ParsedArgs): Partial<ProposalParams> {
  const params: Record<string, unknown> = {};
  for (const [flag, param] of numericFlags) {
    const value = args.numbers.get(flag);
    if (value !== undefined) params[param] = value;
  }
  const mode = args.strings.get('mode');
  if (mode !== undefined) {
    if (mode !== 'fast' && mode !== 'single') {
      throw new UsageError(`--mode must be 'fast' or 'single', got '${mode}'`);
    }
    params.mode = mode satisfies SearchMode;
  }
  return params as Partial<ProposalParams>;
}

export const proposalsCommand: Command = {
  name: 'proposals',
  summary: 'selective-search proposals for a folder of images, as a COCO JSON (cached)',
  usage: 'alignc proposals --images DIR [--out FILE] [--top K] [options]',
  options,
  async run(args) {
    const dir = args.strings.get('images');
    if (dir === undefined || dir === '') {
      throw new UsageError('alignc proposals needs --images DIR', {
        hint: 'usage: alignc proposals --images data/bccd/images --out proposals.json',
      });
    }
    const workers = args.numbers.get('workers');
    if (workers !== undefined && (!Number.isInteger(workers) || workers < 0)) {
      throw new UsageError(`--workers must be a non-negative integer, got ${workers}`);
    }
    const warnings = new DataWarnings();
    const dataset = await loadImageFolder({
      dir,
      splitFile: args.strings.get('split'),
      warnings,
      name: basename(resolve(dir)),
    });
    const quiet = args.booleans.has('quiet');
    const run = await generateProposals(dataset, {
      params: requestedParams(args),
      cacheFile: args.strings.get('out'),
      force: args.booleans.has('force'),
      workers,
      progress: !quiet,
      warnings,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    const boxes = run.file.images.reduce((n, i) => n + i.boxes.length, 0);
    const images = run.file.images.length;
    const s = run.stages;
    const lines = [
      `${images} images, ${boxes} proposals (${images > 0 ? (boxes / images).toFixed(1) : '0'} per image)` +
        ` from ${run.source === 'cache' ? 'the cache' : `a fresh run (${run.source})`}`,
      `filter stage per image: full ${s.full}, aspect-only ${s['aspect-only']},` +
        ` min-side-only ${s['min-side-only']}, empty ${s.empty}`,
      ...warnings.summary().map((w) => `warning ${w}`),
      `written to ${run.path}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
