// The module graph of a check: the entry `.align` files plus everything they `use` (other files
// and the std library under pipelines/std/), parsed once each, ordered dependencies-first, with
// missing files and import cycles reported at the `use` that causes them. First step of
// compiler/check, right after grammar/parse.

import { readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { Module, UseDecl } from '../../grammar/ast.js';
import { parseSource } from '../../grammar/parse.js';
import { FileError } from '../../runtime/errors.js';
import { packageRoot } from '../../runtime/package-root.js';
import type { Diagnostic } from '../diagnostics.js';

export interface LoadedModule {
  /** Absolute path: the module's identity. */
  readonly path: string;
  /** The name diagnostics use: relative to the working directory when inside it. */
  readonly file: string;
  readonly text: string;
  readonly ast: Module | undefined;
  readonly isStd: boolean;
  /** Each `use` and the absolute path it resolved to (undefined when it did not resolve). */
  readonly imports: { readonly use: UseDecl; target: string | undefined }[];
}

export interface ModuleGraph {
  readonly modules: ReadonlyMap<string, LoadedModule>;
  /** Absolute paths, every module after the modules it uses. */
  readonly order: readonly string[];
  readonly entries: readonly string[];
  readonly diagnostics: Diagnostic[];
}

/** Reads a file's text; tests substitute an in-memory one. */
export type ReadFile = (absolutePath: string) => string | undefined;

export const readFromDisk: ReadFile = (p) => {
  try {
    return statSync(p).isFile() ? readFileSync(p, 'utf8') : undefined;
  } catch {
    return undefined;
  }
};

/** pipelines/std of this alignc installation (source tree or dist/). */
export function stdRoot(): string {
  return join(packageRoot(), 'pipelines', 'std');
}

/**
 * Parses are cached by file and text: the std library and other unchanged imports are parsed once
 * per process however many checks run (the CLI checks once; tests and the fuzzer check thousands).
 * ASTs are immutable, so sharing them between checks is safe.
 */
const parseCache = new Map<string, { text: string; result: ReturnType<typeof parseSource> }>();
const PARSE_CACHE_SIZE = 64;

function parseCached(text: string, file: string): ReturnType<typeof parseSource> {
  const hit = parseCache.get(file);
  if (hit && hit.text === text) return hit.result;
  const result = parseSource(text, file);
  if (parseCache.size >= PARSE_CACHE_SIZE) parseCache.delete(parseCache.keys().next().value ?? '');
  parseCache.set(file, { text, result });
  return result;
}

export function displayName(absolutePath: string): string {
  const rel = relative(process.cwd(), absolutePath);
  return rel.startsWith('..') || rel === '' ? absolutePath : rel;
}

function resolveUse(use: UseDecl, fromPath: string, std: string): string {
  if (use.source.kind === 'file') return resolve(dirname(fromPath), use.source.path);
  const [first, ...rest] = use.source.segments;
  if (first === 'std') return join(std, ...rest) + '.align';
  return resolve(dirname(fromPath), ...use.source.segments) + '.align';
}

function useText(use: UseDecl): string {
  return use.source.kind === 'file' ? use.source.raw : use.source.segments.join('.');
}

export function loadModuleGraph(
  entryPaths: readonly string[],
  read: ReadFile = readFromDisk,
): ModuleGraph {
  const std = stdRoot();
  const modules = new Map<string, LoadedModule>();
  const order: string[] = [];
  const diagnostics: Diagnostic[] = [];
  const onStack: string[] = [];
  const done = new Set<string>();

  const load = (path: string, text: string): LoadedModule => {
    const file = displayName(path);
    const parsed = parseCached(text, file);
    diagnostics.push(...parsed.diagnostics);
    const imports = (parsed.module?.items ?? [])
      .filter((i): i is UseDecl => i.kind === 'Use')
      .map((use) => ({ use, target: resolveUse(use, path, std) as string | undefined }));
    const isStd = path.startsWith(std + '/');
    const m: LoadedModule = { path, file, text, ast: parsed.module, isStd, imports };
    modules.set(path, m);
    return m;
  };

  const visit = (m: LoadedModule): void => {
    onStack.push(m.path);
    for (const imp of m.imports) {
      const target = imp.target;
      if (target === undefined) continue;
      if (onStack.includes(target)) {
        const chain = [...onStack.slice(onStack.indexOf(target)), target].map(displayName);
        diagnostics.push({
          code: 'E_IMPORT_CYCLE',
          message: `import cycle: ${chain.join(' → ')}`,
          span: imp.use.sourceSpan,
          hint: 'move what both files need into a third file that neither imports back',
        });
        imp.target = undefined;
        continue;
      }
      if (done.has(target)) continue;
      let dep = modules.get(target);
      if (!dep) {
        const text = read(target);
        if (text === undefined) {
          diagnostics.push({
            code: 'E_IMPORT_NOT_FOUND',
            message: `cannot find \`${useText(imp.use)}\` (looked for ${displayName(target)})`,
            span: imp.use.sourceSpan,
            hint:
              imp.use.source.kind === 'std'
                ? `std modules: ${['tensor', 'boxes', 'losses', 'costs'].map((s) => `std.${s}`).join(', ')}`
                : 'paths are relative to the importing file',
          });
          imp.target = undefined;
          continue;
        }
        dep = load(target, text);
      }
      visit(dep);
    }
    onStack.pop();
    done.add(m.path);
    order.push(m.path);
  };

  const entries: string[] = [];
  for (const entry of entryPaths) {
    const path = resolve(entry);
    entries.push(path);
    if (done.has(path)) continue;
    const text = read(path);
    if (text === undefined) throw new FileError(`cannot read ${entry}`, { hint: 'check the path' });
    visit(modules.get(path) ?? load(path, text));
  }
  return { modules, order, entries, diagnostics };
}
