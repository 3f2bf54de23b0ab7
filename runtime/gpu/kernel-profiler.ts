// Per-kernel GPU time from timestamp queries, for finding where a step's time goes
// (`ALIGNC_PROFILE=1`). When enabled, the command batcher gives every dispatch its own compute pass
// with begin/end timestamp writes; at each submit the batch's timestamps are resolved and read back
// without the host waiting on them, and totals accumulate per kernel label. The report groups
// labels by kernel kind ("%812 conv2d/pack input" → "conv2d/pack input") and by label.
// One pass per dispatch costs a little (lavapipe-performance.md: 17 µs against 14 µs per
// dispatch), so profiled runs are for attribution, not for timing a whole step.
// Flow: runtime/gpu command batcher → **kernel profiler** → stderr report at releaseGpu().

import './dawn.js';

/** Timestamps per query set: two per dispatch, as many dispatches as one submit holds. */
const QUERIES_PER_BATCH = 512;

interface LabelTotal {
  count: number;
  nanoseconds: number;
}

export function profilingRequested(): boolean {
  const raw = process.env.ALIGNC_PROFILE;
  return raw !== undefined && raw !== '' && raw !== '0';
}

export class KernelProfiler {
  readonly #device: GPUDevice;
  readonly #totals = new Map<string, LabelTotal>();
  readonly #pending: Promise<void>[] = [];
  #querySet: GPUQuerySet | undefined;
  #labels: string[] = [];

  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** True while the current batch has room for another profiled dispatch. */
  hasRoom(): boolean {
    return this.#labels.length * 2 + 2 <= QUERIES_PER_BATCH;
  }

  /** The timestamp writes for the next dispatch's own compute pass. */
  passTimestamps(label: string): GPUComputePassTimestampWrites {
    this.#querySet ??= this.#device.createQuerySet({
      type: 'timestamp',
      count: QUERIES_PER_BATCH,
      label: 'alignc profile',
    });
    const index = this.#labels.length * 2;
    this.#labels.push(label);
    return {
      querySet: this.#querySet,
      beginningOfPassWriteIndex: index,
      endOfPassWriteIndex: index + 1,
    };
  }

  /** Encodes the resolve of this batch's timestamps; call before finishing the encoder. */
  resolve(encoder: GPUCommandEncoder): (() => void) | undefined {
    const querySet = this.#querySet;
    const labels = this.#labels;
    if (!querySet || labels.length === 0) return undefined;
    this.#querySet = undefined;
    this.#labels = [];
    const bytes = labels.length * 2 * 8;
    const resolved = this.#device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    const staging = this.#device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    encoder.resolveQuerySet(querySet, 0, labels.length * 2, resolved, 0);
    encoder.copyBufferToBuffer(resolved, 0, staging, 0, bytes);
    // After submit: read the timestamps back whenever the GPU gets there.
    return () => {
      this.#pending.push(
        staging.mapAsync(GPUMapMode.READ).then(() => {
          const times = new BigUint64Array(staging.getMappedRange().slice(0));
          labels.forEach((label, k) => this.#add(label, times[2 * k + 1] - times[2 * k]));
          staging.unmap();
          staging.destroy();
          resolved.destroy();
          querySet.destroy();
        }),
      );
    };
  }

  #add(label: string, nanoseconds: bigint): void {
    const total = this.#totals.get(label) ?? { count: 0, nanoseconds: 0 };
    total.count++;
    // A pass whose end precedes its begin (clock domain reset) counts as zero.
    total.nanoseconds += nanoseconds > 0n ? Number(nanoseconds) : 0;
    this.#totals.set(label, total);
  }

  /** Waits for the outstanding read-backs, then formats the report (top entries by GPU time). */
  async report(top = 25): Promise<string> {
    await Promise.allSettled(this.#pending.splice(0));
    const byKind = new Map<string, LabelTotal>();
    let all = 0;
    for (const [label, total] of this.#totals) {
      const kind = label.replace(/^%\d+\s*/, '');
      const sum = byKind.get(kind) ?? { count: 0, nanoseconds: 0 };
      sum.count += total.count;
      sum.nanoseconds += total.nanoseconds;
      byKind.set(kind, sum);
      all += total.nanoseconds;
    }
    const table = (title: string, rows: Map<string, LabelTotal>): string[] => [
      title,
      ...[...rows]
        .sort((a, b) => b[1].nanoseconds - a[1].nanoseconds)
        .slice(0, top)
        .map(
          ([label, t]) =>
            `${(t.nanoseconds / 1e6).toFixed(1).padStart(10)} ms ${((100 * t.nanoseconds) / Math.max(all, 1)).toFixed(1).padStart(5)} % ${String(t.count).padStart(6)}×  ${label}`,
        ),
    ];
    return [
      `GPU time ${(all / 1e6).toFixed(1)} ms over ${[...this.#totals.values()].reduce((n, t) => n + t.count, 0)} dispatches`,
      ...table('by kernel kind:', byKind),
      ...table('by kernel:', this.#totals),
    ].join('\n');
  }
}
