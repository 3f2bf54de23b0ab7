// The pipeline cache of the GPU device layer: compiled compute pipelines keyed by the kernel's
// structural key (what the WGSL depends on: op, dtypes, ranks, tile choices — not the data). The
// code generator supplies key, label and WGSL; a second request with the same key costs a Map
// lookup. Compile errors come back as KernelCompileError naming the kernel and the bad WGSL lines.

import './dawn.js';
import { debugLog, DebugLevel } from '../debug.js';
import { KernelCompileError, wgslExcerpt } from './errors.js';

export interface KernelSource {
  /** Structural cache key: equal keys must mean identical WGSL. */
  readonly key: string;
  /** Human-readable kernel name, used in every error and debug line. */
  readonly label: string;
  readonly wgsl: string;
  readonly entryPoint?: string;
}

/** What get() returns while prefetching: never encoded (the batcher is in dry-run mode then). */
export const PREFETCH_PLACEHOLDER = Object.freeze({
  label: 'prefetch placeholder',
}) as unknown as GPUComputePipeline;

export interface PipelineCacheStats {
  readonly compiled: number;
  readonly hits: number;
}

export class PipelineCache {
  readonly #device: GPUDevice;
  readonly #ready = new Map<string, GPUComputePipeline>();
  readonly #pending = new Map<string, Promise<GPUComputePipeline>>();
  readonly #wgsl = new Map<string, string>();
  #compiled = 0;
  #hits = 0;
  /** While prefetching (prefetch.ts): compiles started by get(), which returns a placeholder. */
  #prefetching: Promise<GPUComputePipeline>[] | undefined;

  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** Compiles (once per key) and returns the pipeline; rejects with KernelCompileError. */
  async get(kernel: KernelSource): Promise<GPUComputePipeline> {
    const ready = this.#lookup(kernel);
    if (ready) return ready;
    const pending = this.#pending.get(kernel.key);
    const promise =
      pending ?? this.#compile(kernel).finally(() => this.#pending.delete(kernel.key));
    if (!pending) this.#pending.set(kernel.key, promise);
    if (this.#prefetching) {
      this.#prefetching.push(promise);
      return PREFETCH_PLACEHOLDER;
    }
    return promise;
  }

  /**
   * From now until endPrefetch(), get() starts compiles without waiting for them and returns a
   * placeholder that only a dry-run batcher accepts (runtime/gpu/prefetch.ts).
   */
  beginPrefetch(): void {
    this.#prefetching = [];
  }

  /** Waits for every compile started since beginPrefetch(); rejects with the first error. */
  async endPrefetch(): Promise<number> {
    const started = this.#prefetching ?? [];
    this.#prefetching = undefined;
    await Promise.all(started);
    return started.length;
  }

  /**
   * Synchronous variant for replay paths: a pipeline that fails validation surfaces as a
   * GpuValidationError naming the label at the next read()/onDone() of the command batcher.
   */
  getSync(kernel: KernelSource): GPUComputePipeline {
    const ready = this.#lookup(kernel);
    if (ready) return ready;
    this.#logSource(kernel);
    const module = this.#device.createShaderModule({ code: kernel.wgsl, label: kernel.label });
    const pipeline = this.#device.createComputePipeline({
      layout: 'auto',
      compute: { module, entryPoint: kernel.entryPoint ?? 'main' },
      label: kernel.label,
    });
    this.#store(kernel, pipeline);
    return pipeline;
  }

  /** The WGSL of a compiled kernel, by key (for debugging and snapshots). */
  source(key: string): string | undefined {
    return this.#wgsl.get(key);
  }

  stats(): PipelineCacheStats {
    return { compiled: this.#compiled, hits: this.#hits };
  }

  #lookup(kernel: KernelSource): GPUComputePipeline | undefined {
    const hit = this.#ready.get(kernel.key);
    if (!hit) return undefined;
    if (this.#wgsl.get(kernel.key) !== kernel.wgsl) {
      throw new Error(
        `kernel cache key collision: '${kernel.key}' used for two different WGSL sources (${kernel.label})`,
      );
    }
    this.#hits++;
    return hit;
  }

  #store(kernel: KernelSource, pipeline: GPUComputePipeline): void {
    this.#ready.set(kernel.key, pipeline);
    this.#wgsl.set(kernel.key, kernel.wgsl);
    this.#compiled++;
  }

  #logSource(kernel: KernelSource): void {
    debugLog(DebugLevel.kernels, 'compile', () => `${kernel.label} [${kernel.key}]`);
    debugLog(DebugLevel.wgsl, 'wgsl', () => `// ${kernel.label}\n${kernel.wgsl}`);
  }

  async #compile(kernel: KernelSource): Promise<GPUComputePipeline> {
    this.#logSource(kernel);
    const started = performance.now();
    this.#device.pushErrorScope('validation');
    const module = this.#device.createShaderModule({ code: kernel.wgsl, label: kernel.label });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length > 0) {
      await this.#device.popErrorScope();
      const first = errors[0];
      const details = errors
        .map((m) => `  ${kernel.label}.wgsl:${m.lineNum}:${m.linePos}: ${m.message}`)
        .join('\n');
      throw new KernelCompileError(
        kernel.label,
        `kernel '${kernel.label}' does not compile:\n${details}\n${wgslExcerpt(kernel.wgsl, first.lineNum, first.linePos)}`,
        { hint: 'this is a code-generation bug; ALIGNC_DEBUG=3 prints the whole WGSL' },
      );
    }
    let pipeline: GPUComputePipeline;
    try {
      pipeline = await this.#device.createComputePipelineAsync({
        layout: 'auto',
        compute: { module, entryPoint: kernel.entryPoint ?? 'main' },
        label: kernel.label,
      });
    } catch (error) {
      await this.#device.popErrorScope();
      const reason = error instanceof Error ? error.message : String(error);
      throw new KernelCompileError(
        kernel.label,
        `kernel '${kernel.label}' compiles but cannot be made a pipeline: ${reason.trim()}`,
        {
          hint: 'check workgroup size and bindings against the adapter limits (alignc doctor)',
          cause: error,
        },
      );
    }
    const scopeError = await this.#device.popErrorScope();
    if (scopeError) {
      throw new KernelCompileError(
        kernel.label,
        `kernel '${kernel.label}' failed validation: ${scopeError.message.trim()}`,
      );
    }
    this.#store(kernel, pipeline);
    debugLog(
      DebugLevel.timings,
      'compile',
      () => `${kernel.label}: ${(performance.now() - started).toFixed(1)} ms`,
    );
    return pipeline;
  }
}
