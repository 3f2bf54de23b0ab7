// The buffer pool of the GPU device layer. Creating a GPUBuffer costs far more than reusing one,
// and training replays the same sizes every step, so released buffers go back to free lists keyed
// by size class and are handed out again. Reuse is safe without fences: every WebGPU queue operation
// (writeBuffer, dispatches, copies) is ordered, so work queued after a release sees the new owner's
// writes and work queued before it saw the old contents.

import './dawn.js';
import { debugLog, DebugLevel } from '../debug.js';
import { BufferArena } from './buffer-arena.js';
import { GpuOutOfMemoryError } from './errors.js';

const STORAGE_USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const UNIFORM_USAGE = GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST;
const MAX_CACHED_UNIFORMS = 4096;

/**
 * Size classes: multiples of 256 B up to 4 KiB, then 4 steps per power of two (at most 25 % waste),
 * so the same tensor sizes land in the same class every step.
 */
export function sizeClass(byteSize: number): number {
  const size = Math.max(4, Math.ceil(byteSize));
  if (size <= 4096) return Math.ceil(size / 256) * 256;
  const power = 2 ** Math.floor(Math.log2(size));
  const step = power / 4;
  return Math.ceil(size / step) * step;
}

export interface BufferPoolStats {
  /** Buffers created over the pool's life. */
  readonly created: number;
  /** acquire() calls served from a free list. */
  readonly reused: number;
  readonly liveBytes: number;
  readonly freeBytes: number;
}

export class BufferPool {
  readonly #device: GPUDevice;
  readonly #maxBufferSize: number;
  readonly #free = new Map<number, GPUBuffer[]>();
  readonly #owned = new Set<GPUBuffer>();
  readonly #uniforms = new Map<string, GPUBuffer>();
  readonly #readback = new Map<number, GPUBuffer[]>();
  #beforeQueueWrite: () => void = () => {};
  /** While set (a step being captured), acquire/upload/uniform are served by this arena. */
  #arena: BufferArena | undefined;
  readonly #arenas = new Set<BufferArena>();
  #created = 0;
  #reused = 0;
  #liveBytes = 0;
  #freeBytes = 0;

  constructor(device: GPUDevice, maxBufferSize: number) {
    this.#device = device;
    this.#maxBufferSize = maxBufferSize;
  }

  /**
   * Called before any queue-level write or destroy. queue.writeBuffer runs at once on the queue,
   * ahead of dispatches that are encoded but not yet submitted, so the command batcher must submit
   * them first: a pooled buffer may be read by such a dispatch before its new owner's upload.
   */
  setBeforeQueueWrite(hook: () => void): void {
    this.#beforeQueueWrite = hook;
  }

  /** A STORAGE | COPY_SRC | COPY_DST buffer of at least `byteSize` bytes. Contents are undefined. */
  acquire(byteSize: number, label = 'tensor'): GPUBuffer {
    if (this.#arena) return this.#arena.acquire(byteSize, label);
    const size = sizeClass(byteSize);
    if (size > this.#maxBufferSize) {
      throw new GpuOutOfMemoryError(
        `buffer '${label}' needs ${byteSize} bytes; this adapter allows at most ${this.#maxBufferSize}`,
        { hint: 'use a smaller batch size or image size' },
      );
    }
    const list = this.#free.get(size);
    const reused = list?.pop();
    if (reused) {
      this.#reused++;
      this.#freeBytes -= size;
      this.#liveBytes += size;
      reused.label = label;
      return reused;
    }
    const buffer = this.#device.createBuffer({ size, usage: STORAGE_USAGE, label });
    this.#owned.add(buffer);
    this.#created++;
    this.#liveBytes += size;
    debugLog(DebugLevel.kernels, 'pool', () => `create ${label} ${size} B`);
    return buffer;
  }

  /** Returns a buffer from acquire()/upload() to the pool. Releasing twice is a bug and throws. */
  release(buffer: GPUBuffer): void {
    if (this.#arena?.owns(buffer)) {
      this.#arena.release(buffer);
      return;
    }
    if (!this.#owned.has(buffer))
      throw new Error(`buffer '${buffer.label}' is not owned by this pool`);
    const size = buffer.size;
    const list = this.#free.get(size) ?? [];
    if (list.includes(buffer)) throw new Error(`buffer '${buffer.label}' released twice`);
    list.push(buffer);
    this.#free.set(size, list);
    this.#liveBytes -= size;
    this.#freeBytes += size;
  }

  /** acquire() + writeBuffer. Data shorter than a multiple of 4 bytes is zero-padded. */
  upload(data: ArrayBufferView, label = 'upload'): GPUBuffer {
    // Captured: the upload happens once, so its buffer must keep the data for every replay.
    const buffer = this.#arena
      ? this.#arena.acquire(data.byteLength, label, true)
      : this.acquire(data.byteLength, label);
    this.#beforeQueueWrite();
    writePadded(this.#device.queue, buffer, 0, data);
    return buffer;
  }

  /**
   * A UNIFORM buffer holding `data`. Buffers are cached by content: kernels re-dispatched with the
   * same shape parameters share one buffer, so a replayed step writes no uniforms at all.
   */
  uniform(data: ArrayBufferView): GPUBuffer {
    if (this.#arena) return this.#arena.uniform(data);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const key = Buffer.from(bytes).toString('base64');
    const hit = this.#uniforms.get(key);
    if (hit) {
      // Move to the back: Map iteration order is the LRU order.
      this.#uniforms.delete(key);
      this.#uniforms.set(key, hit);
      return hit;
    }
    if (this.#uniforms.size >= MAX_CACHED_UNIFORMS) {
      // The oldest entry may be bound by encoded work: submit that first (destroy() after submit
      // is safe, Dawn keeps the buffer alive until the GPU is done with it).
      const [oldKey, old] = this.#uniforms.entries().next().value as [string, GPUBuffer];
      this.#uniforms.delete(oldKey);
      this.#beforeQueueWrite();
      old.destroy();
    }
    const buffer = this.#createUniform(bytes);
    this.#uniforms.set(key, buffer);
    return buffer;
  }

  #createUniform(data: ArrayBufferView): GPUBuffer {
    const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
    const buffer = this.#device.createBuffer({ size, usage: UNIFORM_USAGE, label: 'uniforms' });
    writePadded(this.#device.queue, buffer, 0, data);
    return buffer;
  }

  /**
   * A new arena (buffer-arena.ts) whose buffers the pool never hands to anyone else; destroyed by
   * its owner or at destroyAll().
   */
  createArena(): BufferArena {
    const arena = new BufferArena({
      create: (size, label) => {
        if (size > this.#maxBufferSize) {
          throw new GpuOutOfMemoryError(
            `buffer '${label}' needs ${size} bytes; this adapter allows at most ${this.#maxBufferSize}`,
            { hint: 'use a smaller batch size or image size' },
          );
        }
        this.#created++;
        return this.#device.createBuffer({ size, usage: STORAGE_USAGE, label });
      },
      createUniform: (data) => this.#createUniform(data),
      beforeDestroy: () => this.#beforeQueueWrite(),
    });
    this.#arenas.add(arena);
    return arena;
  }

  /** Serves acquire/upload/uniform from `arena` until called again with undefined. */
  redirectTo(arena: BufferArena | undefined): void {
    this.#arena = arena;
  }

  /** Destroys an arena's buffers; it must not be used again. */
  destroyArena(arena: BufferArena): void {
    if (this.#arena === arena) this.#arena = undefined;
    this.#arenas.delete(arena);
    arena.destroy();
  }

  /** A MAP_READ | COPY_DST staging buffer for readback; give it back with releaseReadback(). */
  acquireReadback(byteSize: number): GPUBuffer {
    const size = sizeClass(byteSize);
    const hit = this.#readback.get(size)?.pop();
    if (hit) return hit;
    return this.#device.createBuffer({
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      label: 'readback',
    });
  }

  releaseReadback(buffer: GPUBuffer): void {
    const list = this.#readback.get(buffer.size) ?? [];
    list.push(buffer);
    this.#readback.set(buffer.size, list);
  }

  /** Destroys the free buffers (not the live ones) to give memory back. */
  trim(): void {
    this.#beforeQueueWrite();
    for (const list of this.#free.values()) {
      for (const buffer of list) {
        this.#owned.delete(buffer);
        buffer.destroy();
      }
    }
    this.#free.clear();
    this.#freeBytes = 0;
  }

  stats(): BufferPoolStats {
    return {
      created: this.#created,
      reused: this.#reused,
      liveBytes: this.#liveBytes,
      freeBytes: this.#freeBytes,
    };
  }

  /** Destroys every buffer the pool ever made. Only for releaseGpu(). */
  destroyAll(): void {
    for (const arena of this.#arenas) arena.destroy();
    this.#arenas.clear();
    this.#arena = undefined;
    for (const buffer of this.#owned) buffer.destroy();
    for (const buffer of this.#uniforms.values()) buffer.destroy();
    for (const list of this.#readback.values()) for (const buffer of list) buffer.destroy();
    this.#owned.clear();
    this.#free.clear();
    this.#uniforms.clear();
    this.#readback.clear();
  }
}

function writePadded(
  queue: GPUQueue,
  buffer: GPUBuffer,
  offset: number,
  data: ArrayBufferView,
): void {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.byteLength % 4 === 0) {
    queue.writeBuffer(buffer, offset, bytes);
    return;
  }
  const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
  padded.set(bytes);
  queue.writeBuffer(buffer, offset, padded);
}
