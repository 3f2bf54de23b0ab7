// The built-in reference of docs/language.md, generated from the signature tables (config.ts,
// stage.ts, tensor.ts) so the documentation cannot drift from what the checker accepts.
// test/lang/reference.test.ts compares it with the docs (and rewrites them with ALIGN_UPDATE_DOCS=1).

import { configBuiltins } from './config.js';
import { describeSpec, type BuiltinSig, type ParamSig } from './spec.js';
import { clauseSignatures, stageBuiltins } from './stage.js';
import { tensorBuiltins, tensorVariants } from './tensor.js';

function params(ps: readonly ParamSig[]): string {
  return ps
    .map((p) => {
      const range =
        p.min !== undefined || p.max !== undefined ? ` [${p.min ?? '−∞'}, ${p.max ?? '∞'}]` : '';
      return `\`${p.name}\`${p.required ? '' : '?'}${p.variadic ? '…' : ''}: ${describeSpec(p.type)}${range}`;
    })
    .join('; ');
}

function table(title: string, list: readonly BuiltinSig[]): string[] {
  return [
    `### ${title}`,
    '',
    '| name | what it is | parameters |',
    '| --- | --- | --- |',
    ...list.map((b) => `| \`${b.name}\` | ${b.doc} | ${params(b.params)} |`),
    '',
  ];
}

const GROUPS: readonly (readonly [string, readonly string[]])[] = [
  ['Datasets', ['coco', 'voc', 'image_folder']],
  [
    'Proposals and proposal filters',
    ['selective_search', 'proposals_json', 'filter_boxes', 'nms', 'top'],
  ],
  [
    'View transforms',
    [
      'resize',
      'random_resized_crop',
      'hflip',
      'pad',
      'normalize',
      'one_of',
      'color_jitter',
      'grayscale',
      'gaussian_blur',
    ],
  ],
  [
    'Photometric operations (for `one_of`)',
    [
      'identity',
      'autocontrast',
      'equalize',
      'solarize',
      'color',
      'contrast',
      'brightness',
      'sharpness',
      'posterize',
    ],
  ],
  [
    'Detectors and their blocks',
    [
      'resnet',
      'fpn',
      'anchors',
      'mlp',
      'retina_head',
      'fcos_head',
      'rcnn_head',
      'retinanet',
      'fcos',
      'faster_rcnn',
      'encoder',
    ],
  ],
  [
    'Schedules, optimizers, metrics',
    [
      'cosine',
      'constant',
      'sgd',
      'adamw',
      'linear_warmup',
      'constant_warmup',
      'step_lr',
      'cosine_lr',
      'coco_map',
      'voc_map',
    ],
  ],
];

/** Markdown for every built-in, grouped; every built-in appears exactly once per meaning. */
export function builtinReferenceMarkdown(): string {
  const byName = new Map(configBuiltins.map((b) => [b.name, b]));
  const out: string[] = [];
  const listed = new Set<string>();
  for (const [title, names] of GROUPS) {
    const list = names.map((n) => byName.get(n)).filter((b): b is BuiltinSig => b !== undefined);
    list.forEach((b) => listed.add(b.name));
    if (title.startsWith('Detectors')) list.push(...stageBuiltins.filter((b) => b.name === 'ema'));
    out.push(...table(title, list));
  }
  const unlisted = configBuiltins.filter((b) => !listed.has(b.name));
  if (unlisted.length > 0) out.push(...table('Other blocks', unlisted));
  out.push(
    ...table(
      'Stage built-ins (matchers, no_grad)',
      stageBuiltins.filter((b) => b.name !== 'ema'),
    ),
  );
  out.push('### Stage clauses', '', '| clause | what it sets | arguments |', '| --- | --- | --- |');
  for (const c of Object.values(clauseSignatures)) {
    out.push(
      `| \`${c.clause}\` | ${c.doc}${c.repeatable ? ' (may repeat)' : ''} | ${params(c.params)} |`,
    );
  }
  out.push('');
  out.push(
    ...table('Tensor functions (in `fn` bodies and stages)', [
      ...tensorBuiltins,
      ...tensorVariants,
    ]),
  );
  return out.join('\n');
}
