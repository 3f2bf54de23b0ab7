// Collects the tensor functions visible from a `.align` file: its own `fn`s plus those of every
// file it `use`s (std modules, relative files), transitively. The file is fully checked first
// (compiler/check), so parse errors, import cycles, type and shape errors in any of them come back
// as one DiagnosticsError naming every file:line:col before anything is lowered. Used by the
// function-level commands (`alignc grad`, `check-grad`, `compile --emit ir`) and by lowering,
// which inlines calls.

import { join } from 'node:path';
import type { FnDecl } from '../../grammar/ast.js';
import { packageRoot } from '../../runtime/package-root.js';
import { checkFilesOrThrow, type CheckedProgram } from '../check/index.js';

export interface FunctionTable {
  readonly functions: ReadonlyMap<string, FnDecl>;
  readonly program: CheckedProgram;
}

export function stdModulePath(segments: readonly string[]): string {
  const rest = segments[0] === 'std' ? segments.slice(1) : segments;
  return join(packageRoot(), 'pipelines', 'std', ...rest) + '.align';
}

export function collectFunctions(entry: string): FunctionTable {
  const program = checkFilesOrThrow([entry]);
  const functions = new Map<string, FnDecl>();
  // Dependencies come first, so a file's own definitions win over those it imports.
  for (const module of program.modules) {
    for (const item of module.ast?.items ?? []) {
      if (item.kind === 'FnDecl') functions.set(item.name.name, item);
    }
  }
  return { functions, program };
}
