// The shipped pipelines and the std library check clean, and the checker's recorded types for
// their key expressions are the ones the method needs (what compiler/lower will read back).

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { checkFiles } from '../../compiler/check/index.js';
import { renderDiagnostic } from '../../compiler/diagnostics.js';
import { showType } from '../../compiler/check/types.js';
import type * as A from '../../grammar/ast.js';

const pipelines = readdirSync('pipelines')
  .filter((f) => f.endsWith('.align'))
  .map((f) => join('pipelines', f));
const std = readdirSync('pipelines/std').map((f) => join('pipelines/std', f));

const fixtures = [
  'pipelines/common/coco.align',
  'test/fixtures/lang/varifocal.align',
  'test/fixtures/lang/intro.align',
  'test/fixtures/lang/functions.align',
  'test/fixtures/lang/format/messy.align',
];

test.each([...pipelines, ...std, ...fixtures])('%s checks clean', (file) => {
  const program = checkFiles([file]);
  expect(program.diagnostics.map((d) => renderDiagnostic(d, program.sources))).toEqual([]);
});

test('types recorded for the AlignDet pre-training stage', () => {
  const program = checkFiles(['pipelines/aligndet-retinanet.align']);
  const module = program.entries[0].ast;
  const stage = module?.items.find(
    (i): i is A.StageDecl => i.kind === 'StageDecl' && i.name.name === 'pretrain',
  );
  if (!stage) throw new Error('no pretrain stage');
  const typeOf = (e: A.Expr) => showType(program.types.get(e) ?? { kind: 'unknown' });
  const byName = new Map(
    stage.body.flatMap((s) =>
      'name' in s && 'value' in s ? [[s.name.name, s.value] as const] : [],
    ),
  );
  expect(typeOf(byName.get('q')!)).toBe('retinanet output');
  expect(typeOf(byName.get('mq')!)).toBe('match');
  expect(typeOf(byName.get('contrast')!)).toBe('f32');
  const regression = byName.get('regression')!;
  expect(typeOf(regression)).toBe('f32');
  if (regression.kind !== 'Call') throw new Error('not a call');
  expect(regression.args.map((a) => typeOf(a.value))).toEqual([
    'f32[S_v1, 4]',
    'f32[S_v1, 4]',
    'f32[S_v1]',
    'f32',
  ]);
});
