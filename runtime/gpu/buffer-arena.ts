// The memory of one captured step (runtime/webgpu/captured-graph.ts): while a step is captured the
// buffer pool hands out buffers from an arena instead of its shared free lists. The executor
// releases an intermediate after its last use, so the arena's own free lists reuse a buffer as soon
// as its lifetime ends — memory planned from buffer lifetimes, once. After capture the assignment
// is fixed: every replay writes the same buffers, and nothing else can be handed them, so a
// replayed step does no pool work at all. Uniform parameter blocks are owned too (the pool's
// content cache may evict and destroy one that a recorded bind group still names).
// Flow: runtime/webgpu captured graph → buffer pool (redirected) → **arena** → GPUBuffers.

import { sizeClass } from './buffer-pool.js';

export interface ArenaStats {
  /** Bytes the arena holds (every buffer it made). */
  readonly bytes: number;
  /** Bytes the same acquisitions would take without lifetime reuse. */
  readonly unplannedBytes: number;
  readonly buffers: number;
}

/** What an arena needs from the pool: buffer creation with the pool's size checks and usage. */
export interface ArenaAllocator {
  create(byteSize: number, label: string): GPUBuffer;
  createUniform(data: ArrayBufferView): GPUBuffer;
  /** Called before destroying buffers that encoded work may still name (submits it). */
  beforeDestroy(): void;
}

export class BufferArena {
  readonly #allocator: ArenaAllocator;
  readonly #free = new Map<number, GPUBuffer[]>();
  readonly #owned = new Set<GPUBuffer>();
  /** Buffers written once at capture (uploaded constants): never reused for anything else. */
  readonly #pinned = new Set<GPUBuffer>();
  readonly #uniforms = new Map<string, GPUBuffer>();
  #bytes = 0;
  #unplannedBytes = 0;

  constructor(allocator: ArenaAllocator) {
    this.#allocator = allocator;
  }

  owns(buffer: GPUBuffer): boolean {
    return this.#owned.has(buffer);
  }

  /**
   * A buffer for `byteSize` bytes, reusing one whose lifetime ended. `pinned`: its contents must
   * survive to the next replay (an upload done only at capture), so it is never handed out again.
   */
  acquire(byteSize: number, label: string, pinned = false): GPUBuffer {
    const size = sizeClass(byteSize);
    this.#unplannedBytes += size;
    const reused = pinned ? undefined : this.#free.get(size)?.pop();
    if (reused) return reused;
    const buffer = this.#allocator.create(size, label);
    this.#owned.add(buffer);
    if (pinned) this.#pinned.add(buffer);
    this.#bytes += buffer.size;
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    if (this.#pinned.has(buffer)) return;
    const list = this.#free.get(buffer.size) ?? [];
    if (list.includes(buffer)) throw new Error(`arena buffer '${buffer.label}' released twice`);
    list.push(buffer);
    this.#free.set(buffer.size, list);
  }

  uniform(data: ArrayBufferView): GPUBuffer {
    const key = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
    let buffer = this.#uniforms.get(key);
    if (!buffer) {
      buffer = this.#allocator.createUniform(data);
      this.#uniforms.set(key, buffer);
    }
    return buffer;
  }

  stats(): ArenaStats {
    return { bytes: this.#bytes, unplannedBytes: this.#unplannedBytes, buffers: this.#owned.size };
  }

  /** Destroys everything the arena made (after submitting work that may name it). */
  destroy(): void {
    this.#allocator.beforeDestroy();
    for (const buffer of this.#owned) buffer.destroy();
    for (const buffer of this.#uniforms.values()) buffer.destroy();
    this.#owned.clear();
    this.#pinned.clear();
    this.#uniforms.clear();
    this.#free.clear();
  }
}
