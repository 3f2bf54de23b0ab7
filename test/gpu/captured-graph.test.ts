// Capture and replay of a compiled graph (runtime/webgpu/captured-graph.ts, the command batcher's
// capture, the buffer arena): a replayed step gives the CPU reference's values for new inputs every
// time, keeps uploaded constants across replays although their buffers' lifetimes ended, plans its
// intermediates into less memory than one buffer per acquisition, survives other work on the same
// device between replays, and a step that waits on the GPU mid-way is refused, not replayed wrong.
// The capture policy: a graph is captured on its second run only (a one-off graph holds no arena),
// graphs of one structure share one compile, and the backend keeps a bounded number of arenas,
// giving the least recently run one back (which then captures again, still right).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder, type Graph } from '../../compiler/ir/index.js';
import { cnnTrainingStep } from '../../bench/cnn-graph.js';
import { interpret } from '../../runtime/cpu/interpret.js';
import { tensorData, type TensorData } from '../../runtime/cpu/tensor-data.js';
import { acquireGpu, releaseGpu, type GpuContext } from '../../runtime/gpu/index.js';
import { CapturedGraph } from '../../runtime/webgpu/captured-graph.js';
import { webgpuBackend } from '../../runtime/webgpu/backend.js';
import { GraphExecutor } from '../../runtime/webgpu/executor.js';
import { seeded } from '../wgsl/reference.js';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await acquireGpu();
});
afterAll(async () => {
  if (ctx) await releaseGpu(ctx);
});

function inputsFor(graph: Graph, seed: number): TensorData[] {
  return graph.inputs.map((id, k) => {
    const shape = [...graph.nodes[id].shape];
    return tensorData(
      shape,
      seeded(
        shape.reduce((a, b) => a * b, 1),
        seed * 101 + k,
      ),
    );
  });
}

function expectClose(got: TensorData[], want: TensorData[], tolerance: number): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, k) => {
    expect(g.shape).toEqual(want[k].shape);
    for (let i = 0; i < g.data.length; i++) {
      const e = want[k].data[i];
      expect(Math.abs(g.data[i] - e), `output ${k} element ${i}`).toBeLessThanOrEqual(
        tolerance * Math.max(1, Math.abs(e)),
      );
    }
  });
}

/** A literal read first, then a chain of same-sized intermediates that could take its buffer. */
function literalGraph(): Graph {
  const b = new GraphBuilder();
  const x = b.input('x', [64]);
  const c = b.add({
    op: 'literal',
    values: Array.from({ length: 64 }, (_, i) => (i % 7) - 3),
    shape: [64],
    dtype: 'f32',
    inputs: [],
  });
  let y = b.reduce('sum', b.binary('mul', x, c), [0]);
  let z = b.unary('exp', x);
  for (let k = 0; k < 4; k++) z = b.reduce('sum', b.unary('tanh', z), [0]);
  y = b.binary('add', y, z);
  return b.build([y]);
}

const CNN = { batch: 2, size: 9, channels: [3, 4, 6], classes: 3, learningRate: 0.1 };

describe('captured graphs', () => {
  it('a CNN training step replays with new inputs and matches the CPU reference', async () => {
    const { graph } = cnnTrainingStep(CNN);
    const captured = await CapturedGraph.compile(ctx, graph, { capture: true, captureOnRun: 1 });
    for (let round = 0; round < 3; round++) {
      const inputs = inputsFor(graph, round);
      expectClose(await captured.run(inputs), interpret(graph, inputs), 1e-4);
    }
    const stats = captured.stats();
    expect(stats.captured).toBe(true);
    expect(stats.replays).toBe(2);
    expect(stats.dispatches).toBeGreaterThan(10);
    // Lifetime planning: intermediates share buffers, so the arena is smaller than one per tensor.
    expect(stats.arena!.bytes).toBeLessThan(stats.arena!.unplannedBytes);
    captured.release();
  });

  it('uploaded constants survive replays although later intermediates could reuse them', async () => {
    const graph = literalGraph();
    const captured = await CapturedGraph.compile(ctx, graph, { capture: true, captureOnRun: 1 });
    for (let round = 0; round < 3; round++) {
      const inputs = inputsFor(graph, 10 + round);
      expectClose(await captured.run(inputs), interpret(graph, inputs), 1e-5);
    }
    expect(captured.stats().captured).toBe(true);
    captured.release();
  });

  it('interleaved with other graphs and pool traffic, replays stay right', async () => {
    // The first test's structure: its pipelines are compiled already.
    const first = cnnTrainingStep(CNN).graph;
    const second = literalGraph();
    const a = await CapturedGraph.compile(ctx, first, { capture: true, captureOnRun: 1 });
    const b = await CapturedGraph.compile(ctx, second, { capture: true, captureOnRun: 1 });
    const plain = await GraphExecutor.compile(ctx, second);
    for (let round = 0; round < 3; round++) {
      const ia = inputsFor(first, 20 + round);
      const ib = inputsFor(second, 30 + round);
      // Plain runs take pool buffers between replays: none may be an arena buffer.
      const [ra, rp, rb] = [await a.run(ia), await plain.run(ib), await b.run(ib)];
      expectClose(ra, interpret(first, ia), 1e-4);
      expectClose(rb, interpret(second, ib), 1e-5);
      expectClose(rp, rb, 1e-6);
    }
    expect(a.stats().replays).toBe(2);
    a.release();
    b.release();
  });

  it('the backend serialises concurrent runs (evaluation runs graphs under Promise.all)', async () => {
    const backend = webgpuBackend(ctx);
    const graph = cnnTrainingStep(CNN).graph;
    const inputs = [0, 1, 2].map((k) => inputsFor(graph, 50 + k));
    // Three first runs of one structure at once: one compile; the first runs on the pool, the
    // second captures, the third replays.
    const results = await Promise.all(inputs.map((i) => backend.run(graph, i)));
    results.forEach((r, k) => expectClose(r, interpret(graph, inputs[k]), 1e-4));
    expect(backend.stats()).toMatchObject({ compiled: 1, captured: 1, replays: 1, arenas: 1 });
  });

  it('by default a graph is captured on its second run; a one-off graph holds no arena', async () => {
    const graph = literalGraph();
    const captured = await CapturedGraph.compile(ctx, graph, { capture: true });
    for (let round = 0; round < 3; round++) {
      const inputs = inputsFor(graph, 60 + round);
      expectClose(await captured.run(inputs), interpret(graph, inputs), 1e-5);
      if (round === 0) {
        expect(captured.stats()).toMatchObject({ captured: false, runs: 1, replays: 0 });
        expect(captured.arenaBytes()).toBe(0);
      }
    }
    expect(captured.stats()).toMatchObject({ captured: true, runs: 3, replays: 1 });
    expect(captured.arenaBytes()).toBeGreaterThan(0);
    captured.release();
  });

  it('separately traced graphs of one structure share a compile; a structure run once keeps no arena', async () => {
    const backend = webgpuBackend(ctx);
    // Evaluation traces a new Graph object per batch: equal structures must reuse the compile.
    for (let batch = 0; batch < 2; batch++) {
      const graph = literalGraph();
      const inputs = inputsFor(graph, 70 + batch);
      expectClose(await backend.run(graph, inputs), interpret(graph, inputs), 1e-5);
    }
    expect(backend.stats()).toMatchObject({ compiled: 1, reused: 1, captured: 1, replays: 0 });
    // A structure seen once (another image size) runs on the pool and keeps no arena.
    const once = cnnTrainingStep({ ...CNN, size: 7 }).graph;
    const inputs = inputsFor(once, 80);
    expectClose(await backend.run(once, inputs), interpret(once, inputs), 1e-4);
    expect(backend.stats()).toMatchObject({ compiled: 2, captured: 1, arenas: 1 });
  });

  it('past the arena budget the least recently run graph gives its arena back and recaptures', async () => {
    const backend = webgpuBackend(ctx, { arenas: { maxArenas: 1, maxBytes: 1 << 30 } });
    const a = cnnTrainingStep(CNN).graph;
    const b = literalGraph();
    const check = async (graph: Graph, seed: number, tolerance: number): Promise<void> => {
      const inputs = inputsFor(graph, seed);
      expectClose(await backend.run(graph, inputs), interpret(graph, inputs), tolerance);
    };
    await check(a, 90, 1e-4);
    await check(a, 91, 1e-4);
    expect(backend.stats()).toMatchObject({ captured: 1, arenas: 1, arenaEvictions: 0 });
    await check(b, 92, 1e-5);
    await check(b, 93, 1e-5);
    // b's capture took the count past 1: a's arena went back.
    expect(backend.stats()).toMatchObject({ captured: 1, arenas: 1, arenaEvictions: 1 });
    // a captures again on its next run (released graphs do not wait for a repeat) and replays after.
    await check(a, 94, 1e-4);
    await check(a, 95, 1e-4);
    expect(backend.stats()).toMatchObject({ captured: 1, arenas: 1, arenaEvictions: 2 });
    expect(backend.stats().replays).toBeGreaterThanOrEqual(1);
  });

  it('a capture that reads back mid-step is refused', async () => {
    const buffer = ctx.buffers.upload(new Float32Array([1, 2, 3, 4]));
    ctx.queue.beginCapture('mid-step read');
    await ctx.queue.read(buffer, 16);
    const result = ctx.queue.endCapture();
    expect('broken' in result && result.broken).toMatch(/reads a result back/);
    ctx.buffers.release(buffer);
  });

  it('with capture off, runs go through the executor every time', async () => {
    const graph = literalGraph();
    const plain = await CapturedGraph.compile(ctx, graph, { capture: false });
    const inputs = inputsFor(graph, 40);
    expectClose(await plain.run(inputs), interpret(graph, inputs), 1e-5);
    expect(plain.stats()).toMatchObject({ captured: false, replays: 0 });
    expect(plain.stats().reason).toMatch(/ALIGNC_CAPTURE=0/);
  });
});
