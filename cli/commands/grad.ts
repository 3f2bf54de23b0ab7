// `alignc grad FILE --fn NAME --inputs in.json`: value and gradients of a `.align` function at given
// inputs, as JSON `{ "value": …, "grads": { "arg": … } }`. The gradient is of the sum of the
// output (of the output itself for a scalar loss), with respect to every f32 tensor argument.

import { readFileSync } from 'node:fs';
import type { DType } from '../../compiler/ir/index.js';
import { valueAndGrad } from '../../compiler/lower/grad.js';
import type { TensorData } from '../../runtime/cpu/tensor-data.js';
import { FileError, UsageError } from '../../runtime/errors.js';
import type { Command } from '../command.js';
import { parseConstants, resolveFunction } from '../function-args.js';
import { tensorFromJson, tensorToJson } from '../tensor-json.js';

export const gradCommand: Command = {
  name: 'grad',
  summary: 'value and gradients of a .align function at given inputs, as JSON',
  usage: 'alignc grad FILE --fn NAME --inputs in.json [--set NAME=VALUE]...',
  options: [
    { name: 'fn', kind: 'string', placeholder: 'NAME', description: 'the function' },
    {
      name: 'inputs',
      kind: 'string',
      placeholder: 'FILE',
      description: 'JSON object: argument name → nested array (- reads stdin)',
    },
    {
      name: 'set',
      kind: 'list',
      placeholder: 'NAME=VALUE',
      description: 'value of a parameter that has a default (repeatable)',
    },
  ],
  async run(args) {
    const { table, fn } = resolveFunction(args, 'grad');
    const inputsPath = args.strings.get('inputs');
    if (!inputsPath) {
      throw new UsageError('alignc grad needs --inputs FILE', {
        hint: 'a JSON object mapping each argument name to a nested array of numbers',
      });
    }
    let text: string;
    try {
      text = readFileSync(inputsPath === '-' ? 0 : inputsPath, 'utf8');
    } catch (error) {
      throw new FileError(`cannot read ${inputsPath}: ${(error as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`${inputsPath} is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new UsageError(`${inputsPath} must hold a JSON object: argument name → array`);
    }
    const record = json as Record<string, unknown>;
    const inputs = new Map<string, TensorData>();
    for (const p of fn.params) {
      const value = record[p.name.name];
      if (value === undefined) {
        if (p.default) continue;
        throw new UsageError(`${inputsPath} has no value for argument ${p.name.name}`);
      }
      if (p.default && !Array.isArray(value)) continue; // given with --set instead
      inputs.set(
        p.name.name,
        tensorFromJson(value, p.type.dtype as DType, `${inputsPath}: ${p.name.name}`),
      );
    }
    for (const key of Object.keys(record)) {
      if (!fn.params.some((p) => p.name.name === key)) {
        throw new UsageError(`${inputsPath}: ${fn.name.name} has no parameter ${key}`);
      }
    }
    const constants = parseConstants(args, fn);
    for (const p of fn.params) {
      const value = record[p.name.name];
      if (p.default && typeof value === 'number') constants.set(p.name.name, value);
    }
    const result = valueAndGrad(fn, table.functions, inputs, { constants });
    const grads: Record<string, unknown> = {};
    for (const [name, g] of result.grads) grads[name] = tensorToJson(g);
    process.stdout.write(JSON.stringify({ value: tensorToJson(result.value), grads }) + '\n');
    return 0;
  },
};
