// Collects the tensor functions visible from a `.align` file: its own `fn`s plus those of every
// file it `use`s (std modules from pipelines/std/, relative files), transitively. Used by the
// function-level commands (`alignc grad`, `alignc check-grad`) and by lowering, which inlines calls.
// Parse errors in any file come back as one DiagnosticsError naming every file:line:col.

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { FnDecl, Module } from '../../grammar/ast.js';
import { parseSource } from '../../grammar/parse.js';
import { FileError } from '../../runtime/errors.js';
import { packageRoot } from '../../runtime/package-root.js';
import { DiagnosticsError, type Diagnostic } from '../diagnostics.js';

export interface FunctionTable {
  readonly functions: ReadonlyMap<string, FnDecl>;
  /** Every file read, for rendering diagnostics with excerpts. */
  readonly sources: ReadonlyMap<string, string>;
}

export function stdModulePath(segments: readonly string[]): string {
  const rest = segments[0] === 'std' ? segments.slice(1) : segments;
  return join(packageRoot(), 'pipelines', 'std', ...rest) + '.align';
}

export function collectFunctions(entry: string): FunctionTable {
  const sources = new Map<string, string>();
  const functions = new Map<string, FnDecl>();
  const diagnostics: Diagnostic[] = [];
  const visited = new Set<string>();
  const lookup = (file: string) => sources.get(file);

  const visit = (file: string): void => {
    const path = resolve(file);
    if (visited.has(path)) return;
    visited.add(path);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new FileError(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
    }
    sources.set(file, text);
    const parsed = parseSource(text, file);
    diagnostics.push(...parsed.diagnostics);
    if (!parsed.module) return;
    collect(parsed.module, file);
  };

  const collect = (module: Module, file: string): void => {
    for (const item of module.items) {
      if (item.kind === 'Use') {
        const target =
          item.source.kind === 'std'
            ? stdModulePath(item.source.segments)
            : join(dirname(file), item.source.path);
        try {
          readFileSync(target);
        } catch {
          diagnostics.push({
            code: 'E_IMPORT_NOT_FOUND',
            message: `cannot find the module ${item.source.kind === 'std' ? item.source.segments.join('.') : item.source.path}`,
            span: item.sourceSpan,
          });
          continue;
        }
        visit(target);
      } else if (item.kind === 'FnDecl') {
        const previous = functions.get(item.name.name);
        if (previous && previous !== item) {
          diagnostics.push({
            code: 'E_DUPLICATE',
            message: `function ${item.name.name} is defined twice`,
            span: item.name.span,
            notes: [{ message: 'first defined here', span: previous.name.span }],
          });
          continue;
        }
        functions.set(item.name.name, item);
      }
    }
  };

  visit(entry);
  if (diagnostics.length > 0) throw new DiagnosticsError(diagnostics, lookup);
  return { functions, sources };
}
