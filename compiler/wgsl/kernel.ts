// What a WGSL generator hands to the runtime: one compute kernel with its source, structural cache
// key, bind layout, dispatch grid and the contents of its uniform parameter block. Sits at the end
// of the compiler (IR → compiler/fuse → **compiler/wgsl → Kernel**) and the start of the runtime
// (runtime/webgpu binds the named resources and dispatches on runtime/gpu).
//
// Generators are pure functions of a shape spec and a `KernelTarget` (what they need to know about
// the adapter), so the same spec always gives byte-identical WGSL (golden snapshots rely on it).

/** How a binding is declared in WGSL; binding i of group 0 is `bindings[i]`. */
export type BindingKind =
  'storage-read' | 'storage-read-write' | 'uniform' | 'texture' | 'storage-texture';

export interface KernelBinding {
  /** The WGSL variable name; the runtime matches resources by it. */
  readonly name: string;
  readonly kind: BindingKind;
}

export type Workgroups = readonly [number, number, number];

export interface Kernel {
  /** Structural cache key: equal keys mean byte-identical WGSL (shapes live in `params`). */
  readonly key: string;
  /** Human-readable name used in errors and debug output. */
  readonly label: string;
  readonly wgsl: string;
  readonly bindings: readonly KernelBinding[];
  readonly workgroups: Workgroups;
  /** The `params` uniform block (binding named `params`), when the kernel has one. */
  readonly params: Uint32Array | undefined;
}

/** What code generation knows about the adapter. Built from a GpuContext by runtime/webgpu. */
export interface KernelTarget {
  /** lavapipe / fallback adapter: register blocking, texture operands, no workgroup memory. */
  readonly isSoftware: boolean;
  /** The fixed subgroup width when the `subgroups` feature is on and min = max size; else undefined. */
  readonly subgroupSize: number | undefined;
  readonly maxTextureDimension2D: number;
  readonly maxComputeWorkgroupsPerDimension: number;
  readonly maxStorageBuffersPerShaderStage: number;
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
}

/** The adapter the project was measured on (lavapipe, subgroups of 8); used by golden snapshots. */
export const LAVAPIPE_TARGET: KernelTarget = {
  isSoftware: true,
  subgroupSize: 8,
  maxTextureDimension2D: 16384,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBuffersPerShaderStage: 16,
  maxComputeWorkgroupStorageSize: 32768,
  maxComputeInvocationsPerWorkgroup: 1024,
};

/**
 * A uniform block of u32 fields, declared as a WGSL struct `Params` and bound as `params`. Field
 * order is the declaration order; values are filled at dispatch time so that one compiled pipeline
 * serves every shape with the same structure.
 */
export class ParamBlock {
  readonly #names: string[] = [];
  readonly #values: number[] = [];

  set(name: string, value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new Error(`kernel parameter ${name} = ${value} is not a u32`);
    }
    const at = this.#names.indexOf(name);
    if (at >= 0) this.#values[at] = value;
    else {
      this.#names.push(name);
      this.#values.push(value);
    }
    return this;
  }

  /** Stores a signed value as its two's-complement bits; WGSL reads it with bitcast<i32>. */
  setI32(name: string, value: number): this {
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
      throw new Error(`kernel parameter ${name} = ${value} is not an i32`);
    }
    return this.set(name, value >>> 0);
  }

  /** `struct Params { a: u32, … }` plus the binding declaration. */
  declare(binding: number): string {
    const fields = this.#names.map((n) => `  ${n}: u32,`).join('\n');
    return `struct Params {\n${fields}\n}\n@group(0) @binding(${binding}) var<uniform> params: Params;\n`;
  }

  /** The block's bytes, padded to 16 bytes (uniform binding size granularity). */
  data(): Uint32Array {
    const words = Math.max(4, Math.ceil(this.#values.length / 4) * 4);
    const out = new Uint32Array(words);
    out.set(this.#values);
    return out;
  }
}

/** Splits `count` workgroups into an (x, y) grid within the per-dimension limit. */
export function foldGrid(count: number, maxPerDimension: number): Workgroups {
  if (count <= maxPerDimension) return [Math.max(count, 0), 1, 1];
  const y = Math.ceil(count / maxPerDimension);
  if (y > maxPerDimension) throw new Error(`grid of ${count} workgroups is too large to fold`);
  return [Math.ceil(count / y), y, 1];
}

export function ceilDiv(a: number, b: number): number {
  return Math.ceil(a / b);
}
