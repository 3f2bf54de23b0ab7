// The entry point of compiler/check: `.align` files (and everything they `use`) → a checked
// program, i.e. the ASTs plus the type of every expression and the symbol of every name, or the
// list of located diagnostics. The CLI's `check` and `compile` and (later) compiler/lower start here.

import type { Expr, NameRef } from '../../grammar/ast.js';
import {
  compareDiagnostics,
  DiagnosticsError,
  type Diagnostic,
  type SourceLookup,
} from '../diagnostics.js';
import { checkModule } from './check-module.js';
import { loadModuleGraph, readFromDisk, type LoadedModule, type ReadFile } from './modules.js';
import type { Symbol } from './scope.js';
import { CheckState } from './state.js';
import type { AlignType } from './types.js';

export interface CheckedProgram {
  /** Every module, dependencies first; entries are the files named on the command line. */
  readonly modules: readonly LoadedModule[];
  readonly entries: readonly LoadedModule[];
  readonly types: ReadonlyMap<Expr, AlignType>;
  readonly symbols: ReadonlyMap<NameRef, Symbol>;
  readonly diagnostics: readonly Diagnostic[];
  /** The text of any module by its display name, for rendering diagnostics. */
  readonly sources: SourceLookup;
}

export function checkFiles(
  paths: readonly string[],
  read: ReadFile = readFromDisk,
): CheckedProgram {
  const graph = loadModuleGraph(paths, read);
  const state = new CheckState();
  state.diagnostics.push(...graph.diagnostics);
  const modules = graph.order
    .map((p) => graph.modules.get(p))
    .filter((m): m is LoadedModule => m !== undefined);
  for (const m of modules) checkModule(m, state);
  const byName = new Map(modules.map((m) => [m.file, m.text]));
  return {
    modules,
    entries: graph.entries
      .map((p) => graph.modules.get(p))
      .filter((m): m is LoadedModule => m !== undefined),
    types: state.types,
    symbols: state.symbols,
    diagnostics: [...state.diagnostics].sort(compareDiagnostics),
    sources: (file) => byName.get(file),
  };
}

/** Checks and throws a DiagnosticsError (an AlignError) when anything is wrong. */
export function checkFilesOrThrow(
  paths: readonly string[],
  read: ReadFile = readFromDisk,
): CheckedProgram {
  const program = checkFiles(paths, read);
  if (program.diagnostics.length > 0)
    throw new DiagnosticsError(program.diagnostics, program.sources);
  return program;
}
