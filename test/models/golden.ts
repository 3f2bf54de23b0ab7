// Helpers for the detector-block tests: open a fixture written by scripts/make-model-goldens.py
// (weights under a prefix, inputs `in.*`, expected outputs `out.*`, block configuration as JSON
// metadata), turn its tensors into Tensor-front-end values, and compare a computed tensor to an
// expected one with the 1e-4 tolerance the issue asks for.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TensorData } from '../../runtime/cpu/tensor-data.js';
import type { HostTensor } from '../../runtime/io/safetensors.js';
import { parseSafetensors } from '../../runtime/io/safetensors.js';
import type { Tensor } from '../../runtime/tensor/tensor.js';

export const MODEL_FIXTURES = fileURLToPath(new URL('../fixtures/models/', import.meta.url));

export interface ModelFixture {
  readonly file: string;
  readonly tensors: ReadonlyMap<string, HostTensor>;
  readonly config: Record<string, unknown>;
  get(name: string): HostTensor;
  data(name: string): TensorData;
}

export function loadModelFixture(name: string): ModelFixture {
  const file = `${MODEL_FIXTURES}${name}`;
  const contents = parseSafetensors(readFileSync(file), file);
  const tensors = new Map([...contents.tensors].map(([k, v]) => [k, v.tensor]));
  const get = (key: string): HostTensor => {
    const t = tensors.get(key);
    if (t === undefined) throw new Error(`${name}: no tensor "${key}"`);
    return t;
  };
  return {
    file,
    tensors,
    config: JSON.parse(contents.metadata.config ?? '{}') as Record<string, unknown>,
    get,
    data: (key) => {
      const t = get(key);
      return { shape: t.shape, dtype: t.kind === 'float' ? 'f32' : 'i32', data: t.data };
    },
  };
}

/** Max |a − e| / max(1, |e|) over all elements, after checking shapes agree. */
export async function maxRelativeError(actual: Tensor, expected: HostTensor): Promise<number> {
  const got = await actual.data();
  if (got.shape.join(',') !== expected.shape.join(',')) {
    throw new Error(`shape [${got.shape.join(', ')}], expected [${expected.shape.join(', ')}]`);
  }
  let worst = 0;
  for (let i = 0; i < expected.data.length; i++) {
    const e = expected.data[i];
    const err = Math.abs(got.data[i] - e) / Math.max(1, Math.abs(e));
    if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
  }
  return worst;
}
