// `alignc check-grad FILE --fn NAME [--seed S]`: for loss authors. Draws inputs of the function's
// declared shapes, compares its gradient (autodiff, or its own backward block) with central finite
// differences in f64, prints the worst relative error per argument, and fails above a tolerance.

import { checkGrad, type CheckGradReport } from '../../compiler/lower/grad.js';
import { UsageError } from '../../runtime/errors.js';
import type { Command } from '../command.js';
import { parseConstants, parseDims, resolveFunction } from '../function-args.js';

function formatReport(r: CheckGradReport): string {
  const dims = Object.entries(r.dims)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const lines = [
    `${r.fn}: gradient by ${r.usedCustomBackward ? 'its backward block' : 'autodiff'} vs central differences (f64), seed ${r.seed}${dims ? `, ${dims}` : ''}`,
  ];
  for (const a of r.args) {
    lines.push(
      `  ${a.ok ? 'ok  ' : 'FAIL'} ${a.name.padEnd(12)} [${a.shape.join(', ')}]  worst relative error ${a.worstError.toExponential(2)}` +
        (a.ok ? '' : `  (element ${a.worstIndex}: autodiff ${a.autodiff}, numeric ${a.numeric})`),
    );
  }
  if (r.args.length === 0) lines.push('  (no f32 tensor arguments to differentiate)');
  lines.push(r.ok ? `passed (tolerance ${r.tolerance})` : `FAILED (tolerance ${r.tolerance})`);
  return lines.join('\n');
}

export const checkGradCommand: Command = {
  name: 'check-grad',
  summary: 'compare a .align function’s gradient with finite differences on random inputs',
  usage: 'alignc check-grad FILE --fn NAME [--seed S] [--dims N=4,D=8] [--tolerance T] [--json]',
  options: [
    { name: 'fn', kind: 'string', placeholder: 'NAME', description: 'the function' },
    { name: 'seed', kind: 'number', placeholder: 'S', description: 'input draw seed (default 0)' },
    {
      name: 'dims',
      kind: 'string',
      placeholder: 'N=4,D=8',
      description: 'sizes of dimension names',
    },
    {
      name: 'tolerance',
      kind: 'number',
      placeholder: 'T',
      description: 'largest accepted relative error (default 1e-4)',
    },
    {
      name: 'set',
      kind: 'list',
      placeholder: 'NAME=VALUE',
      description: 'value of a parameter that has a default (repeatable)',
    },
    { name: 'json', kind: 'boolean', description: 'print the report as JSON' },
  ],
  async run(args) {
    const { table, fn } = resolveFunction(args, 'check-grad');
    const seed = args.numbers.get('seed') ?? 0;
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new UsageError(`--seed must be a non-negative integer, got ${seed}`);
    }
    const report = checkGrad(fn, table.functions, {
      seed,
      dims: parseDims(args),
      tolerance: args.numbers.get('tolerance'),
      constants: parseConstants(args, fn),
    });
    process.stdout.write(
      (args.booleans.has('json') ? JSON.stringify(report, null, 2) : formatReport(report)) + '\n',
    );
    return report.ok ? 0 : 1;
  },
};
