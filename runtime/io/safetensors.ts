// safetensors checkpoints (https://github.com/huggingface/safetensors, format only): load a file's
// tensors into host arrays and save host arrays as a file PyTorch, mmdetection and the `safetensors`
// library read. The I/O end of the flow: a user's ImageNet ResNet comes in here, a pre-trained
// alignc detector goes out here.
//
// Layout: 8-byte little-endian header length N, N bytes of JSON
//   {"__metadata__": {string: string}, "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}}
// then the data buffer; offsets are relative to its start. The header is validated before any data
// is read: dtype known, shape of non-negative integers, byte size = elements × dtype size, and the
// tensors, ordered by offset, tile the buffer exactly (no gap, no overlap, nothing past the end).
// Floating types (F64, F32, F16, BF16) load as float32, integer types as int32 (range-checked).

import { rename, readFile, unlink, writeFile } from 'node:fs/promises';
import { AlignError, FileError } from '../errors.js';

export class SafetensorsError extends AlignError {
  readonly code = 'E_SAFETENSORS';
}

/** Every dtype the format defines, with its size in bytes. */
const DTYPE_BYTES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
} as const;

export type SafetensorsDtype = keyof typeof DTYPE_BYTES;
/** The dtypes `saveSafetensors` writes. */
export type SavedDtype = 'F32' | 'I32' | 'I64';

/** A tensor in host memory: float types as float32, integer types as int32, row-major. */
export type HostTensor =
  | { readonly kind: 'float'; readonly shape: readonly number[]; readonly data: Float32Array }
  | { readonly kind: 'int'; readonly shape: readonly number[]; readonly data: Int32Array };

export interface LoadedTensor {
  /** The dtype stored in the file. */
  readonly storedDtype: SafetensorsDtype;
  readonly tensor: HostTensor;
}

export interface SafetensorsContents {
  /** Tensors by name, in header order. */
  readonly tensors: ReadonlyMap<string, LoadedTensor>;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface HeaderEntry {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Byte range [begin, end) within the data buffer. */
  readonly begin: number;
  readonly end: number;
}

export interface ParsedHeader {
  readonly entries: readonly HeaderEntry[];
  readonly metadata: Readonly<Record<string, string>>;
  /** Where the data buffer starts in the file. */
  readonly dataStart: number;
}

/** The reference implementation's limit; a larger header is a corrupt or hostile file. */
const MAX_HEADER_BYTES = 100_000_000;

function fail(file: string, what: string, hint?: string): never {
  throw new SafetensorsError(`${file}: ${what}`, {
    hint:
      hint ??
      'the file is not a valid safetensors file; re-export it (e.g. safetensors.torch.save_file)',
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isDtype(v: unknown): v is SafetensorsDtype {
  return typeof v === 'string' && Object.hasOwn(DTYPE_BYTES, v);
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Parses and validates the header of a safetensors file held in `bytes`. */
export function parseSafetensorsHeader(bytes: Uint8Array, file: string): ParsedHeader {
  if (bytes.length < 8) fail(file, `${bytes.length} bytes is too short for a safetensors header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8))) {
    fail(
      file,
      `header length ${headerLength} exceeds the file (${bytes.length} bytes) or the 100 MB limit`,
    );
  }
  const n = Number(headerLength);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail(file, 'header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail(file, 'header does not start with "{"');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(file, `header is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isRecord(json)) fail(file, 'header is not a JSON object');
  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isRecord(value)) fail(file, '__metadata__ is not an object of strings');
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') fail(file, `__metadata__ value of "${k}" is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const where = `tensor "${name}"`;
    if (!isRecord(value)) fail(file, `${where}: entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = value;
    if (!isDtype(dtype)) fail(file, `${where}: unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(file, `${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      offsets[0] > offsets[1]
    ) {
      fail(
        file,
        `${where}: data_offsets ${JSON.stringify(offsets)} is not [begin, end] with begin ≤ end`,
      );
    }
    const dims = shape as number[];
    const [begin, end] = offsets as [number, number];
    const expected = elementCount(dims) * DTYPE_BYTES[dtype];
    if (end - begin !== expected) {
      fail(
        file,
        `${where}: ${end - begin} bytes stored but ${dtype} ${JSON.stringify(dims)} needs ${expected}`,
      );
    }
    entries.push({ name, dtype, shape: dims, begin, end });
  }
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of byOffset) {
    if (e.begin !== cursor) {
      fail(
        file,
        `tensor "${e.name}": data starts at byte ${e.begin} but the previous tensor ends at ${cursor} (${e.begin > cursor ? 'gap' : 'overlap'})`,
      );
    }
    cursor = e.end;
  }
  if (cursor !== dataLength) {
    fail(
      file,
      `tensors cover ${cursor} bytes of data but the file holds ${dataLength} after the header${cursor > dataLength ? ' (truncated file?)' : ''}`,
    );
  }
  return { entries, metadata, dataStart };
}

function decodeHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** bfloat16 is the top half of a float32: widen through this 4-byte scratch. */
const BF16_SCRATCH = new DataView(new ArrayBuffer(4));

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function toInt32(value: number | bigint, file: string, name: string): number {
  if (value < -2147483648 || value > 2147483647) {
    fail(
      file,
      `tensor "${name}": integer ${value} does not fit in int32`,
      'alignc holds integer tensors as int32; store this tensor as float or with smaller values',
    );
  }
  return Number(value);
}

function readTensor(bytes: Uint8Array, start: number, e: HeaderEntry, file: string): HostTensor {
  const count = elementCount(e.shape);
  const view = new DataView(bytes.buffer, bytes.byteOffset + start + e.begin, e.end - e.begin);
  const shape = e.shape;
  const float = (get: (i: number) => number): HostTensor => {
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = get(i);
    return { kind: 'float', shape, data };
  };
  const int = (get: (i: number) => number | bigint): HostTensor => {
    const data = new Int32Array(count);
    for (let i = 0; i < count; i++) data[i] = toInt32(get(i), file, e.name);
    return { kind: 'int', shape, data };
  };
  switch (e.dtype) {
    case 'F32':
      if (LITTLE_ENDIAN_HOST) {
        const copy = new Uint8Array(e.end - e.begin);
        copy.set(bytes.subarray(start + e.begin, start + e.end));
        return { kind: 'float', shape, data: new Float32Array(copy.buffer) };
      }
      return float((i) => view.getFloat32(4 * i, true));
    case 'F64':
      return float((i) => view.getFloat64(8 * i, true));
    case 'F16':
      return float((i) => decodeHalf(view.getUint16(2 * i, true)));
    case 'BF16':
      return float((i) => {
        BF16_SCRATCH.setUint32(0, view.getUint16(2 * i, true) << 16);
        return BF16_SCRATCH.getFloat32(0);
      });
    case 'I64':
      return int((i) => view.getBigInt64(8 * i, true));
    case 'I32':
      return int((i) => view.getInt32(4 * i, true));
    case 'I16':
      return int((i) => view.getInt16(2 * i, true));
    case 'I8':
      return int((i) => view.getInt8(i));
    case 'U64':
      return int((i) => view.getBigUint64(8 * i, true));
    case 'U32':
      return int((i) => view.getUint32(4 * i, true));
    case 'U16':
      return int((i) => view.getUint16(2 * i, true));
    case 'U8':
    case 'BOOL':
      return int((i) => view.getUint8(i));
    case 'F8_E4M3':
    case 'F8_E5M2':
      return fail(
        file,
        `tensor "${e.name}": dtype ${e.dtype} is not supported`,
        'convert the checkpoint to F32, F16 or BF16 first',
      );
    default:
      return e.dtype satisfies never;
  }
}

/** Parses a whole safetensors file held in memory; `file` names it in errors. */
export function parseSafetensors(bytes: Uint8Array, file: string): SafetensorsContents {
  const header = parseSafetensorsHeader(bytes, file);
  const tensors = new Map<string, LoadedTensor>();
  for (const e of header.entries) {
    tensors.set(e.name, {
      storedDtype: e.dtype,
      tensor: readTensor(bytes, header.dataStart, e, file),
    });
  }
  return { tensors, metadata: header.metadata };
}

/** Reads and parses a safetensors file. */
export async function loadSafetensors(path: string): Promise<SafetensorsContents> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new FileError(`cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
  return parseSafetensors(bytes, path);
}

export interface TensorToSave {
  readonly tensor: HostTensor;
  /** Defaults to F32 for float tensors and I32 for int tensors; I64 widens ints (PyTorch buffers). */
  readonly dtype?: SavedDtype;
}

function savedDtype(name: string, t: TensorToSave): SavedDtype {
  const dtype = t.dtype ?? (t.tensor.kind === 'float' ? 'F32' : 'I32');
  if ((dtype === 'F32') !== (t.tensor.kind === 'float')) {
    throw new SafetensorsError(
      `tensor "${name}": cannot save a ${t.tensor.kind} tensor as ${dtype}`,
    );
  }
  return dtype;
}

/** The bytes of a safetensors file holding `tensors` (written in name order) and `metadata`. */
export function serializeSafetensors(
  tensors: ReadonlyMap<string, TensorToSave>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    if (name === '' || name === '__metadata__') {
      throw new SafetensorsError(`tensor name ${JSON.stringify(name)} is not allowed`);
    }
    const { shape, data } = t.tensor;
    if (
      !shape.every((d) => Number.isSafeInteger(d) && d >= 0) ||
      elementCount(shape) !== data.length
    ) {
      throw new SafetensorsError(
        `tensor "${name}": shape ${JSON.stringify(shape)} does not match its ${data.length} values`,
      );
    }
    const dtype = savedDtype(name, t);
    const size = data.length * DTYPE_BYTES[dtype];
    header[name] = { dtype, shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors.get(name)!;
    const dtype = savedDtype(name, t);
    const data = t.tensor.data;
    for (let i = 0; i < data.length; i++) {
      switch (dtype) {
        case 'F32':
          view.setFloat32(at, data[i], true);
          at += 4;
          break;
        case 'I32':
          view.setInt32(at, data[i], true);
          at += 4;
          break;
        case 'I64':
          view.setBigInt64(at, BigInt(data[i]), true);
          at += 8;
          break;
        default:
          return dtype satisfies never;
      }
    }
  }
  return out;
}

/** Writes a safetensors file atomically (a temporary file renamed over `path`). */
export async function saveSafetensors(
  path: string,
  tensors: ReadonlyMap<string, TensorToSave>,
  metadata: Readonly<Record<string, string>> = {},
): Promise<void> {
  const bytes = serializeSafetensors(tensors, metadata);
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw new FileError(`cannot write ${path}: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
}
