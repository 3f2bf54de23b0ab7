// The module system (runtime/nn): gradients of small blocks (conv–BN–ReLU, conv–GN–ReLU, Scale–exp)
// through autodiff against central finite differences, initialisers as mmdet applies them per
// layer, loading/saving by name with its errors, placeholder bindings, and the per-prior
// flattening of head outputs (runtime/models/dense-outputs.ts).
import { describe, expect, it } from 'vitest';
import { checkGradients } from '../../runtime/autodiff/check-grad.js';
import type { TensorData } from '../../runtime/cpu/tensor-data.js';
import { parseSafetensors, serializeSafetensors } from '../../runtime/io/safetensors.js';
import {
  ParameterBinding,
  placeholderBinding,
  placeholderValues,
} from '../../runtime/nn/binding.js';
import { ParameterLoadError, UninitializedParameterError } from '../../runtime/nn/errors.js';
import { biasForPrior } from '../../runtime/nn/init.js';
import { ConvModule } from '../../runtime/nn/conv-module.js';
import { Conv2d, Scale } from '../../runtime/nn/layers.js';
import type { BatchNorm2d } from '../../runtime/nn/norm.js';
import type { Module, Parameter } from '../../runtime/nn/module.js';
import { loadState, stateTensors } from '../../runtime/nn/state.js';
import { flattenPriors } from '../../runtime/models/dense-outputs.js';
import { FcosHead } from '../../runtime/models/fcos-head.js';
import { Fpn } from '../../runtime/models/fpn.js';
import { ResNet } from '../../runtime/models/resnet.js';
import { RetinaHead } from '../../runtime/models/retina-head.js';
import { Rng } from '../../runtime/rng.js';
import type { Tensor } from '../../runtime/tensor/tensor.js';
import { Tensor as T, activeTrace, withTrace } from '../../runtime/tensor/tensor.js';
import { Trace } from '../../runtime/tensor/trace.js';

function randomData(shape: number[], rng: Rng, lo = -1, hi = 1): TensorData {
  const n = shape.reduce((a, b) => a * b, 1);
  return {
    shape,
    dtype: 'f32',
    data: Float32Array.from({ length: n }, () => rng.uniformIn(lo, hi)),
  };
}

function setValue(p: Parameter, rng: Rng, lo = -1, hi = 1): void {
  p.value = randomData([...p.shape], rng, lo, hi).data as Float32Array;
}

describe('gradients of small blocks against finite differences (f64)', () => {
  const rng = Rng.fromSeed(11);

  for (const mode of ['running statistics (eval)', 'batch statistics (training)'] as const) {
    it(`conv → BN with ${mode} → ReLU: input, weight, BN weight and bias`, () => {
      const block = new ConvModule(2, 3, 3, { padding: 1, norm: { kind: 'bn' } }).initialize(
        Rng.fromSeed(1),
      );
      block.train(mode === 'batch statistics (training)');
      const bn = block.norm as BatchNorm2d;
      expect(bn.usesBatchStatistics).toBe(mode === 'batch statistics (training)');
      setValue(bn.runningMean, rng, -0.3, 0.3);
      setValue(bn.runningVar, rng, 0.5, 1.5);
      const trainable = [block.conv.weight, bn.weight, bn.bias];
      const fn = (x: Tensor, w: Tensor, g: Tensor, beta: Tensor) => {
        const b = new ParameterBinding(activeTrace());
        [w, g, beta].forEach((t, i) => b.bind(trainable[i], t));
        // A fixed random weighting so the summed output is not symmetric in the channels.
        const weights = T.from(randomData([1, 3, 4, 5], Rng.fromSeed(5)));
        return block.forward(b, x).mul(weights);
      };
      const args = [
        randomData([1, 2, 4, 5], rng),
        randomData([3, 2, 3, 3], rng),
        randomData([3], rng, 0.5, 1.5),
        randomData([3], rng),
      ];
      const result = checkGradients(fn, args);
      expect(result.maxError).toBeLessThan(1e-6);
      // Non-vacuous: every argument has a non-zero gradient somewhere.
      for (const g of result.analytic) expect(g.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    });
  }

  it('conv → GN → ReLU (an FCOS tower layer) and Scale → exp (its regression output)', () => {
    const block = new ConvModule(4, 4, 3, { padding: 1, norm: { kind: 'gn', groups: 2 } });
    const scale = new Scale();
    const gnWeight = (block.norm as Module & { weight: Parameter }).weight;
    const fn = (x: Tensor, w: Tensor, g: Tensor, s: Tensor) => {
      const b = new ParameterBinding(activeTrace());
      b.bind(block.conv.weight, w).bind(gnWeight, g).bind(scale.scale, s);
      const bias = (block.norm as Module & { bias: Parameter }).bias;
      b.bind(
        bias,
        T.from({ shape: [4], dtype: 'f32', data: Float32Array.from([0.1, -0.2, 0.3, 0]) }),
      );
      return scale.forward(b, block.forward(b, x)).mul(0.3).exp();
    };
    const args = [
      randomData([2, 4, 3, 3], rng),
      randomData([4, 4, 3, 3], rng, -0.5, 0.5),
      randomData([4], rng, 0.5, 1.5),
      { shape: [], dtype: 'f32', data: Float32Array.from([0.8]) } satisfies TensorData,
    ];
    const result = checkGradients(fn, args);
    expect(result.maxError).toBeLessThan(1e-6);
    for (const g of result.analytic) expect(g.some((v) => Math.abs(v) > 1e-3)).toBe(true);
  });
});

function stats(values: Float32Array): { mean: number; std: number; min: number; max: number } {
  let s = 0;
  let s2 = 0;
  for (const v of values) {
    s += v;
    s2 += v * v;
  }
  const mean = s / values.length;
  return {
    mean,
    std: Math.sqrt(s2 / values.length - mean * mean),
    min: values.reduce((a, b) => Math.min(a, b), Infinity),
    max: values.reduce((a, b) => Math.max(a, b), -Infinity),
  };
}

function valueOf(m: Module, name: string): Float32Array {
  const p = m.state().find((e) => e.name === name);
  if (p?.parameter.value === undefined) throw new Error(`no value for ${name}`);
  return p.parameter.value;
}

describe('initialisation as mmdet applies it', () => {
  it('RetinaNet head: Normal(0.01) convs, zero biases, focal prior bias −log(99)', () => {
    const head = new RetinaHead({
      inChannels: 64,
      classifier: { kind: 'logits', numClasses: 20 },
    }).initialize(Rng.fromSeed(1));
    const w = stats(valueOf(head, 'cls_convs.0.conv.weight'));
    expect(Math.abs(w.mean)).toBeLessThan(3e-4);
    expect(w.std).toBeGreaterThan(0.0097);
    expect(w.std).toBeLessThan(0.0103);
    expect(stats(valueOf(head, 'cls_convs.0.conv.bias')).max).toBe(0);
    const prior = valueOf(head, 'retina_cls.bias');
    expect(prior).toHaveLength(9 * 20);
    expect(prior[0]).toBeCloseTo(-Math.log(99), 5);
    expect(biasForPrior(0.01)).toBeCloseTo(-4.59512, 5);
    expect(stats(valueOf(head, 'retina_reg.bias')).max).toBe(0);
  });

  it('AlignDet projector heads: Normal(0.01), no focal prior', () => {
    const retina = new RetinaHead({
      inChannels: 16,
      classifier: { kind: 'projector', dim: 8 },
    }).initialize(Rng.fromSeed(1));
    expect(valueOf(retina, 'retina_cls.2.weight')).toHaveLength(72 * 16);
    expect(stats(valueOf(retina, 'retina_cls.2.bias')).max).toBe(0);
    const fcos = new FcosHead({
      inChannels: 32,
      strides: [8],
      classifier: { kind: 'projector', dim: 8 },
    }).initialize(Rng.fromSeed(1));
    expect(stats(valueOf(fcos, 'conv_cls.0.bias')).max).toBe(0);
    expect(valueOf(fcos, 'scales.0.scale')).toEqual(Float32Array.from([1]));
    expect(stats(valueOf(fcos, 'cls_convs.0.gn.weight')).min).toBe(1);
  });

  it('ResNet: Kaiming fan_out, BN 1/0, zero-init residual; FPN Xavier-uniform', () => {
    const net = new ResNet({ depth: 18, widthMultiplier: 0.25 }).initialize(Rng.fromSeed(2));
    const w = stats(valueOf(net, 'layer3.0.conv1.weight')); // [64, 32, 3, 3]: fan_out 576
    expect(w.std / Math.sqrt(2 / 576)).toBeGreaterThan(0.98);
    expect(w.std / Math.sqrt(2 / 576)).toBeLessThan(1.02);
    expect(stats(valueOf(net, 'layer3.0.bn1.weight')).min).toBe(1);
    expect(stats(valueOf(net, 'layer3.0.bn2.weight')).max).toBe(0);
    expect(stats(valueOf(net, 'layer3.0.bn1.running_var')).min).toBe(1);
    const fpn = new Fpn({ inChannels: [128, 256], outChannels: 64, numOuts: 2 }).initialize(
      Rng.fromSeed(2),
    );
    const bound = Math.sqrt(6 / (64 * 9 + 64 * 9)); // fpn_convs: [64, 64, 3, 3]
    const f = stats(valueOf(fpn, 'fpn_convs.0.conv.weight'));
    expect(f.max).toBeLessThanOrEqual(bound);
    expect(f.max).toBeGreaterThan(0.98 * bound);
    expect(f.std / (bound / Math.sqrt(3))).toBeGreaterThan(0.97);
  });

  it('values depend on the seed and the parameter name only', () => {
    const a = new Conv2d(3, 4, 3).initialize(Rng.fromSeed(9), 'x.');
    const b = new Conv2d(3, 4, 3).initialize(Rng.fromSeed(9), 'x.');
    const c = new Conv2d(3, 4, 3).initialize(Rng.fromSeed(9), 'y.');
    expect(a.weight.value).toEqual(b.weight.value);
    expect(a.weight.value).not.toEqual(c.weight.value);
    // torch's default conv bias: U(±1/sqrt(fan_in)), fan_in 27.
    expect(stats(a.bias!.value!).max).toBeLessThanOrEqual(1 / Math.sqrt(27));
  });
});

describe('loading and saving by name', () => {
  const make = () => new ConvModule(2, 4, 3, { norm: { kind: 'bn' } });

  it('round-trips through safetensors, BN counter as I64', () => {
    const a = make().initialize(Rng.fromSeed(4));
    const bytes = serializeSafetensors(stateTensors(a, 'neck.'));
    const loaded = parseSafetensors(bytes, 'a.safetensors');
    expect(loaded.tensors.get('neck.bn.num_batches_tracked')?.storedDtype).toBe('I64');
    const b = make();
    const report = loadState(b, new Map([...loaded.tensors].map(([k, v]) => [k, v.tensor])), {
      file: 'a.safetensors',
      prefix: 'neck.',
      strict: true,
    });
    expect(report.loaded).toHaveLength(6);
    expect(b.conv.weight.value).toEqual(a.conv.weight.value);
  });

  it('lists missing and unexpected names in strict mode and changes nothing on failure', () => {
    const a = make().initialize(Rng.fromSeed(4));
    const tensors = new Map(
      [...stateTensors(a)].filter(([k]) => k !== 'bn.bias').map(([k, v]) => [k, v.tensor]),
    );
    tensors.set('bn.extra', { kind: 'float', shape: [1], data: new Float32Array(1) });
    const b = make();
    expect(() => loadState(b, tensors, { file: 'w.safetensors', strict: true })).toThrow(
      /w\.safetensors: weights do not fit the model: missing "bn\.bias"; unexpected "bn\.extra"/,
    );
    expect(b.conv.weight.value).toBeUndefined();
    const lenient = loadState(b, tensors, { file: 'w.safetensors' });
    expect(lenient.missing).toEqual(['bn.bias']);
    expect(lenient.unexpected).toEqual(['bn.extra']);
  });

  it('rejects integer data for a float parameter', () => {
    const tensors = new Map([
      ['conv.weight', { kind: 'int' as const, shape: [4, 2, 3, 3], data: new Int32Array(72) }],
    ]);
    expect(() => loadState(make(), tensors, { file: 'w' })).toThrow(ParameterLoadError);
  });

  it('a parameter without a value is a typed error naming it', () => {
    const m = make();
    const trace = new Trace();
    expect(() =>
      m.forward(
        new ParameterBinding(trace, m),
        T.from(randomData([1, 2, 5, 5], Rng.fromSeed(1)), trace),
      ),
    ).toThrow(UninitializedParameterError);
    expect(() =>
      m.forward(
        new ParameterBinding(trace, m),
        T.from(randomData([1, 2, 5, 5], Rng.fromSeed(1)), trace),
      ),
    ).toThrow(/parameter conv\.weight has no value/);
  });
});

describe('bindings and per-prior flattening', () => {
  it('a placeholder-traced forward replays with the parameter values', async () => {
    const m = new ConvModule(2, 3, 3, { padding: 1, norm: { kind: 'bn' } }).initialize(
      Rng.fromSeed(8),
    );
    const x = randomData([1, 2, 4, 4], Rng.fromSeed(3));
    const eagerTrace = new Trace();
    const eager = await withTrace(eagerTrace, () =>
      m.forward(new ParameterBinding(eagerTrace, m), T.from(x, eagerTrace)),
    ).data();
    const trace = new Trace();
    const { binding, placeholders } = placeholderBinding(m, trace);
    expect(placeholders.map((p) => p.name)).toEqual(m.state().map((p) => p.name));
    const y = withTrace(trace, () => m.forward(binding, T.from(x, trace)));
    const { graph, bindings } = trace.extract(
      [y.id],
      placeholders.map((p) => p.tensor.id),
    );
    const { interpret } = await import('../../runtime/cpu/interpret.js');
    const [replayed] = interpret(graph, [...placeholderValues(placeholders), ...bindings]);
    expect(Array.from(replayed.data)).toEqual(Array.from(eager.data));
  });

  it('flattenPriors: image-major, then level, then location, then anchor', async () => {
    const trace = new Trace();
    // Level 0: [1, A·C = 2·3, 2, 2]; level 1: [1, 6, 1, 1]. Value = 1000·level + 100·ch + 10·y + x.
    const level = (l: number, h: number, w: number) => {
      const data: number[] = [];
      for (let c = 0; c < 6; c++)
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++) data.push(1000 * l + 100 * c + 10 * y + x);
      return T.from({ shape: [1, 6, h, w], dtype: 'f32', data: Float32Array.from(data) }, trace);
    };
    const flat = withTrace(trace, () => flattenPriors([level(0, 2, 2), level(1, 1, 1)], 3));
    expect(flat.shape).toEqual([1, 10, 3]);
    const v = await flat.toArray();
    // Prior 3 = location (y 0, x 1), anchor 1: channels 3..5.
    expect(v.slice(9, 12)).toEqual([301, 401, 501]);
    // Prior 8 = level 1, location 0, anchor 0.
    expect(v.slice(24, 27)).toEqual([1000, 1100, 1200]);
  });
});
