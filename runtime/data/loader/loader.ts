// The data loader: deterministic batches of two-view samples, made ahead of the training step. Data
// side of the flow: Dataset → views → batches → (runtime) GPU buffers. Prefetch is pluggable:
//   'worker'    a worker thread runs the BatchProducer and transfers finished batches (default when
//               the compiled worker-entry.js is next to this module, i.e. when running from dist/);
//   'in-thread' the producer runs on the main thread `prefetch` batches ahead, so image decoding
//               (sharp, on libuv's thread pool) overlaps the consumer; used when no compiled worker
//               exists (vitest runs the TypeScript sources) or a custom decoder is given;
//   'off'       batches are made only when asked for.
// All three give identical batches for a seed and epoch (see producer.ts).

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { debugLog, DebugLevel } from '../../debug.js';
import { DatasetError, type Dataset } from '../dataset.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../views/normalize.js';
import type { ViewSpec } from '../views/pipeline.js';
import { DataWarnings } from '../warnings.js';
import type { Batch } from './batch.js';
import type { FromWorker, ToWorker } from './messages.js';
import { BatchProducer, checkLoaderConfig, type Decoder, type LoaderConfig } from './producer.js';

export type PrefetchMode = 'worker' | 'in-thread' | 'off';

export interface LoaderOptions {
  readonly dataset: Dataset;
  readonly views: readonly ViewSpec[];
  readonly batchSize: number;
  readonly maxBoxes: number;
  readonly seed: number;
  readonly shuffle?: boolean;
  readonly dropLast?: boolean;
  readonly dropEmpty?: boolean;
  readonly mean?: readonly [number, number, number];
  readonly std?: readonly [number, number, number];
  readonly canvas?: readonly [number, number];
  /** Batches made ahead of the consumer (default 2). */
  readonly prefetch?: number;
  /** Default: 'worker' when the compiled worker exists, else 'in-thread'. */
  readonly mode?: PrefetchMode;
  /** The worker script (default: worker-entry.js beside this module). */
  readonly workerUrl?: URL;
  /** Image decoder (default decodeImage); a custom one runs in-thread. */
  readonly decode?: Decoder;
  readonly warnings?: DataWarnings;
}

function defaultWorkerUrl(): URL | undefined {
  const url = new URL('./worker-entry.js', import.meta.url);
  return existsSync(fileURLToPath(url)) ? url : undefined;
}

export class DataLoader {
  readonly config: LoaderConfig;
  readonly mode: PrefetchMode;
  readonly warnings: DataWarnings;
  private readonly prefetch: number;
  private readonly producer: BatchProducer | undefined;
  private readonly workerUrl: URL | undefined;
  private worker: Worker | undefined;

  constructor(options: LoaderOptions) {
    this.config = {
      dataset: options.dataset,
      views: options.views,
      batchSize: options.batchSize,
      maxBoxes: options.maxBoxes,
      seed: options.seed,
      shuffle: options.shuffle ?? true,
      dropLast: options.dropLast ?? false,
      dropEmpty: options.dropEmpty ?? true,
      mean: options.mean ?? IMAGENET_MEAN,
      std: options.std ?? IMAGENET_STD,
      ...(options.canvas === undefined ? {} : { canvas: options.canvas }),
    };
    checkLoaderConfig(this.config);
    this.warnings = options.warnings ?? new DataWarnings();
    this.prefetch = Math.max(1, options.prefetch ?? 2);
    const workerUrl = options.workerUrl ?? defaultWorkerUrl();
    let mode =
      options.mode ??
      (workerUrl !== undefined && options.decode === undefined ? 'worker' : 'in-thread');
    if (mode === 'worker' && (workerUrl === undefined || options.decode !== undefined)) {
      debugLog(DebugLevel.timings, 'data', () =>
        options.decode !== undefined
          ? 'a custom decoder cannot run in a worker; prefetching in-thread'
          : 'no compiled worker-entry.js (running from TypeScript sources); prefetching in-thread',
      );
      mode = 'in-thread';
    }
    this.mode = mode;
    this.workerUrl = workerUrl;
    this.producer =
      mode === 'worker' ? undefined : new BatchProducer(this.config, this.warnings, options.decode);
  }

  /** The batches of one epoch, in order; the same for every mode, seed and epoch. */
  epoch(epoch: number): AsyncGenerator<Batch> {
    switch (this.mode) {
      case 'off':
        return this.requireProducer().epoch(epoch);
      case 'in-thread':
        return this.inThread(epoch);
      case 'worker':
        return this.fromWorker(epoch);
      default:
        return this.mode satisfies never;
    }
  }

  /** Stops the worker, if any. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker !== undefined) await worker.terminate();
  }

  private requireProducer(): BatchProducer {
    if (this.producer === undefined) throw new Error('internal: no in-thread producer');
    return this.producer;
  }

  private async *inThread(epoch: number): AsyncGenerator<Batch> {
    const source = this.requireProducer().epoch(epoch);
    // An async generator queues next() calls, so asking ahead makes the producer run ahead.
    const ahead: Promise<IteratorResult<Batch>>[] = [];
    try {
      for (;;) {
        while (ahead.length < this.prefetch + 1) {
          const next = source.next();
          // A failure while running ahead is reported when that batch is awaited, not as an
          // unhandled rejection before it.
          next.catch(() => {});
          ahead.push(next);
        }
        const result = await ahead.shift()!;
        if (result.done) return;
        yield result.value;
      }
    } finally {
      await Promise.allSettled(ahead);
      await source.return(undefined);
    }
  }

  private async *fromWorker(epoch: number): AsyncGenerator<Batch> {
    const url = this.workerUrl;
    if (url === undefined) throw new Error('internal: no worker script');
    const worker = this.worker ?? new Worker(url, { workerData: this.config });
    this.worker = worker;
    const queue: FromWorker[] = [];
    let wake: (() => void) | undefined;
    let failure: Error | undefined;
    const onMessage = (message: FromWorker) => {
      if (message.type === 'warning') {
        this.warnings.add(message.kind, message.item, message.detail);
        return;
      }
      queue.push(message);
      wake?.();
    };
    const onError = (error: Error) => {
      failure = error;
      wake?.();
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    let finished = false;
    try {
      worker.postMessage({ type: 'epoch', epoch, credits: this.prefetch } satisfies ToWorker);
      for (;;) {
        while (queue.length === 0 && failure === undefined) {
          await new Promise<void>((resolve) => (wake = resolve));
        }
        if (failure !== undefined) throw failure;
        const message = queue.shift()!;
        if (message.type === 'done') {
          finished = true;
          return;
        }
        if (message.type === 'error') {
          finished = true;
          throw message.dataset
            ? new DatasetError(message.message)
            : new Error(`data worker: ${message.message}`);
        }
        if (message.type === 'batch') {
          yield message.batch;
          worker.postMessage({ type: 'credit' } satisfies ToWorker);
        }
      }
    } finally {
      worker.off('message', onMessage);
      worker.off('error', onError);
      // A consumer that stops early leaves the worker mid-epoch: replace it on the next epoch.
      if (!finished) await this.close();
    }
  }
}
