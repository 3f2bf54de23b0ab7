// Batched command submission for the GPU device layer. Kernels are encoded into one compute pass
// and one submit until something needs the results (a read, onDone) or the batch grows large;
// lavapipe-performance.md measured 14 µs per dispatch batched against 55 µs with a sync after each.
// Waiting never spins the host (see done-estimator.ts). Validation errors reported by Dawn are
// collected and thrown at the next wait as a GpuValidationError naming the kernels involved.
// It also records a step's commands (beginCapture/endCapture) and replays them
// (runtime/webgpu/captured-graph.ts), runs dry for pipeline prefetch (prefetch.ts), and times each
// dispatch under ALIGNC_PROFILE=1 (kernel-profiler.ts).

import './dawn.js';
import { debugLog, DebugLevel } from '../debug.js';
import type { BufferPool } from './buffer-pool.js';
import { DoneEstimator, sleep } from './done-estimator.js';
import { DeviceLostError, GpuValidationError } from './errors.js';
import { KernelProfiler, profilingRequested } from './kernel-profiler.js';

export type BindingResource = GPUBuffer | GPUTextureView | GPUSampler;

export interface Dispatch {
  readonly pipeline: GPUComputePipeline;
  /** The kernel's name: it labels the bind group, so Dawn's messages name it. */
  readonly label: string;
  /** Binding i of group 0 is resources[i]. */
  readonly buffers: readonly BindingResource[];
  readonly workgroups: readonly [number, number?, number?];
}

/** One recorded command of a captured step: everything needed to encode it again, resolved. */
export type RecordedCommand =
  | {
      readonly kind: 'dispatch';
      readonly pipeline: GPUComputePipeline;
      readonly bindGroup: GPUBindGroup;
      readonly x: number;
      readonly y: number;
      readonly z: number;
    }
  | {
      readonly kind: 'copy';
      readonly source: GPUBuffer;
      readonly sourceOffset: number;
      readonly target: GPUBuffer;
      readonly targetOffset: number;
      readonly size: number;
    }
  | {
      readonly kind: 'copy_to_texture';
      readonly source: GPUTexelCopyBufferInfo;
      readonly destination: GPUTexelCopyTextureInfo;
      readonly size: GPUExtent3DStrict;
    };

/** The commands a captured step encodes (runtime/webgpu/captured-graph.ts replays them). */
export interface CapturedCommands {
  /** Names the step in debug lines and in the done-estimator's signature. */
  readonly label: string;
  readonly commands: readonly RecordedCommand[];
  readonly dispatches: number;
}

/** A capture that cannot be replayed, and why. */
export interface BrokenCapture {
  readonly broken: string;
}

const MAX_DISPATCHES_PER_SUBMIT = 256;
const MAX_BIND_GROUPS_PER_PIPELINE = 512;

export class CommandBatcher {
  readonly #device: GPUDevice;
  readonly #pool: BufferPool;
  readonly #maxWorkgroups: number;
  readonly #estimator = new DoneEstimator();
  readonly #bindGroups = new WeakMap<GPUComputePipeline, Map<string, GPUBindGroup>>();
  readonly #resourceIds = new WeakMap<object, number>();
  #nextResourceId = 1;
  #encoder: GPUCommandEncoder | undefined;
  #pass: GPUComputePassEncoder | undefined;
  #encodedCount = 0;
  /** Labels of everything submitted or encoded since the last completed wait. */
  #inFlightLabels: string[] = [];
  #firstSubmitAt: number | undefined;
  /**
   * The waits are timed from the last submit: time from the first one includes however long the
   * host took to encode the rest (compiling pipelines, host ops), and learning that made every
   * later wait oversleep (a first step's 6 s of compiles became 5 s of sleep per step).
   */
  #lastSubmitAt: number | undefined;
  readonly #errors: string[] = [];
  #lost: DeviceLostError | undefined;
  #dispatchCount = 0;
  #submitCount = 0;
  /** Dry run (prefetch.ts): validate and drop work, answer reads with zeros. */
  #dryRun = false;
  /** The commands of the step being captured (beginCapture … endCapture), if any. */
  #recording: { label: string; commands: RecordedCommand[]; broken?: string } | undefined;
  /** Per-kernel GPU times (ALIGNC_PROFILE=1, where the adapter has timestamp queries). */
  readonly #profiler: KernelProfiler | undefined;

  constructor(device: GPUDevice, pool: BufferPool) {
    this.#device = device;
    this.#pool = pool;
    this.#maxWorkgroups = device.limits.maxComputeWorkgroupsPerDimension;
    if (profilingRequested() && device.features.has('timestamp-query')) {
      this.#profiler = new KernelProfiler(device);
    }
  }

  /** Called by the device layer's uncapturederror listener. */
  reportError(message: string): void {
    this.#errors.push(message.trim());
  }

  /** Called by the device layer when the device is lost for any reason but destroy(). */
  reportLost(reason: string, message: string): void {
    this.#lost = new DeviceLostError(`the GPU device was lost (${reason}): ${message.trim()}`, {
      hint: 'the driver reset or ran out of memory; rerun, with a smaller batch if it repeats',
    });
  }

  dispatch(d: Dispatch): void {
    this.#throwIfLost();
    const [x, y = 1, z = 1] = d.workgroups;
    for (const n of [x, y, z]) {
      if (!Number.isInteger(n) || n < 0 || n > this.#maxWorkgroups) {
        throw new GpuValidationError(
          [d.label],
          `kernel '${d.label}' asks for ${x}x${y}x${z} workgroups; each dimension must be an integer in 0..${this.#maxWorkgroups}`,
          { hint: 'a code-generation bug: the grid must be folded into more dimensions' },
        );
      }
    }
    if (x === 0 || y === 0 || z === 0 || this.#dryRun) return;
    const profiler = this.#profiler;
    if (profiler) {
      // Every profiled dispatch gets its own pass, timestamped at its start and end.
      if (!profiler.hasRoom()) this.flush();
      this.#endPass();
      this.#pass = this.#ensureEncoder().beginComputePass({
        timestampWrites: profiler.passTimestamps(d.label),
      });
    }
    const pass = this.#ensurePass();
    const bindGroup = this.#bindGroup(d);
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    this.#recording?.commands.push({ kind: 'dispatch', pipeline: d.pipeline, bindGroup, x, y, z });
    if (profiler) this.#endPass();
    this.#inFlightLabels.push(d.label);
    this.#dispatchCount++;
    if (++this.#encodedCount >= MAX_DISPATCHES_PER_SUBMIT) this.flush();
  }

  /** Encodes a buffer-to-buffer copy in order with the dispatches. */
  copy(
    source: GPUBuffer,
    sourceOffset: number,
    target: GPUBuffer,
    targetOffset: number,
    size: number,
  ): void {
    this.#throwIfLost();
    if (this.#dryRun) return;
    const encoder = this.#ensureEncoder();
    this.#endPass();
    encoder.copyBufferToBuffer(source, sourceOffset, target, targetOffset, size);
    this.#recording?.commands.push({
      kind: 'copy',
      source,
      sourceOffset,
      target,
      targetOffset,
      size,
    });
    this.#inFlightLabels.push('copy');
    this.#encodedCount++;
  }

  /** Encodes a buffer-to-texture copy in order with the dispatches (texture operands of GEMMs). */
  copyToTexture(
    source: GPUTexelCopyBufferInfo,
    destination: GPUTexelCopyTextureInfo,
    size: GPUExtent3DStrict,
  ): void {
    this.#throwIfLost();
    if (this.#dryRun) return;
    const encoder = this.#ensureEncoder();
    this.#endPass();
    encoder.copyBufferToTexture(source, destination, size);
    this.#recording?.commands.push({ kind: 'copy_to_texture', source, destination, size });
    this.#inFlightLabels.push('copy_to_texture');
    this.#encodedCount++;
  }

  /** Submits everything encoded so far. Cheap when nothing is pending. */
  flush(): void {
    if (!this.#encoder) return;
    this.#endPass();
    const readTimestamps = this.#profiler?.resolve(this.#encoder);
    const commands = this.#encoder.finish();
    this.#encoder = undefined;
    this.#encodedCount = 0;
    this.#device.queue.submit([commands]);
    readTimestamps?.();
    this.#submitCount++;
    this.#lastSubmitAt = performance.now();
    this.#firstSubmitAt ??= this.#lastSubmitAt;
  }

  /**
   * Reads `byteLength` bytes of `buffer` (from `byteOffset`) back to the host, after all work
   * queued before it. Throws the validation errors of that work, if any.
   */
  async read(buffer: GPUBuffer, byteLength: number, byteOffset = 0): Promise<ArrayBuffer> {
    this.#throwIfLost();
    this.#breakCapture('reads a result back in the middle of the step');
    if (this.#dryRun) return new ArrayBuffer(byteLength);
    const size = Math.ceil(byteLength / 4) * 4;
    const staging = this.#pool.acquireReadback(size);
    this.#ensureEncoder();
    this.#endPass();
    this.#encoder!.copyBufferToBuffer(buffer, byteOffset, staging, 0, size);
    this.flush();
    try {
      await this.#settle(() => staging.mapAsync(GPUMapMode.READ, 0, size));
    } catch (error) {
      this.#throwErrors();
      throw error;
    }
    const out = staging.getMappedRange(0, size).slice(0, byteLength);
    staging.unmap();
    this.#pool.releaseReadback(staging);
    this.#throwErrors();
    return out;
  }

  /**
   * Reads several buffers back with one copy each into one staging buffer and one wait — a graph's
   * outputs cost one round trip, not one per output. Lengths are in bytes (multiples of 4).
   */
  async readMany(
    parts: readonly { readonly buffer: GPUBuffer; readonly byteLength: number }[],
  ): Promise<ArrayBuffer[]> {
    this.#throwIfLost();
    this.#breakCapture('reads results back in the middle of the step');
    if (this.#dryRun) return parts.map((part) => new ArrayBuffer(part.byteLength));
    const offsets: number[] = [];
    let total = 0;
    for (const part of parts) {
      offsets.push(total);
      total += Math.ceil(part.byteLength / 4) * 4;
    }
    if (total === 0) return parts.map(() => new ArrayBuffer(0));
    const staging = this.#pool.acquireReadback(total);
    const encoder = this.#ensureEncoder();
    this.#endPass();
    parts.forEach((part, k) => {
      const size = Math.ceil(part.byteLength / 4) * 4;
      if (size > 0) encoder.copyBufferToBuffer(part.buffer, 0, staging, offsets[k], size);
    });
    this.flush();
    try {
      await this.#settle(() => staging.mapAsync(GPUMapMode.READ, 0, total));
    } catch (error) {
      this.#throwErrors();
      throw error;
    }
    const mapped = staging.getMappedRange(0, total);
    const out = parts.map((part, k) => mapped.slice(offsets[k], offsets[k] + part.byteLength));
    staging.unmap();
    this.#pool.releaseReadback(staging);
    this.#throwErrors();
    return out;
  }

  /** Resolves when all submitted work has finished; throws its validation errors, if any. */
  async onDone(): Promise<void> {
    this.#throwIfLost();
    this.#breakCapture('waits for the GPU in the middle of the step');
    if (this.#dryRun) return;
    this.flush();
    await this.#settle(() => this.#device.queue.onSubmittedWorkDone());
    this.#throwErrors();
  }

  /** The per-kernel GPU time report, when profiling (ALIGNC_PROFILE=1) is on. */
  async profileReport(): Promise<string | undefined> {
    if (!this.#profiler) return undefined;
    this.flush();
    return this.#profiler.report();
  }

  /**
   * Dry run on/off: dispatches and copies are validated and dropped, reads return zeros. For
   * walking a graph's encoding only to start its pipeline compiles (prefetch.ts).
   */
  setDryRun(on: boolean): void {
    if (on) this.flush();
    this.#dryRun = on;
  }

  /**
   * Starts recording every dispatch and copy encoded from now on (they still run as usual). A
   * read or wait before endCapture() makes the capture unusable: the work depends on host steps.
   */
  beginCapture(label: string): void {
    if (this.#recording)
      throw new Error(`capture '${label}' begun inside '${this.#recording.label}'`);
    this.#recording = { label, commands: [] };
  }

  endCapture(): CapturedCommands | BrokenCapture {
    const recording = this.#recording;
    if (!recording) throw new Error('endCapture() without beginCapture()');
    this.#recording = undefined;
    if (recording.broken !== undefined) return { broken: recording.broken };
    return {
      label: recording.label,
      commands: recording.commands,
      dispatches: recording.commands.filter((c) => c.kind === 'dispatch').length,
    };
  }

  /**
   * Encodes a captured step again: pipelines, bind groups and grids were resolved at capture, so
   * this is three Dawn calls per dispatch and nothing else. Submitted at once, as one batch.
   */
  replay(captured: CapturedCommands): void {
    this.#throwIfLost();
    const encoder = this.#ensureEncoder();
    let pass = this.#pass;
    let pipeline: GPUComputePipeline | undefined;
    for (const c of captured.commands) {
      switch (c.kind) {
        case 'dispatch':
          if (!pass) {
            pass = encoder.beginComputePass();
            pipeline = undefined;
          }
          if (c.pipeline !== pipeline) {
            pass.setPipeline(c.pipeline);
            pipeline = c.pipeline;
          }
          pass.setBindGroup(0, c.bindGroup);
          pass.dispatchWorkgroups(c.x, c.y, c.z);
          break;
        case 'copy':
          pass?.end();
          pass = undefined;
          encoder.copyBufferToBuffer(c.source, c.sourceOffset, c.target, c.targetOffset, c.size);
          break;
        case 'copy_to_texture':
          pass?.end();
          pass = undefined;
          encoder.copyBufferToTexture(c.source, c.destination, c.size);
          break;
        default:
          throw new Error(`replay: command ${c satisfies never}`);
      }
    }
    this.#pass = pass;
    this.#inFlightLabels.push(captured.label);
    this.#dispatchCount += captured.dispatches;
    this.flush();
  }

  stats(): { dispatches: number; submits: number } {
    return { dispatches: this.#dispatchCount, submits: this.#submitCount };
  }

  /** Forgets cached bind groups (after the pool destroyed buffers they may reference). */
  clearBindGroups(): void {
    // A WeakMap cannot be cleared; bind groups are re-keyed by fresh resource ids instead.
    this.#nextResourceId += 1_000_000;
  }

  async #settle(wait: () => Promise<unknown>): Promise<void> {
    const signature = this.#inFlightLabels.join('|');
    const submittedAt = this.#lastSubmitAt ?? performance.now();
    const firstAt = this.#firstSubmitAt ?? submittedAt;
    const nap = this.#estimator.sleepBefore(signature, performance.now() - submittedAt);
    if (nap > 0) await sleep(nap);
    const waitStart = performance.now();
    await wait();
    const end = performance.now();
    this.#estimator.record(signature, end - submittedAt, nap > 0 && end - waitStart < 0.5);
    debugLog(
      DebugLevel.timings,
      'gpu',
      () =>
        `${this.#inFlightLabels.length} ops settled ${(end - submittedAt).toFixed(2)} ms after the last submit, ${(end - firstAt).toFixed(2)} ms after the first (slept ${nap.toFixed(1)} ms)`,
    );
    this.#inFlightLabels = [];
    this.#firstSubmitAt = undefined;
    this.#lastSubmitAt = undefined;
  }

  #ensureEncoder(): GPUCommandEncoder {
    this.#encoder ??= this.#device.createCommandEncoder({ label: 'alignc batch' });
    return this.#encoder;
  }

  #ensurePass(): GPUComputePassEncoder {
    if (this.#pass) return this.#pass;
    this.#pass = this.#ensureEncoder().beginComputePass();
    return this.#pass;
  }

  #endPass(): void {
    this.#pass?.end();
    this.#pass = undefined;
  }

  #resourceId(resource: object): number {
    let id = this.#resourceIds.get(resource);
    if (id === undefined || id < this.#nextResourceId - 1_000_000) {
      id = this.#nextResourceId++;
      this.#resourceIds.set(resource, id);
    }
    return id;
  }

  #bindGroup(d: Dispatch): GPUBindGroup {
    let cache = this.#bindGroups.get(d.pipeline);
    if (!cache) {
      cache = new Map();
      this.#bindGroups.set(d.pipeline, cache);
    }
    const key = d.buffers.map((r) => this.#resourceId(r)).join(',');
    const hit = cache.get(key);
    if (hit) return hit;
    if (cache.size >= MAX_BIND_GROUPS_PER_PIPELINE) cache.clear();
    const group = this.#device.createBindGroup({
      label: d.label,
      layout: d.pipeline.getBindGroupLayout(0),
      entries: d.buffers.map((resource, binding) => ({
        binding,
        resource: resource instanceof GPUBuffer ? { buffer: resource } : resource,
      })),
    });
    cache.set(key, group);
    return group;
  }

  #breakCapture(reason: string): void {
    if (this.#recording) this.#recording.broken ??= reason;
  }

  #throwIfLost(): void {
    if (this.#lost) throw this.#lost;
  }

  #throwErrors(): void {
    this.#throwIfLost();
    if (this.#errors.length === 0) return;
    const messages = this.#errors.splice(0);
    const named = new Set<string>();
    for (const m of messages) for (const match of m.matchAll(/"([^"]+)"/g)) named.add(match[1]);
    const kernels = [...named].filter((n) => n !== 'alignc batch');
    debugLog(DebugLevel.timings, 'gpu', () => `validation errors: ${messages.length}`);
    throw new GpuValidationError(
      kernels,
      `WebGPU rejected work${kernels.length ? ` of kernel(s) ${kernels.map((k) => `'${k}'`).join(', ')}` : ''}:\n${messages.join('\n')}`,
      { hint: 'a code-generation or runtime bug; ALIGNC_DEBUG=3 prints the kernels' },
    );
  }
}
