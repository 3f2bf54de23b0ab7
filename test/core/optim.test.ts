// runtime/optim against torch.optim (test/fixtures/core/optim.json): SGD (momentum, weight decay,
// Nesterov) and AdamW over three steps, clip_grad_norm_, and the LinearLR / MultiStepLR /
// CosineAnnealingLR schedules. The updates run as IR on the CPU reference, traced once and
// replayed with the step number and learning rate as inputs.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { interpret } from '../../runtime/cpu/interpret.js';
import type { TensorData } from '../../runtime/cpu/tensor-data.js';
import { tensorData } from '../../runtime/cpu/tensor-data.js';
import { adamwStep } from '../../runtime/optim/adamw.js';
import { clipGradNorm, emaUpdate } from '../../runtime/optim/clip-ema.js';
import { cosineMomentum, scheduleValue } from '../../runtime/optim/schedules.js';
import { sgdStep } from '../../runtime/optim/sgd.js';
import { Tensor, withTrace } from '../../runtime/tensor/tensor.js';
import { Trace } from '../../runtime/tensor/trace.js';
import type { FixtureTensor } from './golden-cases.js';
import { fromFixture } from './golden-cases.js';

interface OptimCase {
  name: string;
  params: Record<string, number & boolean & number[]>;
  p0?: FixtureTensor;
  grads?: FixtureTensor[];
  output?: FixtureTensor;
  inputs?: Record<string, FixtureTensor>;
  outputs?: FixtureTensor[];
  norm?: number;
  values?: number[];
}

const here = dirname(fileURLToPath(import.meta.url));
const cases = new Map(
  (
    JSON.parse(readFileSync(join(here, '..', 'fixtures', 'core', 'optim.json'), 'utf8')) as {
      cases: OptimCase[];
    }
  ).cases.map((c) => [c.name, c]),
);

function get(name: string): OptimCase {
  const c = cases.get(name);
  if (c === undefined) throw new Error(`missing golden ${name}`);
  return c;
}

function expectClose(actual: ArrayLike<number>, expected: readonly number[], tol: number): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) =>
    expect(Math.abs(actual[i] - e), `[${i}] ${actual[i]} vs ${e}`).toBeLessThan(
      tol * (1 + Math.abs(e)),
    ),
  );
}

/**
 * Traces one optimizer step once: inputs [param, grad, ...state, lr, step] → outputs
 * [param, ...state], then replays it for each fixture gradient (like a compiled training step).
 */
function replay(
  c: OptimCase,
  stateCount: number,
  step: (p: Tensor, g: Tensor, state: Tensor[], lr: Tensor, t: Tensor) => Tensor[],
): TensorData {
  const p0 = fromFixture(c.p0 as FixtureTensor, true);
  const trace = new Trace();
  const graph = withTrace(trace, () => {
    const ph = (name: string, shape: readonly number[]) =>
      new Tensor(trace, trace.input(undefined, shape, 'f32', name));
    const p = ph('param', p0.shape);
    const g = ph('grad', p0.shape);
    const state = Array.from({ length: stateCount }, (_, i) => ph(`state${i}`, p0.shape));
    const lr = ph('lr', []);
    const t = ph('step', []);
    const outs = step(p, g, state, lr, t);
    return trace.extract(
      outs.map((o) => o.id),
      [p, g, ...state, lr, t].map((x) => x.id),
    ).graph;
  });
  let param = p0;
  let state = Array.from({ length: stateCount }, () =>
    tensorData(p0.shape, new Array<number>(p0.data.length).fill(0), 'f32', true),
  );
  (c.grads as FixtureTensor[]).forEach((g, k) => {
    const scalar = (v: number) => tensorData([], [v], 'f32', true);
    const [next, ...nextState] = interpret(
      graph,
      [param, fromFixture(g, true), ...state, scalar(c.params.lr), scalar(k + 1)],
      {
        float64: true,
      },
    );
    param = next;
    state = nextState;
  });
  return param;
}

describe('optimizers against torch.optim', () => {
  for (const nesterov of [false, true]) {
    it(`SGD momentum + weight decay (nesterov ${nesterov})`, () => {
      const c = get(`sgd-nesterov-${nesterov}`);
      const out = replay(c, 1, (p, g, [buf], lr) => {
        const r = sgdStep(p, g, buf, lr, {
          momentum: c.params.momentum,
          weightDecay: c.params.weightDecay,
          nesterov,
        });
        return [r.param, r.momentumBuffer];
      });
      expectClose(out.data, (c.output as FixtureTensor).data, 1e-7);
    });
  }

  it('AdamW', () => {
    const c = get('adamw');
    const o = {
      beta1: c.params.beta1,
      beta2: c.params.beta2,
      eps: c.params.eps,
      weightDecay: c.params.weightDecay,
    };
    const out = replay(c, 2, (p, g, [m, v], lr, t) => {
      const r = adamwStep(p, g, { m, v }, lr, t, o);
      return [r.param, r.state.m, r.state.v];
    });
    expectClose(out.data, (c.output as FixtureTensor).data, 1e-7);
  });

  it('clip by global norm', async () => {
    const c = get('clip-grad-norm');
    await withTrace(new Trace(), async () => {
      const inputs = c.inputs as Record<string, FixtureTensor>;
      const a = Tensor.from(fromFixture(inputs.a, true));
      const b = Tensor.from(fromFixture(inputs.b, true));
      const { grads, totalNorm } = clipGradNorm([a, b], c.params.maxNorm);
      const backend = {
        name: 'f64',
        run: async (g: Parameters<typeof interpret>[0], i: readonly TensorData[]) =>
          interpret(g, i, { float64: true }),
      };
      expectClose((await totalNorm.data(backend)).data, [c.norm as number], 1e-9);
      const outputs = c.outputs as FixtureTensor[];
      expectClose((await grads[0].data(backend)).data, outputs[0].data, 1e-7);
      expectClose((await grads[1].data(backend)).data, outputs[1].data, 1e-7);
    });
  });

  it('parameter EMA', async () => {
    await withTrace(new Trace(), async () => {
      const target = Tensor.of([3], [1, 2, 3]);
      const online = Tensor.of([3], [3, 2, 1]);
      // Tensors are created before the first await: withTrace sets the active trace synchronously.
      const m = Tensor.full([], 0.5);
      expectClose(await emaUpdate(target, online, 0.75).toArray(), [1.5, 2, 2.5], 1e-7);
      expectClose(await emaUpdate(target, online, m).toArray(), [2, 2, 2], 1e-7);
    });
    expect(cosineMomentum(0.996, 0, 100)).toBeCloseTo(0.996, 12);
    expect(cosineMomentum(0.996, 50, 100)).toBeCloseTo(0.998, 12);
    expect(cosineMomentum(0.996, 100, 100)).toBe(1);
  });
});

describe('schedules against torch.optim.lr_scheduler', () => {
  it('linear warmup', () => {
    const c = get('schedule-warmup');
    const warmup = { iterations: c.params.warmup, startFactor: c.params.startFactor };
    const ours = (c.values as number[]).map((_, i) =>
      scheduleValue(c.params.base, { kind: 'constant' }, i, warmup),
    );
    expectClose(ours, c.values as number[], 1e-9);
  });
  it('step decay', () => {
    const c = get('schedule-step');
    const s = { kind: 'step', milestones: c.params.milestones, gamma: c.params.gamma } as const;
    expectClose(
      (c.values as number[]).map((_, i) => scheduleValue(c.params.base, s, i)),
      c.values as number[],
      1e-9,
    );
  });
  it('cosine', () => {
    const c = get('schedule-cosine');
    const s = { kind: 'cosine', total: c.params.total, min: c.params.min } as const;
    expectClose(
      (c.values as number[]).map((_, i) => scheduleValue(c.params.base, s, i)),
      c.values as number[],
      1e-9,
    );
  });
});
