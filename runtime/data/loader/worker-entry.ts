// The prefetch worker: runs a BatchProducer off the main thread and posts its batches back with
// their buffers transferred. Data side of the flow: Dataset → views → batches. Started by
// loader.ts from the compiled `worker-entry.js`; every random draw is named by (seed, epoch, sample,
// view), so the batches equal those made on the main thread.

import { parentPort, workerData } from 'node:worker_threads';
import { DatasetError } from '../dataset.js';
import { DataWarnings, type DataWarningKind } from '../warnings.js';
import { batchBuffers, type FromWorker, type ToWorker } from './messages.js';
import { BatchProducer, type LoaderConfig } from './producer.js';

/** Forwards every warning to the main thread, which counts and prints them. */
class ForwardingWarnings extends DataWarnings {
  constructor(private readonly post: (message: FromWorker) => void) {
    super(() => {});
  }
  override add(kind: DataWarningKind, item: string, detail: string): void {
    this.post({ type: 'warning', kind, item, detail });
  }
}

const port = parentPort;
if (port === null) throw new Error('worker-entry.js must run in a worker thread');
const post = (message: FromWorker, transfer: ArrayBuffer[] = []) =>
  port.postMessage(message, transfer);
const producer = new BatchProducer(workerData as LoaderConfig, new ForwardingWarnings(post));

let credits = 0;
let wake: (() => void) | undefined;

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'epoch':
      credits = message.credits;
      void run(message.epoch);
      return;
    case 'credit':
      credits++;
      wake?.();
      return;
    default:
      return message satisfies never;
  }
});

async function run(epoch: number): Promise<void> {
  try {
    for await (const batch of producer.epoch(epoch)) {
      while (credits <= 0) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      credits--;
      post({ type: 'batch', batch }, batchBuffers(batch));
    }
    post({ type: 'done', epoch });
  } catch (error) {
    post({
      type: 'error',
      message: error instanceof Error ? error.message : String(error),
      dataset: error instanceof DatasetError,
    });
  }
}
