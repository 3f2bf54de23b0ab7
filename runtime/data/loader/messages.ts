// The messages between the data loader (main thread) and its prefetch worker (worker-entry.ts).
// Data side of the flow: Dataset → views → batches, with the batch-making moved off the main thread.

import type { Batch } from './batch.js';
import type { DataWarningKind } from '../warnings.js';

export type ToWorker =
  /** Start producing `epoch`; the worker may run `credits` batches ahead of what was consumed. */
  | { readonly type: 'epoch'; readonly epoch: number; readonly credits: number }
  /** One batch was consumed: the worker may produce one more. */
  | { readonly type: 'credit' };

export type FromWorker =
  | { readonly type: 'batch'; readonly batch: Batch }
  | {
      readonly type: 'warning';
      readonly kind: DataWarningKind;
      readonly item: string;
      readonly detail: string;
    }
  | { readonly type: 'done'; readonly epoch: number }
  | { readonly type: 'error'; readonly message: string; readonly dataset: boolean };

/** The buffers of a batch, transferred (not copied) to the main thread. */
export function batchBuffers(batch: Batch): ArrayBuffer[] {
  const arrays: ArrayBufferView[] = [
    batch.sampleIndices,
    batch.imageIds,
    batch.instanceIds,
    batch.present,
    batch.labels,
    ...batch.views.flatMap((v) => [v.images, v.imageSizes, v.boxes, v.boxMask, v.transforms]),
  ];
  return [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))];
}
