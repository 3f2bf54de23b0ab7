// BatchNorm in training mode inside a traced training step (runtime/train/traced-step.ts's extra
// outputs, step-state.ts's recordBufferUpdates): a conv → BN → ReLU → conv network trained two SGD
// steps reproduces PyTorch's losses, parameters and running statistics
// (scripts/make-traced-bn-golden.py → test/fixtures/train/traced-bn.json), with one forward per
// step and with two (the second starting from the first's running statistics, as BYOL's online
// network on two views); and the first step's loss and running statistics equal an eager forward's
// (`applyBufferUpdates`) on the CPU reference.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TensorData } from '../../runtime/cpu/tensor-data.js';
import { applyBufferUpdates, ParameterBinding } from '../../runtime/nn/binding.js';
import { Conv2d } from '../../runtime/nn/layers.js';
import { Module } from '../../runtime/nn/module.js';
import { BatchNorm2d } from '../../runtime/nn/norm.js';
import { cpuReferenceBackend } from '../../runtime/tensor/backend.js';
import { Tensor, withTrace } from '../../runtime/tensor/tensor.js';
import { Trace } from '../../runtime/tensor/trace.js';
import {
  bindState,
  recordBufferUpdates,
  splitTrainable,
  valuesOf,
  zeroOptimizerState,
} from '../../runtime/train/step-state.js';
import {
  runTracedStep,
  traceStep,
  typesOf,
  type TracedStepSpec,
} from '../../runtime/train/traced-step.js';

interface Stored {
  readonly shape: number[];
  readonly data: number[];
}
interface Case {
  readonly forwards: number;
  readonly init: Record<string, Stored>;
  readonly batches: { readonly inputs: number[][]; readonly target: number[] }[];
  readonly steps: { readonly loss: number; readonly state: Record<string, Stored> }[];
}
interface Golden {
  readonly shapes: { readonly input: number[]; readonly target: number[] };
  readonly sizes: { readonly in: number; readonly channels: number; readonly out: number };
  readonly sgd: { readonly lr: number; readonly momentum: number; readonly weight_decay: number };
  readonly cases: Record<'one_forward' | 'two_forwards', Case>;
}

const golden = JSON.parse(
  readFileSync(join(import.meta.dirname, '../fixtures/train/traced-bn.json'), 'utf8'),
) as Golden;

class Net extends Module {
  readonly conv1: Conv2d;
  readonly bn: BatchNorm2d;
  readonly conv2: Conv2d;
  constructor() {
    super();
    const { sizes } = golden;
    this.conv1 = this.addChild('conv1', new Conv2d(sizes.in, sizes.channels, 3, { padding: 1 }));
    this.bn = this.addChild('bn', new BatchNorm2d(sizes.channels));
    this.conv2 = this.addChild('conv2', new Conv2d(sizes.channels, sizes.out, 1));
  }
  forward(b: ParameterBinding, x: Tensor): Tensor {
    return this.conv2.forward(b, this.bn.forward(b, this.conv1.forward(b, x)).relu());
  }
}

function netOf(c: Case): Net {
  const net = new Net();
  for (const { name, parameter } of net.state())
    parameter.value = Float32Array.from(c.init[name].data);
  return net.train();
}

const data = (shape: number[], values: number[]): TensorData => ({
  shape,
  dtype: 'f32',
  data: Float32Array.from(values),
});

function batchOf(c: Case, k: number): Map<string, TensorData> {
  const b = c.batches[k];
  return new Map([
    ...b.inputs.map((x, i) => [`x${i}`, data(golden.shapes.input, x)] as const),
    ['target', data(golden.shapes.target, b.target)],
  ]);
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** Runs the case's steps as one traced step replayed, writing the extra outputs back. */
async function traced(c: Case) {
  const net = netOf(c);
  const entries = net.state();
  const { trainable, frozen: constants } = splitTrainable(entries);
  let params = valuesOf(trainable);
  const frozen = valuesOf(constants);
  const optimizer = {
    kind: 'sgd',
    momentum: golden.sgd.momentum,
    weightDecay: golden.sgd.weight_decay,
  } as const;
  let state = zeroOptimizerState(params, optimizer);
  const spec: TracedStepSpec = {
    params: typesOf(params),
    frozen: typesOf(frozen),
    batch: typesOf(batchOf(c, 0)),
    ema: false,
    optimizer,
    losses: (t) => {
      const target = t.batch.get('target')!;
      // A forward starts from the running statistics the previous one left.
      const tensors = new Map(t.params);
      let total: Tensor | undefined;
      for (let i = 0; i < c.forwards; i++) {
        const b = bindState(target.trace, entries, tensors, t.frozen);
        const loss = net
          .forward(b, t.batch.get(`x${i}`)!)
          .sub(target)
          .square()
          .mean();
        total = total === undefined ? loss : total.add(loss);
        recordBufferUpdates(b, entries, t.extra);
        for (const { name, parameter } of entries) {
          const u = b.updates.get(parameter);
          if (u !== undefined) tensors.set(name, u);
        }
      }
      return { loss: total! };
    },
  };
  const step = traceStep(spec);
  expect([...step.extraNames].sort()).toEqual(
    ['bn.num_batches_tracked', 'bn.running_mean', 'bn.running_var'].sort(),
  );
  const results = [];
  for (let k = 0; k < c.steps.length; k++) {
    const out = await runTracedStep(
      step,
      spec,
      {
        params,
        state,
        ema: new Map(),
        frozen,
        batch: batchOf(c, k),
        lr: golden.sgd.lr,
        momentum: 0,
        step: k + 1,
      },
      cpuReferenceBackend(),
    );
    params = out.params;
    state = out.state;
    for (const [name, value] of out.extra) frozen.set(name, value);
    results.push({
      loss: out.losses.loss,
      tensors: new Map([...params, ...frozen]),
      extra: out.extra,
    });
  }
  return results;
}

describe('BatchNorm with batch statistics in a traced step', () => {
  for (const name of ['one_forward', 'two_forwards'] as const) {
    it(`reproduces PyTorch over two SGD steps (${name.replace('_', ' ')})`, async () => {
      const c = golden.cases[name];
      const results = await traced(c);
      results.forEach((r, k) => {
        const want = c.steps[k];
        expect(Math.abs(r.loss - want.loss)).toBeLessThan(1e-5 * Math.max(1, want.loss));
        for (const [n, t] of Object.entries(want.state)) {
          const got = r.tensors.get(n);
          expect(got, n).toBeDefined();
          expect(maxDiff(got!.data, t.data), `step ${k + 1} ${n}`).toBeLessThan(2e-5);
        }
        // The statistics did move from where they started (the check is not vacuous).
        expect(
          maxDiff(want.state['bn.running_var'].data, c.init['bn.running_var'].data),
        ).toBeGreaterThan(1e-3);
      });
      expect(results[1].tensors.get('bn.num_batches_tracked')!.data[0]).toBe(2 * c.forwards);
    });
  }

  it('gives the eager forward’s loss and running statistics on its first step', async () => {
    const c = golden.cases.two_forwards;
    const [first] = await traced(c);
    const net = netOf(c);
    const batch = batchOf(c, 0);
    let total = 0;
    for (let i = 0; i < c.forwards; i++) {
      const trace = new Trace();
      const binding = new ParameterBinding(trace);
      const loss = withTrace(trace, () =>
        net
          .forward(binding, Tensor.from(batch.get(`x${i}`)!, trace))
          .sub(Tensor.from(batch.get('target')!, trace))
          .square()
          .mean(),
      );
      total += (await loss.data()).data[0];
      await applyBufferUpdates(binding);
    }
    expect(Math.abs(first.loss - total)).toBeLessThan(1e-6 * Math.max(1, total));
    for (const n of ['bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked']) {
      const p = net.state().find((e) => e.name === n)!.parameter;
      expect(maxDiff(first.extra.get(n)!.data, p.value!), n).toBeLessThan(1e-6);
    }
  });
});
