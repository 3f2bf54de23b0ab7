// Symbolic tensor shapes for compiler/check: broadcasting of elementwise operands and the binding
// of a function's declared shape variables (`f32[N, 4]`) to the shapes of its arguments. Pure
// functions; they return a description of the mismatch and the caller turns it into a diagnostic.

import type { Dtype } from '../../grammar/ast.js';
import { dimEquals, showDim, showShape, type Dim, type TensorType } from './types.js';

export type ShapeResult = { ok: true; shape: readonly Dim[] } | { ok: false; why: string };

/** Numpy-style broadcasting from the right; a dimension broadcasts only when it is the literal 1. */
export function broadcast(a: TensorType, b: TensorType): ShapeResult {
  const rank = Math.max(a.shape.length, b.shape.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a.shape[a.shape.length - rank + i];
    const db = b.shape[b.shape.length - rank + i];
    if (da === undefined) out.push(db);
    else if (db === undefined) out.push(da);
    else if (dimEquals(da, db)) out.push(da);
    else if (da.kind === 'const' && da.size === 1) out.push(db);
    else if (db.kind === 'const' && db.size === 1) out.push(da);
    else {
      return {
        ok: false,
        why: `${showShape(a)} and ${showShape(b)} do not broadcast: ${showDim(da)} vs ${showDim(db)} in axis ${i - rank}`,
      };
    }
  }
  return { ok: true, shape: out };
}

/** Bindings of a callee's shape variables, filled argument by argument. */
export class ShapeBinding {
  readonly bound = new Map<string, { dim: Dim; from: string }>();

  /** Binds `declared` against `actual`; on a mismatch, says why in terms of both shapes. */
  bind(declared: TensorType, actual: TensorType, argName: string): string | undefined {
    if (declared.shape.length !== actual.shape.length) {
      return `expected ${showShape(declared)} (rank ${declared.shape.length}) but got ${showShape(actual)} (rank ${actual.shape.length})`;
    }
    for (let i = 0; i < declared.shape.length; i++) {
      const want = declared.shape[i];
      const got = actual.shape[i];
      if (want.kind === 'const') {
        if (!dimEquals(want, got)) {
          return `expected ${showShape(declared)} but got ${showShape(actual)}: axis ${i} is ${showDim(got)}, not ${want.size}`;
        }
        continue;
      }
      const prior = this.bound.get(want.name);
      if (prior === undefined) {
        this.bound.set(want.name, { dim: got, from: argName });
      } else if (!dimEquals(prior.dim, got)) {
        const bound = showDim(prior.dim);
        const why =
          bound === want.name
            ? `${want.name} from \`${prior.from}\``
            : `${want.name} = ${bound} from \`${prior.from}\``;
        return `expected ${showShape(this.apply(declared))} (${why}) but got ${showShape(actual)}`;
      }
    }
    return undefined;
  }

  apply(t: TensorType): TensorType {
    return {
      ...t,
      shape: t.shape.map((d) => (d.kind === 'sym' ? (this.bound.get(d.name)?.dim ?? d) : d)),
    };
  }
}

/** The result element type of arithmetic between two operands, or why they do not mix. */
export function arithmeticDtype(a: Dtype, b: Dtype): Dtype | string {
  if (a === 'bool' || b === 'bool') return 'arithmetic needs numbers; cast booleans with f32(…)';
  if (a !== b)
    return `cannot mix ${a} and ${b}; convert one side with ${a === 'f32' ? 'f32' : 'f32'}(…)`;
  return a;
}
