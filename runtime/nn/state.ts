// Loading and saving a module tree's parameters by name: PyTorch-style `load_state_dict` (strict or
// not, under a prefix such as mmdet's `backbone.`) from tensors read by runtime/io/safetensors.ts,
// and the state dict to write back. The weights end of the flow for runtime/nn and runtime/models.
import type { HostTensor, TensorToSave } from '../io/safetensors.js';
import { ParameterLoadError } from './errors.js';
import type { Module } from './module.js';

export interface LoadOptions {
  /** Names the source in errors (a file path). */
  readonly file: string;
  /** Checkpoint names are `prefix + registry name` (e.g. `backbone.`); other keys are outside. */
  readonly prefix?: string;
  /** Missing or unexpected names are an error (torch `strict=True`); shapes are always checked. */
  readonly strict?: boolean;
}

export interface LoadReport {
  readonly loaded: readonly string[];
  /** Registry names the checkpoint lacks (those parameters keep their values). */
  readonly missing: readonly string[];
  /** Checkpoint names under the prefix that the registry lacks (prefix stripped). */
  readonly unexpected: readonly string[];
  /** Checkpoint names outside the prefix. */
  readonly outside: readonly string[];
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function listed(what: string, names: readonly string[]): string {
  const shown = names.slice(0, 6).map((n) => `"${n}"`);
  return `${what} ${shown.join(', ')}${names.length > 6 ? ` and ${names.length - 6} more` : ''}`;
}

/** Copies the checkpoint's tensors into `root`'s parameters by name. */
export function loadState(
  root: Module,
  tensors: ReadonlyMap<string, HostTensor>,
  options: LoadOptions,
): LoadReport {
  const prefix = options.prefix ?? '';
  const registry = root.state();
  const known = new Set(registry.map((p) => p.name));
  const outside: string[] = [];
  const unexpected: string[] = [];
  for (const key of tensors.keys()) {
    if (!key.startsWith(prefix)) outside.push(key);
    else if (!known.has(key.slice(prefix.length))) unexpected.push(key.slice(prefix.length));
  }
  const problems: string[] = [];
  const missing: string[] = [];
  const loads: (() => void)[] = [];
  const loaded: string[] = [];
  for (const { name, parameter } of registry) {
    const t = tensors.get(prefix + name);
    if (t === undefined) {
      missing.push(name);
      continue;
    }
    if (!sameShape(t.shape, parameter.shape)) {
      problems.push(
        `"${prefix + name}" has shape [${t.shape.join(', ')}], the model expects [${parameter.shape.join(', ')}]`,
      );
      continue;
    }
    if (t.kind === 'int' && parameter.dtype === 'float') {
      problems.push(`"${prefix + name}" holds integers, the model expects floating point`);
      continue;
    }
    loads.push(() => {
      parameter.value = Float32Array.from(t.data);
    });
    loaded.push(name);
  }
  // BN batch counters are bookkeeping only; checkpoints often omit them.
  const missingRequired = missing.filter((n) => !n.endsWith('num_batches_tracked'));
  if (options.strict === true) {
    if (missingRequired.length > 0) problems.push(listed('missing', missingRequired));
    if (unexpected.length > 0) problems.push(listed('unexpected', unexpected));
  }
  if (problems.length > 0) {
    throw new ParameterLoadError(
      `${options.file}: weights do not fit the model: ${problems.join('; ')}`,
      {
        hint: 'check the depth, widths and levels of the blocks match the checkpoint, and the name prefix',
      },
    );
  }
  // Nothing is written unless every tensor fits, so a failed load leaves the model unchanged.
  for (const load of loads) load();
  return { loaded, missing, unexpected, outside };
}

/** The state dict of `root` for runtime/io `saveSafetensors` (int buffers as I64, like PyTorch). */
export function stateTensors(root: Module, prefix = ''): Map<string, TensorToSave> {
  const out = new Map<string, TensorToSave>();
  for (const { name, parameter } of root.state()) {
    const value = parameter.value;
    if (value === undefined) {
      throw new ParameterLoadError(`cannot save "${prefix + name}": it has no value yet`);
    }
    out.set(
      prefix + name,
      parameter.dtype === 'int'
        ? {
            tensor: { kind: 'int', shape: parameter.shape, data: Int32Array.from(value) },
            dtype: 'I64',
          }
        : { tensor: { kind: 'float', shape: parameter.shape, data: Float32Array.from(value) } },
    );
  }
  return out;
}
