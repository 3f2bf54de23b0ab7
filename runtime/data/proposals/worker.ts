// The worker-thread entry of proposal generation (data side of the flow: decoded image → proposals,
// one image per message). pool.ts starts this file from the compiled `dist/` tree (Node 20 cannot
// start a .ts worker); it receives the pixels with their buffer transferred, runs proposeBoxes and
// sends back the boxes as a flat Int32Array (also transferred).

import { parentPort } from 'node:worker_threads';
import { proposeBoxes } from './propose.js';
import type { WorkerReply, WorkerRequest } from './pool.js';

const port = parentPort;
if (port === null) throw new Error('runtime/data/proposals/worker.js must run as a worker thread');

port.on('message', (request: WorkerRequest) => {
  try {
    const result = proposeBoxes(
      { width: request.width, height: request.height, data: request.data },
      request.params,
    );
    const flat = new Int32Array(result.boxes.length * 4);
    result.boxes.forEach((b, i) => flat.set(b, i * 4));
    const reply: WorkerReply = {
      index: request.index,
      boxes: flat,
      candidates: result.candidates,
      stage: result.stage,
    };
    port.postMessage(reply, [flat.buffer]);
  } catch (error) {
    const reply: WorkerReply = {
      index: request.index,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    };
    port.postMessage(reply);
  }
});
