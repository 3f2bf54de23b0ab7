// `alignc weights`: inspect and convert safetensors checkpoints. `info` validates a file and lists
// its tensors; `extract` performs AlignDet's checkpoint surgery (keep the online detector, drop the
// final cls/reg/centerness layers) between pre-training and fine-tuning; `resnet` checks that a
// file holds a torchvision- or mmdet-named ResNet. The work is runtime/io; this file reads and prints.

import { UsageError } from '../../runtime/errors.js';
import { extractDetectorWeights, ONLINE_PREFIX } from '../../runtime/io/checkpoint-surgery.js';
import {
  loadSafetensors,
  saveSafetensors,
  type SafetensorsContents,
  type TensorToSave,
} from '../../runtime/io/safetensors.js';
import { matchResnetBackbone, type ResnetDepth } from '../../runtime/io/weight-names.js';
import type { Command, ParsedArgs } from '../command.js';

const USAGE =
  'alignc weights info FILE | extract IN OUT [--prefix P] [--keep-heads] | resnet FILE --depth 18|34|50 [--width M]';

/** One line per tensor (name, stored dtype, shape) and a total. */
export function formatWeightsInfo(file: string, contents: SafetensorsContents): string {
  const lines = [`${file}: ${contents.tensors.size} tensors`];
  for (const [k, v] of Object.entries(contents.metadata)) lines.push(`  metadata ${k} = ${v}`);
  let total = 0;
  const width = Math.max(0, ...[...contents.tensors.keys()].map((n) => n.length));
  for (const [name, t] of contents.tensors) {
    total += t.tensor.data.length;
    lines.push(
      `  ${name.padEnd(width)}  ${t.storedDtype.padEnd(4)}  [${t.tensor.shape.join(', ')}]`,
    );
  }
  lines.push(`total ${total} values`);
  return lines.join('\n');
}

function positional(args: ParsedArgs, index: number, what: string): string {
  const v = args.positionals[index];
  if (v === undefined)
    throw new UsageError(`alignc weights needs ${what}`, { hint: `usage: ${USAGE}` });
  return v;
}

function depthOf(args: ParsedArgs): ResnetDepth {
  const d = args.numbers.get('depth');
  if (d !== 18 && d !== 34 && d !== 50) {
    throw new UsageError(`alignc weights resnet needs --depth 18, 34 or 50`, {
      hint: `usage: ${USAGE}`,
    });
  }
  return d;
}

export const weightsCommand: Command = {
  name: 'weights',
  summary:
    'inspect safetensors checkpoints, check a ResNet, or strip pre-training heads for fine-tuning',
  usage: USAGE,
  options: [
    {
      name: 'prefix',
      kind: 'string',
      placeholder: 'P',
      description: `extract: key prefix to keep (default ${ONLINE_PREFIX})`,
    },
    {
      name: 'keep-heads',
      kind: 'boolean',
      description: 'extract: keep the final cls/reg/centerness layers',
    },
    { name: 'depth', kind: 'number', placeholder: 'N', description: 'resnet: 18, 34 or 50' },
    {
      name: 'width',
      kind: 'number',
      placeholder: 'M',
      description: 'resnet: width multiplier (default 1)',
    },
  ],
  async run(args) {
    const sub = positional(args, 0, 'a sub-command (info, extract, resnet)');
    switch (sub) {
      case 'info': {
        const file = positional(args, 1, 'a FILE');
        process.stdout.write(formatWeightsInfo(file, await loadSafetensors(file)) + '\n');
        return 0;
      }
      case 'extract': {
        const input = positional(args, 1, 'an input FILE');
        const output = positional(args, 2, 'an output FILE');
        const contents = await loadSafetensors(input);
        const r = extractDetectorWeights(contents.tensors, input, {
          prefix: args.strings.get('prefix'),
          keepHeads: args.booleans.has('keep-heads'),
        });
        const out = new Map<string, TensorToSave>();
        for (const [name, t] of r.kept) {
          out.set(name, { tensor: t.tensor, dtype: t.storedDtype === 'I64' ? 'I64' : undefined });
        }
        await saveSafetensors(output, out, { ...contents.metadata, extracted_from: input });
        process.stdout.write(
          `${output}: kept ${r.kept.size} tensors, dropped ${r.dropped.length} final-layer tensors` +
            `${r.dropped.length > 0 ? ` (${r.dropped.join(', ')})` : ''}, ignored ${r.ignored.length} outside the prefix\n`,
        );
        return 0;
      }
      case 'resnet': {
        const file = positional(args, 1, 'a FILE');
        const contents = await loadSafetensors(file);
        const tensors = new Map([...contents.tensors].map(([k, v]) => [k, v.tensor]));
        const width = args.numbers.get('width');
        const m = matchResnetBackbone(
          tensors,
          depthOf(args),
          file,
          width === undefined ? {} : { widthMultiplier: width },
        );
        process.stdout.write(
          `${file}: ResNet-${depthOf(args)} backbone complete (${m.tensors.size} tensors), ${m.unused.length} other tensors\n`,
        );
        return 0;
      }
      default:
        throw new UsageError(`unknown weights sub-command '${sub}'`, { hint: `usage: ${USAGE}` });
    }
  },
};
