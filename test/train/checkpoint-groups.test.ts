// The checkpoint groups every training step saves and restores (runtime/train/checkpoint-groups.ts)
// and the state a step starts from (runtime/train/step-state.ts): a restore replaces each map's
// values by the checkpoint's tensors of the same names, refuses a missing group, a missing tensor
// or another shape with the tensor's full name, and changes nothing when it refuses.

import { describe, expect, it } from 'vitest';
import type { TensorData } from '../../runtime/cpu/tensor-data.js';
import { Parameter } from '../../runtime/nn/module.js';
import { groupsOf, restoreGroups, shapesOf } from '../../runtime/train/checkpoint-groups.js';
import { TrainSetupError } from '../../runtime/train/errors.js';
import { splitTrainable, valuesOf, zeroOptimizerState } from '../../runtime/train/step-state.js';

const t = (shape: number[], ...values: number[]): TensorData => ({
  shape,
  dtype: 'f32',
  data: Float32Array.from(
    values.length > 0 ? values : new Array(shape.reduce((a, b) => a * b, 1)).fill(0),
  ),
});

function stepMaps() {
  const params = new Map([
    ['conv.weight', t([2, 1], 0, 0)],
    ['conv.bias', t([2], 0, 0)],
  ]);
  const frozen = new Map([['bn.running_mean', t([2], 0, 0)]]);
  return { params, frozen, list: [['net.', params] as const, ['net_frozen.', frozen] as const] };
}

function checkpoint(): Map<string, Map<string, TensorData>> {
  return new Map([
    [
      'net.',
      new Map([
        ['conv.weight', t([2, 1], 1, 2)],
        ['conv.bias', t([2], 3, 4)],
      ]),
    ],
    ['net_frozen.', new Map([['bn.running_mean', t([2], 5, 6)]])],
  ]);
}

describe('checkpoint groups', () => {
  it('lists the groups in order and restores every tensor by name', () => {
    const { params, frozen, list } = stepMaps();
    expect([...groupsOf(list).keys()]).toEqual(['net.', 'net_frozen.']);
    restoreGroups(checkpoint(), list, 'model');
    expect([...params.get('conv.weight')!.data]).toEqual([1, 2]);
    expect([...params.get('conv.bias')!.data]).toEqual([3, 4]);
    expect([...frozen.get('bn.running_mean')!.data]).toEqual([5, 6]);
    expect(shapesOf(params)).toEqual({ 'conv.weight': [2, 1], 'conv.bias': [2] });
  });

  it('refuses a missing group, a missing tensor and another shape, replacing nothing', () => {
    const cases: [(c: Map<string, Map<string, TensorData>>) => void, RegExp][] = [
      [(c) => c.delete('net_frozen.'), /has no tensor group 'net_frozen\.'/],
      [
        (c) => c.get('net_frozen.')!.delete('bn.running_mean'),
        /no tensor 'net_frozen\.bn\.running_mean'/,
      ],
      [
        (c) => c.get('net_frozen.')!.set('bn.running_mean', t([3], 1, 2, 3)),
        /'net_frozen\.bn\.running_mean' is \[3\], the model's is \[2\]/,
      ],
    ];
    for (const [spoil, message] of cases) {
      const { params, list } = stepMaps();
      const c = checkpoint();
      spoil(c);
      expect(() => restoreGroups(c, list, 'model')).toThrow(TrainSetupError);
      expect(() => restoreGroups(c, list, 'model')).toThrow(message);
      // The first group fits, but nothing was taken from it.
      expect([...params.get('conv.weight')!.data]).toEqual([0, 0]);
    }
  });
});

const ZERO = { kind: 'constant', value: 0 } as const;

describe('step state', () => {
  it('splits trainable parameters from buffers and frozen ones, and zeroes the optimizer slots', () => {
    const w = new Parameter([2, 2], ZERO);
    w.value = Float32Array.of(1, 2, 3, 4);
    const b = new Parameter([2], ZERO, 'buffer');
    b.value = Float32Array.of(5, 6);
    const f = new Parameter([1], ZERO);
    f.value = Float32Array.of(7);
    f.trainable = false;
    const all = [
      { name: 'w', parameter: w },
      { name: 'running_mean', parameter: b },
      { name: 'frozen', parameter: f },
    ];
    const { trainable, frozen } = splitTrainable(all);
    expect(trainable.map((p) => p.name)).toEqual(['w']);
    expect(frozen.map((p) => p.name)).toEqual(['running_mean', 'frozen']);
    const params = valuesOf(trainable);
    expect([...params.get('w')!.data]).toEqual([1, 2, 3, 4]);
    const state = zeroOptimizerState(params, {
      kind: 'adamw',
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0,
    });
    expect([...state.keys()]).toEqual(['w.exp_avg', 'w.exp_avg_sq']);
    expect(state.get('w.exp_avg')!.shape).toEqual([2, 2]);
    expect([...state.get('w.exp_avg_sq')!.data]).toEqual([0, 0, 0, 0]);
    const unset = new Parameter([1], ZERO);
    expect(() => valuesOf([{ name: 'x', parameter: unset }], 'load it')).toThrow(
      /parameter x has no value/,
    );
  });
});
