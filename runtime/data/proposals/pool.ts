// Runs proposal generation over many images, in parallel on worker threads when the compiled worker
// exists, else in this thread. Data side of the flow: dataset images → decoded pixels (decoded here,
// on the main thread, by sharp's own thread pool) → proposals per image (on a worker) → cache file.
//
// Node 20 cannot start a worker from a .ts file, so workers run `worker.js` next to this module: that
// file exists when alignc runs from its compiled `dist/` tree and not when this module is loaded from
// source (vitest), which then takes the in-thread path. Results are reported per image index, so the
// output order never depends on which worker finished first.

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { RgbImage } from '../image.js';
import type { Box, FilterStage } from './box-ops.js';
import type { ProposalParams } from './params.js';
import { proposeBoxes } from './propose.js';
import type { ImageProposals } from './propose.js';

export interface WorkerRequest {
  readonly index: number;
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
  readonly params: ProposalParams;
}

export type WorkerReply =
  | {
      readonly index: number;
      readonly boxes: Int32Array;
      readonly candidates: number;
      readonly stage: FilterStage;
    }
  | { readonly index: number; readonly error: string };

/** The compiled worker next to this module, if this module is itself compiled JS. */
export function compiledWorkerPath(): string | undefined {
  const url = new URL('./worker.js', import.meta.url);
  if (!import.meta.url.endsWith('.js')) return undefined;
  const path = fileURLToPath(url);
  return existsSync(path) ? path : undefined;
}

/** Worker threads used when the caller does not say: all cores but one, at least one. */
export function defaultWorkerCount(): number {
  return Math.max(1, availableParallelism() - 1);
}

export interface PoolOptions {
  /** Worker threads; 0 runs in this thread. Ignored (in-thread) when no compiled worker exists. */
  readonly workers: number;
  readonly params: ProposalParams;
  /** Decodes image `index`; undefined means it was skipped (the loader already warned). */
  readonly load: (index: number) => Promise<RgbImage | undefined>;
  /** Called once per image, in completion order; `result` is undefined for a skipped image. */
  readonly onDone: (index: number, result: ImageProposals | undefined) => void;
}

/** How the pool ran, for logs and tests. */
export type PoolMode = 'threads' | 'in-thread';

export async function proposeAll(count: number, options: PoolOptions): Promise<PoolMode> {
  const workerPath = compiledWorkerPath();
  const threads = Math.min(options.workers, count);
  if (workerPath === undefined || threads < 1) {
    for (let i = 0; i < count; i++) {
      const image = await options.load(i);
      options.onDone(i, image === undefined ? undefined : proposeBoxes(image, options.params));
      // Let the progress bar and other I/O run between images.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return 'in-thread';
  }
  const workers = Array.from({ length: threads }, () => new Worker(workerPath));
  let next = 0;
  const drive = async (worker: Worker): Promise<void> => {
    while (next < count) {
      const index = next++;
      const image = await options.load(index);
      if (image === undefined) {
        options.onDone(index, undefined);
        continue;
      }
      const reply = await new Promise<WorkerReply>((resolve, reject) => {
        const onError = (error: Error): void => {
          worker.off('message', onMessage);
          reject(error);
        };
        const onMessage = (message: WorkerReply): void => {
          worker.off('error', onError);
          resolve(message);
        };
        worker.once('message', onMessage);
        worker.once('error', onError);
        // Transfer the pixels' buffer when they own it whole; a view into a shared buffer is copied.
        const owned =
          image.data.byteOffset === 0 && image.data.byteLength === image.data.buffer.byteLength;
        const data = owned ? image.data : image.data.slice();
        const request: WorkerRequest = {
          index,
          width: image.width,
          height: image.height,
          data,
          params: options.params,
        };
        worker.postMessage(request, [data.buffer as ArrayBuffer]);
      });
      if ('error' in reply) {
        throw new Error(`proposal worker failed on image ${index}:\n${reply.error}`);
      }
      options.onDone(index, {
        boxes: unflatten(reply.boxes),
        candidates: reply.candidates,
        stage: reply.stage,
      });
    }
  };
  try {
    await Promise.all(workers.map(drive));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return 'threads';
}

function unflatten(flat: Int32Array): Box[] {
  const boxes: Box[] = [];
  for (let i = 0; i < flat.length; i += 4)
    boxes.push([flat[i], flat[i + 1], flat[i + 2], flat[i + 3]]);
  return boxes;
}
