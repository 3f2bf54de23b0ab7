// The table of every built-in of `.align`, by name, for compiler/check (and docs/language.md):
// configuration blocks, stage built-ins and tensor functions, plus the named constants.

import { configBuiltins } from './config.js';
import type { BuiltinSig } from './spec.js';
import { stageBuiltins } from './stage.js';
import { tensorBuiltins, tensorVariants } from './tensor.js';

export const builtins: ReadonlyMap<string, BuiltinSig> = new Map(
  [...configBuiltins, ...stageBuiltins, ...tensorBuiltins].map((b) => [b.name, b]),
);

/** Tensor-code meanings of names that are also configuration blocks (see tensor.ts). */
export const tensorVariantBuiltins: ReadonlyMap<string, BuiltinSig> = new Map(
  tensorVariants.map((b) => [b.name, b]),
);

/** Named f32 constants usable in tensor code. */
export const builtinConstants: ReadonlyMap<string, number> = new Map([
  ['inf', Infinity],
  ['pi', Math.PI],
]);
