// safetensors load/save against a file written byte by byte by scripts/make-detect-goldens.py
// (values converted by torch), round trips, and every header validation error.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileError } from '../../runtime/errors.js';
import {
  loadSafetensors,
  parseSafetensors,
  SafetensorsError,
  saveSafetensors,
  serializeSafetensors,
  type TensorToSave,
} from '../../runtime/io/safetensors.js';
import { expectExact, FIXTURES, loadGolden } from '../detect/golden.js';

interface MixedGolden {
  metadata: Record<string, string>;
  tensors: Record<string, { dtype: string; shape: number[]; values: (number | string)[] }>;
}

const golden = loadGolden<MixedGolden>('io-mixed.json');
const dir = mkdtempSync(join(tmpdir(), 'alignc-safetensors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file made of a header object and a data buffer, for the corruption tests. */
function fileWith(header: unknown, data: Uint8Array, lengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const value = (v: number | string): number =>
  v === 'inf' ? Infinity : v === '-inf' ? -Infinity : Number(v);

describe('safetensors', () => {
  it('loads F32, F16, BF16, F64, I64, I32, scalar and empty tensors written by Python', async () => {
    const file = await loadSafetensors(join(FIXTURES, 'io-mixed.safetensors'));
    expect(file.metadata).toEqual(golden.metadata);
    expect([...file.tensors.keys()]).toEqual(Object.keys(golden.tensors));
    for (const [name, want] of Object.entries(golden.tensors)) {
      const got = file.tensors.get(name)!;
      expect(got.storedDtype, name).toBe(want.dtype);
      expect(got.tensor.shape, name).toEqual(want.shape);
      expect(got.tensor.kind, name).toBe(want.dtype.startsWith('I') ? 'int' : 'float');
      expectExact(got.tensor.data, want.values.map(value), name);
    }
  });

  it('round-trips through save and load, with I64 widening and metadata', async () => {
    const tensors = new Map<string, TensorToSave>([
      [
        'b.weight',
        { tensor: { kind: 'float', shape: [2, 2], data: Float32Array.from([1, -2.5, 3e-8, 4]) } },
      ],
      [
        'a.count',
        { tensor: { kind: 'int', shape: [], data: Int32Array.from([-7]) }, dtype: 'I64' },
      ],
      ['c.ids', { tensor: { kind: 'int', shape: [3], data: Int32Array.from([1, 2, 3]) } }],
      ['d.empty', { tensor: { kind: 'float', shape: [0, 4], data: new Float32Array(0) } }],
    ]);
    const path = join(dir, 'round.safetensors');
    await saveSafetensors(path, tensors, { producer: 'alignc' });
    const bytes = readFileSync(path);
    const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    const back = await loadSafetensors(path);
    expect(back.metadata).toEqual({ producer: 'alignc' });
    expect(back.tensors.get('a.count')!.storedDtype).toBe('I64');
    for (const [name, t] of tensors) {
      expect(back.tensors.get(name)!.tensor.shape).toEqual(t.tensor.shape);
      expectExact(back.tensors.get(name)!.tensor.data, Array.from(t.tensor.data), name);
    }
  });

  const data8 = new Uint8Array(8);
  const ok = { x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const cases: [string, Uint8Array, RegExp][] = [
    ['too short', new Uint8Array(4), /too short/],
    ['header past the end', fileWith(ok, data8, 10_000n), /exceeds the file/],
    ['not JSON', fileWith(ok, data8).map((b, i) => (i === 9 ? 0x7d : b)), /not valid JSON/],
    ['not an object', fileWith([1, 2], data8), /does not start with/],
    [
      'unknown dtype',
      fileWith({ x: { dtype: 'F12', shape: [2], data_offsets: [0, 8] } }, data8),
      /tensor "x": unknown dtype/,
    ],
    [
      'bad shape',
      fileWith({ x: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, data8),
      /tensor "x": shape/,
    ],
    [
      'size mismatch',
      fileWith({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, data8),
      /needs 12/,
    ],
    [
      'reversed offsets',
      fileWith({ x: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, data8),
      /begin ≤ end/,
    ],
    [
      'gap',
      fileWith({ x: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, data8),
      /tensor "x": data starts at byte 4 .*gap/,
    ],
    [
      'overlap',
      fileWith(
        {
          x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          y: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
        },
        data8,
      ),
      /overlap/,
    ],
    ['truncated data', fileWith(ok, new Uint8Array(6)), /truncated/],
    ['trailing bytes', fileWith(ok, new Uint8Array(12)), /cover 8 bytes .* holds 12/],
    [
      'bad metadata',
      fileWith({ __metadata__: { a: 1 }, ...ok }, data8),
      /__metadata__ value of "a"/,
    ],
    [
      'int64 out of int32 range',
      fileWith(
        { x: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } },
        new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0]),
      ),
      /tensor "x": integer 4294967296 does not fit in int32/,
    ],
  ];
  for (const [name, bytes, message] of cases) {
    it(`rejects a file with ${name}, naming the file`, () => {
      expect(() => parseSafetensors(bytes, 'bad.safetensors')).toThrow(SafetensorsError);
      expect(() => parseSafetensors(bytes, 'bad.safetensors')).toThrow(/^bad\.safetensors: /);
      expect(() => parseSafetensors(bytes, 'bad.safetensors')).toThrow(message);
    });
  }

  it('reports unreadable files and inconsistent tensors to save', async () => {
    await expect(loadSafetensors(join(dir, 'missing.safetensors'))).rejects.toThrow(FileError);
    const bad = new Map<string, TensorToSave>([
      ['x', { tensor: { kind: 'float', shape: [3], data: new Float32Array(2) } }],
    ]);
    expect(() => serializeSafetensors(bad)).toThrow(
      /tensor "x": shape \[3\] does not match its 2 values/,
    );
    const wrongType = new Map<string, TensorToSave>([
      ['x', { tensor: { kind: 'float', shape: [1], data: new Float32Array(1) }, dtype: 'I64' }],
    ]);
    expect(() => serializeSafetensors(wrongType)).toThrow(SafetensorsError);
  });
});
