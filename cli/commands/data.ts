// `alignc data`: opens a dataset (VOC, COCO, image folder, or the shipped BCCD), reports what was
// read and what bad data was skipped, and writes derived files: COCO ground truth for `alignc eval`
// (VOC → COCO) and labelled-fraction split files. The reading itself is runtime/data.

import { writeFileSync } from 'node:fs';
import { toCocoJson } from '../../runtime/data/coco.js';
import { labelledFraction } from '../../runtime/data/fractions.js';
import { openDataset, type DatasetSource } from '../../runtime/data/open.js';
import { DataWarnings } from '../../runtime/data/warnings.js';
import { FileError, UsageError } from '../../runtime/errors.js';
import type { Command, ParsedArgs } from '../command.js';

const USAGE =
  'alignc data (bccd | voc DIR | coco FILE --images DIR | folder DIR) [--split NAME] ' +
  '[--coco OUT.json] [--fraction PERCENT --seed N --out SPLIT.txt]';

function source(args: ParsedArgs): DatasetSource {
  const [format, path] = args.positionals;
  const split = args.strings.get('split');
  const needPath = (): string => {
    if (path === undefined)
      throw new UsageError(`alignc data ${format} needs a path`, { hint: `usage: ${USAGE}` });
    return path;
  };
  switch (format) {
    case 'bccd':
      return { format: 'bccd', ...(split === undefined ? {} : { split }) };
    case 'voc':
      return { format: 'voc', root: needPath(), ...(split === undefined ? {} : { split }) };
    case 'coco': {
      const images = args.strings.get('images');
      if (images === undefined)
        throw new UsageError('alignc data coco needs --images DIR', { hint: `usage: ${USAGE}` });
      return { format: 'coco', annotations: needPath(), images };
    }
    case 'folder':
      return {
        format: 'folder',
        dir: needPath(),
        ...(split === undefined ? {} : { splitFile: split }),
      };
    default:
      throw new UsageError(
        format === undefined ? 'alignc data needs a dataset' : `unknown dataset format '${format}'`,
        { hint: `usage: ${USAGE}` },
      );
  }
}

function write(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (error) {
    throw new FileError(`cannot write ${path}`, { cause: error });
  }
}

export const dataCommand: Command = {
  name: 'data',
  summary: 'read a dataset, report skipped bad data, write COCO ground truth or labelled fractions',
  usage: USAGE,
  options: [
    {
      name: 'split',
      kind: 'string',
      placeholder: 'NAME',
      description: 'split name (VOC/BCCD) or split file (folder)',
    },
    {
      name: 'images',
      kind: 'string',
      placeholder: 'DIR',
      description: 'image folder of a COCO file',
    },
    {
      name: 'coco',
      kind: 'string',
      placeholder: 'FILE',
      description: 'write the dataset as COCO ground truth',
    },
    {
      name: 'fraction',
      kind: 'number',
      placeholder: 'PERCENT',
      description: 'labelled fraction, e.g. 1, 5, 10',
    },
    {
      name: 'seed',
      kind: 'number',
      placeholder: 'N',
      description: 'seed of the fraction draw (default 0)',
    },
    {
      name: 'out',
      kind: 'string',
      placeholder: 'FILE',
      description: 'where the fraction split file goes',
    },
  ],
  async run(args) {
    const warnings = new DataWarnings();
    const dataset = await openDataset(source(args), warnings);
    const boxes = dataset.samples.reduce((n, s) => n + s.labels.length, 0);
    const lines = [`${dataset.name}: ${dataset.samples.length} images, ${boxes} boxes`];
    for (const c of dataset.categories) {
      const n = dataset.samples.reduce((k, s) => k + s.labels.filter((l) => l === c.id).length, 0);
      lines.push(`  ${c.id} ${c.name}: ${n}`);
    }
    const skipped = warnings.summary();
    lines.push(skipped.length === 0 ? 'no bad data' : 'bad data:', ...skipped.map((l) => `  ${l}`));
    process.stdout.write(lines.join('\n') + '\n');

    const coco = args.strings.get('coco');
    if (coco !== undefined) {
      write(
        coco,
        JSON.stringify(toCocoJson(dataset, `${dataset.name} as COCO ground truth (alignc data)`)) +
          '\n',
      );
      process.stdout.write(`wrote ${coco}\n`);
    }
    const percent = args.numbers.get('fraction');
    if (percent !== undefined) {
      const out = args.strings.get('out');
      if (out === undefined) throw new UsageError('--fraction needs --out SPLIT.txt');
      const seed = args.numbers.get('seed') ?? 0;
      const keys = labelledFraction(
        dataset.samples.map((s) => s.key),
        percent,
        seed,
      );
      write(out, keys.join('\n') + '\n');
      process.stdout.write(
        `wrote ${out}: ${keys.length} of ${dataset.samples.length} images (${percent}%, seed ${seed})\n`,
      );
    }
    return 0;
  },
};
