// Adapter and device acquisition for the runtime: the entry point of runtime/gpu. acquireGpu() finds
// a WebGPU adapter through Dawn (a real GPU, or Mesa lavapipe on machines without one), requests
// the optional features that exist and the adapter's maximum limits, and wires Dawn's error events
// to typed errors. releaseGpu() tears everything down so that the process exits by itself: Dawn
// keeps Node alive for as long as its GPU object is reachable.

import { dawnGpu, dropGpu } from './dawn.js';
import { debugLog, DebugLevel } from '../debug.js';
import { reportAdapter, RAISED_LIMITS, type AdapterReport } from './adapter-report.js';
import { BufferPool } from './buffer-pool.js';
import { CommandBatcher } from './command-batcher.js';
import { DeviceRequestError, GpuReleasedError, NoAdapterError } from './errors.js';
import { PipelineCache } from './pipeline-cache.js';

export interface GpuContext {
  readonly device: GPUDevice;
  readonly adapter: GPUAdapter;
  readonly info: AdapterReport;
  /** lavapipe or another software adapter: code generation picks CPU-friendly kernels. */
  readonly isSoftware: boolean;
  /** The optional features that were requested and granted. */
  readonly features: ReadonlySet<string>;
  readonly limits: GPUSupportedLimits;
  readonly buffers: BufferPool;
  readonly pipelines: PipelineCache;
  readonly queue: CommandBatcher;
}

export interface AcquireOptions {
  readonly powerPreference?: GPUPowerPreference;
  /** Dawn toggles, e.g. `enable-dawn-features=disable_robustness`; also read from ALIGNC_DAWN_FLAGS. */
  readonly dawnFlags?: readonly string[];
}

const NO_ADAPTER_HINT =
  'run `npm run setup` (it installs Mesa lavapipe, a software Vulkan driver, when no GPU driver works), ' +
  'or on Debian 12 install mesa-vulkan-drivers and libvulkan1 from bookworm-backports (Debian 13: from the default suite); ' +
  'also make sure XDG_RUNTIME_DIR is set';

const live = new Set<GpuContext>();
const released = new WeakSet<GpuContext>();

export async function acquireGpu(options: AcquireOptions = {}): Promise<GpuContext> {
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const envFlags = (process.env.ALIGNC_DAWN_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const started = performance.now();
  const gpu = dawnGpu(options.dawnFlags ?? envFlags);
  const adapter = await gpu.requestAdapter(
    options.powerPreference ? { powerPreference: options.powerPreference } : undefined,
  );
  if (!adapter) {
    if (live.size === 0) dropGpu();
    throw new NoAdapterError('no WebGPU adapter: Dawn found no Vulkan driver on this machine', {
      hint: NO_ADAPTER_HINT,
    });
  }
  const info = reportAdapter(adapter);
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      label: 'alignc',
      requiredFeatures: [...info.enabledFeatures],
      requiredLimits,
    });
  } catch (error) {
    if (live.size === 0) dropGpu();
    throw new DeviceRequestError(
      `the adapter '${info.device}' refused a device: ${error instanceof Error ? error.message : String(error)}`,
      { hint: NO_ADAPTER_HINT, cause: error },
    );
  }
  const buffers = new BufferPool(device, device.limits.maxBufferSize);
  const queue = new CommandBatcher(device, buffers);
  buffers.setBeforeQueueWrite(() => queue.flush());
  device.addEventListener('uncapturederror', (event) => {
    // preventDefault stops dawn.node from also printing the error to stdout.
    event.preventDefault();
    queue.reportError((event as GPUUncapturedErrorEvent).error.message);
  });
  void device.lost.then((lostInfo) => {
    if (lostInfo.reason !== 'destroyed') queue.reportLost(lostInfo.reason, lostInfo.message);
  });
  const context: GpuContext = {
    device,
    adapter,
    info,
    isSoftware: info.isSoftware,
    features: new Set(info.enabledFeatures),
    limits: device.limits,
    buffers,
    pipelines: new PipelineCache(device),
    queue,
  };
  live.add(context);
  debugLog(
    DebugLevel.timings,
    'gpu',
    () =>
      `device on ${info.device} (${info.backend}) in ${(performance.now() - started).toFixed(1)} ms`,
  );
  return context;
}

/**
 * Finishes queued work, destroys every buffer and the device, and lets go of Dawn once no context
 * is left, so that Node can exit. Safe to call twice.
 */
export async function releaseGpu(context: GpuContext): Promise<void> {
  if (released.has(context)) return;
  released.add(context);
  live.delete(context);
  try {
    context.queue.flush();
    await context.device.queue.onSubmittedWorkDone();
    const profile = await context.queue.profileReport();
    if (profile !== undefined) process.stderr.write(`[alignc:profile] ${profile}\n`);
  } catch {
    // A lost device has nothing left to finish; teardown goes on.
  }
  context.buffers.destroyAll();
  context.device.destroy();
  if (live.size === 0) dropGpu();
}

/** Runs `fn` with a fresh context and always releases it. */
export async function withGpu<T>(
  fn: (context: GpuContext) => Promise<T>,
  options?: AcquireOptions,
): Promise<T> {
  const context = await acquireGpu(options);
  try {
    return await fn(context);
  } finally {
    await releaseGpu(context);
  }
}

export function assertLive(context: GpuContext): void {
  if (released.has(context)) {
    throw new GpuReleasedError('this GPU context was released', {
      hint: 'acquire a new one with acquireGpu()',
    });
  }
}
