// ResNet block (runtime/models/resnet.ts): forward of ResNet-18 (width 1/8, 2 images), ResNet-34
// (width 1/16), ResNet-50 (width 1/32) and a GroupNorm ResNet-18 (gcd(32, C) groups, width 3/32)
// against PyTorch on the same weights (test/fixtures/models, made by scripts/make-model-goldens.py
// with torchvision's own blocks), parameter names and shapes against torchvision's state_dict, and
// frozen stages.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { gradients } from '../../runtime/autodiff/grad.js';
import { resnetStateEntries } from '../../runtime/io/weight-names.js';
import { ParameterBinding } from '../../runtime/nn/binding.js';
import { ParameterLoadError } from '../../runtime/nn/errors.js';
import type { Module } from '../../runtime/nn/module.js';
import { BatchNorm2d, GroupNorm } from '../../runtime/nn/norm.js';
import { loadState } from '../../runtime/nn/state.js';
import { loadBackbone } from '../../runtime/models/detector.js';
import { ResNet, RESNET_GN_GROUPS } from '../../runtime/models/resnet.js';
import { Rng } from '../../runtime/rng.js';
import { Tensor, withTrace } from '../../runtime/tensor/tensor.js';
import { Trace } from '../../runtime/tensor/trace.js';
import { MODEL_FIXTURES, loadModelFixture, maxRelativeError } from './golden.js';

const TOLERANCE = 1e-4;

describe('ResNet forward against PyTorch', () => {
  for (const [file, depth, width, norm] of [
    ['resnet18.safetensors', 18, 0.125, 'bn'],
    ['resnet34.safetensors', 34, 0.0625, 'bn'],
    ['resnet50.safetensors', 50, 0.03125, 'bn'],
    // torchvision resnet18 with norm_layer GroupNorm(gcd(32, C), C): 6–48 channels, 3 per group.
    ['resnet18-gn.safetensors', 18, 0.09375, 'gn'],
  ] as const) {
    it(`ResNet-${depth} ×${width} (${norm}): C2–C5 within ${TOLERANCE}`, async () => {
      const fx = loadModelFixture(file);
      expect(fx.config).toEqual({
        depth,
        widthMultiplier: width,
        ...(norm === 'gn' ? { norm } : {}),
      });
      const net = new ResNet({
        depth,
        widthMultiplier: width,
        ...(norm === 'gn' ? { norm: { kind: 'gn', groups: RESNET_GN_GROUPS } } : {}),
      }).eval();
      const report = loadState(net, fx.tensors, { file: fx.file, prefix: 'model.', strict: true });
      expect(report.missing).toEqual([]);
      const trace = new Trace();
      const outs = withTrace(trace, () =>
        net.forward(new ParameterBinding(trace, net), Tensor.from(fx.data('in.images'), trace)),
      );
      expect(outs).toHaveLength(4);
      for (let i = 0; i < 4; i++) {
        expect(await maxRelativeError(outs[i], fx.get(`out.c${i + 2}`)), `C${i + 2}`).toBeLessThan(
          TOLERANCE,
        );
      }
    });
  }
});

describe('ResNet parameter names', () => {
  const names = JSON.parse(readFileSync(`${MODEL_FIXTURES}names.json`, 'utf8')) as Record<
    string,
    [string, number[]][]
  >;
  for (const depth of [18, 50] as const) {
    it(`ResNet-${depth} registry = torchvision state_dict (minus fc), shapes and order`, () => {
      const ours = new ResNet({ depth })
        .state()
        .map(({ name, parameter }) => [name, [...parameter.shape]]);
      const torchvision = names[`resnet${depth}`].filter(([n]) => !n.startsWith('fc.'));
      expect(ours).toEqual(torchvision);
    });
  }

  it('matches runtime/io weight-names at other widths and ResNet-34', () => {
    for (const depth of [18, 34, 50] as const) {
      const ours = new ResNet({ depth, widthMultiplier: 0.25 }).state().map((p) => p.name);
      expect(ours).toEqual(resnetStateEntries(depth, { widthMultiplier: 0.25 }).map((e) => e.name));
    }
  });

  it('GN variant names norms gn1… as mmdet and has no running statistics', () => {
    const names = new ResNet({ depth: 18, widthMultiplier: 0.5, norm: { kind: 'gn', groups: 4 } })
      .state()
      .map((p) => p.name);
    expect(names.slice(0, 3)).toEqual(['conv1.weight', 'gn1.weight', 'gn1.bias']);
    expect(names).toContain('layer2.0.downsample.1.weight');
    expect(names.some((n) => n.includes('running'))).toBe(false);
  });

  it('loads a backbone from torchvision names (fc ignored) or mmdet names (backbone.)', () => {
    const fx = loadModelFixture('resnet18.safetensors');
    const weights = [...fx.tensors].filter(([k]) => k.startsWith('model.'));
    const strip = (k: string) => k.slice('model.'.length);
    const torchvision = new Map(weights.map(([k, v]) => [strip(k), v]));
    torchvision.set('fc.weight', { kind: 'float', shape: [10, 64], data: new Float32Array(640) });
    const mmdet = new Map(weights.map(([k, v]) => [`backbone.${strip(k)}`, v]));
    mmdet.set('neck.lateral_convs.0.conv.bias', {
      kind: 'float',
      shape: [4],
      data: new Float32Array(4),
    });
    for (const [checkpoint, extra] of [
      [torchvision, 'fc.weight'],
      [mmdet, 'neck.lateral_convs.0.conv.bias'],
    ] as const) {
      const net = new ResNet({ depth: 18, widthMultiplier: 0.125 });
      const report = loadBackbone(net, checkpoint, 'in.safetensors');
      expect(report.loaded).toHaveLength(net.state().length);
      expect([...report.unexpected, ...report.outside]).toEqual([extra]);
    }
    torchvision.delete('layer3.1.bn2.running_var');
    expect(() =>
      loadBackbone(
        new ResNet({ depth: 18, widthMultiplier: 0.125 }),
        torchvision,
        'in.safetensors',
      ),
    ).toThrow(
      /in\.safetensors: not a ResNet-18 checkpoint of this width: missing "layer3\.1\.bn2\.running_var"/,
    );
  });

  it('rejects a checkpoint of another width, naming the tensor', () => {
    const fx = loadModelFixture('resnet18.safetensors');
    const net = new ResNet({ depth: 18, widthMultiplier: 0.25 });
    expect(() => loadState(net, fx.tensors, { file: 'r18.safetensors', prefix: 'model.' })).toThrow(
      ParameterLoadError,
    );
    expect(() => loadState(net, fx.tensors, { file: 'r18.safetensors', prefix: 'model.' })).toThrow(
      /r18\.safetensors: .*"model\.conv1\.weight" has shape \[8, 3, 7, 7\], the model expects \[16, 3, 7, 7\]/,
    );
  });
});

describe('ResNet frozen stages', () => {
  it('frozenStages k freezes the stem and stages 1..k, and they get no gradient', () => {
    const net = new ResNet({ depth: 18, widthMultiplier: 0.0625, frozenStages: 1 }).initialize(
      Rng.fromSeed(3),
    );
    const trainable = net.trainableParameters().map((p) => p.name);
    expect(trainable.some((n) => n.startsWith('conv1') || n.startsWith('layer1.'))).toBe(false);
    expect(trainable).toContain('layer2.0.conv1.weight');
    const trace = new Trace();
    const b = new ParameterBinding(trace, net);
    const stem = net.state().find((p) => p.name === 'conv1.weight')!.parameter;
    const l2 = net.state().find((p) => p.name === 'layer2.0.conv1.weight')!.parameter;
    withTrace(trace, () => {
      const image = Tensor.from(
        { shape: [1, 3, 16, 16], dtype: 'f32', data: new Float32Array(768).fill(0.5) },
        trace,
      );
      const [c2, c3] = net.forward(b, image);
      const loss = c3.sum().add(c2.sum());
      // The stem ran under noGrad: its weight is a constant, so its gradient is identically zero.
      const [gStem, gL2] = gradients(loss, [b.tensor(stem), b.tensor(l2)]);
      expect(trace.builder.nodes[gStem.id].op).toBe('fill');
      expect(trace.builder.nodes[gL2.id].op).not.toBe('fill');
    });
  });

  it('norm_eval (default) keeps BN on running statistics in training mode; frozen stages always', () => {
    const bns = (m: Module) => m.modules().filter((x) => x instanceof BatchNorm2d);
    const standard = new ResNet({ depth: 18, widthMultiplier: 0.0625 });
    expect(standard.training).toBe(true);
    expect(bns(standard).every((bn) => !bn.usesBatchStatistics)).toBe(true);
    const net = new ResNet({
      depth: 18,
      widthMultiplier: 0.0625,
      normEval: false,
      frozenStages: 1,
    });
    const child = new Map(net.children());
    expect(bns(child.get('bn1')!).map((bn) => bn.usesBatchStatistics)).toEqual([false]);
    expect(bns(child.get('layer1')!).some((bn) => bn.usesBatchStatistics)).toBe(false);
    expect(bns(child.get('layer2')!).every((bn) => bn.usesBatchStatistics)).toBe(true);
    net.eval();
    expect(bns(net).some((bn) => bn.usesBatchStatistics)).toBe(false);
    net.train();
    expect(bns(child.get('layer1')!).some((bn) => bn.usesBatchStatistics)).toBe(false);
    expect(bns(child.get('layer4')!).every((bn) => bn.usesBatchStatistics)).toBe(true);
  });

  it('rejects impossible options', () => {
    expect(() => new ResNet({ depth: 18, frozenStages: 5 })).toThrow(/frozenStages 5/);
    expect(() => new ResNet({ depth: 18, outIndices: [4] })).toThrow(/outIndices/);
  });

  it('gives each GN layer gcd(groups, channels) groups, so GN(32) fits narrow widths', () => {
    const net = new ResNet({ depth: 18, norm: { kind: 'gn', groups: 32 }, widthMultiplier: 0.25 });
    const groups = net
      .modules()
      .filter((m): m is GroupNorm => m instanceof GroupNorm)
      .map((m) => `${m.channels}/${m.groups}`);
    // Width 0.25: 16, 32, 64, 128 channels.
    expect(new Set(groups)).toEqual(new Set(['16/16', '32/32', '64/32', '128/32']));
  });
});
