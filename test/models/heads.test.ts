// FPN (runtime/models/fpn.ts), RetinaNet and FCOS heads, projectors: forward against PyTorch
// transcriptions of mmdetection 2.x on the same weights (test/fixtures/models/{retinanet,fcos}
// .safetensors from scripts/make-model-goldens.py), within 1e-4. Inputs are backbone-shaped maps
// whose top-down resizes are not exact multiples (2×3 → 4×5 → 7×9), so nearest resizing is tested.
import { describe, expect, it } from 'vitest';
import { extractDetectorWeights } from '../../runtime/io/checkpoint-surgery.js';
import { ParameterBinding, applyBufferUpdates } from '../../runtime/nn/binding.js';
import type { Module } from '../../runtime/nn/module.js';
import { loadState } from '../../runtime/nn/state.js';
import { DenseDetector } from '../../runtime/models/detector.js';
import { FcosHead } from '../../runtime/models/fcos-head.js';
import { Fpn, fpnForLevels } from '../../runtime/models/fpn.js';
import type { DenseClassifier } from '../../runtime/models/head-classifier.js';
import { LinearProjector } from '../../runtime/models/projector.js';
import { ResNet } from '../../runtime/models/resnet.js';
import { RetinaHead } from '../../runtime/models/retina-head.js';
import { resizeNearest } from '../../runtime/models/upsample.js';
import { Rng } from '../../runtime/rng.js';
import { Tensor, withTrace } from '../../runtime/tensor/tensor.js';
import { Trace } from '../../runtime/tensor/trace.js';
import type { ModelFixture } from './golden.js';
import { loadModelFixture, maxRelativeError } from './golden.js';

const TOLERANCE = 1e-4;
const C_CHANNELS = [8, 16, 32, 64];
const STRIDES = [8, 16, 32, 64, 128];

function load(fx: ModelFixture, module: Module, prefix: string): void {
  const r = loadState(module, fx.tensors, { file: fx.file, prefix, strict: true });
  expect(r.missing).toEqual([]);
}

async function expectClose(actual: Tensor, fx: ModelFixture, name: string): Promise<void> {
  expect(await maxRelativeError(actual, fx.get(name)), name).toBeLessThan(TOLERANCE);
}

function backboneMaps(fx: ModelFixture, trace: Trace): Tensor[] {
  return [2, 3, 4, 5].map((l) => Tensor.from(fx.data(`in.c${l}`), trace));
}

describe('FPN + RetinaNet head against mmdet 2.x (PyTorch)', () => {
  const fx = loadModelFixture('retinanet.safetensors');
  const neck = fpnForLevels({
    inChannels: C_CHANNELS,
    inputLevels: [2, 3, 4, 5],
    levels: [3, 7],
    outChannels: 16,
    extraConvs: 'on_input',
  });
  load(fx, neck, 'neck.');
  const trace = new Trace();
  const binding = new ParameterBinding(trace);
  const pyramid = withTrace(trace, () => neck.forward(binding, backboneMaps(fx, trace)));

  it('P3–P7 (extra convs on the input)', async () => {
    expect(pyramid.map((p) => p.shape)).toEqual([
      [1, 16, 7, 9],
      [1, 16, 4, 5],
      [1, 16, 2, 3],
      [1, 16, 1, 2],
      [1, 16, 1, 1],
    ]);
    for (let i = 0; i < 5; i++) await expectClose(pyramid[i], fx, `out.p${i + 3}`);
  });

  for (const [prefix, classifier, stackedConvs] of [
    ['sup.', { kind: 'logits', numClasses: 3 }, 4],
    ['pre.', { kind: 'projector', dim: 4 }, 2],
  ] as const satisfies readonly (readonly [string, DenseClassifier, number])[]) {
    it(`${classifier.kind === 'logits' ? 'supervised (3 classes)' : 'AlignDet projector (4-d embeddings)'}, ${stackedConvs}-conv towers: cls and reg on every level`, async () => {
      const head = new RetinaHead({ inChannels: 16, featChannels: 16, stackedConvs, classifier });
      load(fx, head, `${prefix}bbox_head.`);
      const outs = withTrace(trace, () => head.forward(binding, pyramid));
      for (let i = 0; i < 5; i++) {
        await expectClose(outs[i].cls, fx, `out.${prefix}cls${i}`);
        await expectClose(outs[i].reg, fx, `out.${prefix}reg${i}`);
      }
    });
  }
});

describe('FPN + FCOS head against mmdet 2.x (PyTorch)', () => {
  const fx = loadModelFixture('fcos.safetensors');
  const neck = new Fpn({
    inChannels: C_CHANNELS,
    outChannels: 16,
    numOuts: 5,
    startLevel: 1,
    extraConvs: 'on_output',
    reluBeforeExtraConvs: true,
  });
  load(fx, neck, 'neck.');
  const trace = new Trace();
  const binding = new ParameterBinding(trace);
  const maps = backboneMaps(fx, trace);
  const pyramid = withTrace(trace, () => neck.forward(binding, maps));
  const gn = { kind: 'gn', groups: 4 } as const;

  it('P3–P7 (extra convs on the output, ReLU before the second)', async () => {
    for (let i = 0; i < 5; i++) await expectClose(pyramid[i], fx, `out.p${i + 3}`);
  });

  it('supervised head: logits, exp(scale·reg), centerness on the reg and on the cls tower', async () => {
    const classifier = { kind: 'logits', numClasses: 3 } as const;
    const onReg = new FcosHead({ inChannels: 16, strides: STRIDES, norm: gn, classifier });
    const onCls = new FcosHead({
      inChannels: 16,
      strides: STRIDES,
      norm: gn,
      classifier,
      centernessOnReg: false,
    });
    const normed = new FcosHead({
      inChannels: 16,
      strides: STRIDES,
      norm: gn,
      classifier,
      normOnBbox: true,
    }).eval();
    for (const h of [onReg, onCls, normed]) load(fx, h, 'sup.bbox_head.');
    const [a, b, c] = withTrace(trace, () =>
      [onReg, onCls, normed].map((h) => h.forward(binding, pyramid)),
    );
    for (let i = 0; i < 5; i++) {
      await expectClose(a[i].cls, fx, `out.sup.cls${i}`);
      await expectClose(a[i].reg, fx, `out.sup.reg${i}`);
      await expectClose(a[i].centerness, fx, `out.sup.ctr_reg${i}`);
      await expectClose(b[i].centerness, fx, `out.sup.ctr_cls${i}`);
      await expectClose(c[i].reg, fx, `out.sup.regnorm${i}`);
    }
  });

  it('AlignDet projector head (Conv3×3 → ReLU → Conv1×1)', async () => {
    const head = new FcosHead({
      inChannels: 16,
      strides: STRIDES,
      norm: gn,
      classifier: { kind: 'projector', dim: 4 },
    });
    load(fx, head, 'pre.bbox_head.');
    const outs = withTrace(trace, () => head.forward(binding, pyramid));
    for (let i = 0; i < 5; i++) {
      await expectClose(outs[i].cls, fx, `out.pre.cls${i}`);
      await expectClose(outs[i].reg, fx, `out.pre.reg${i}`);
    }
  });

  it('FPN P2–P6 (no extra convs: a stride-2 max pool)', async () => {
    const p2p6 = fpnForLevels({
      inChannels: C_CHANNELS,
      inputLevels: [2, 3, 4, 5],
      levels: [2, 6],
      outChannels: 8,
    });
    load(fx, p2p6, 'p2p6.neck.');
    const outs = withTrace(trace, () => p2p6.forward(binding, maps));
    for (let i = 0; i < 5; i++) await expectClose(outs[i], fx, `out.p2p6.p${i + 2}`);
  });

  it('nearest resizing by non-multiple sizes, up and down (F.interpolate size=)', async () => {
    const x = Tensor.from(fx.data('in.resize'), trace);
    await expectClose(resizeNearest(x, 29, 20), fx, 'out.resize');
    await expectClose(resizeNearest(x, 6, 9), fx, 'out.resize_down');
  });

  it('Linear projector (R-CNN fc_cls / DETR)', async () => {
    const proj = new LinearProjector(12, 10, 6);
    load(fx, proj, 'linproj.');
    const y = withTrace(trace, () =>
      proj.forward(binding, Tensor.from(fx.data('in.linproj'), trace)),
    );
    await expectClose(y, fx, 'out.linproj');
  });
});

describe('FPN with BN (fine-tuning SyncBN) in training mode against PyTorch', () => {
  it('normalises by batch statistics and updates the running statistics as torch does', async () => {
    const fx = loadModelFixture('fpn-bn.safetensors');
    const neck = new Fpn({
      inChannels: C_CHANNELS,
      outChannels: 8,
      numOuts: 5,
      startLevel: 1,
      extraConvs: 'on_input',
      norm: { kind: 'bn' },
    });
    load(fx, neck, 'neck.');
    expect(neck.state().some((p) => p.name === 'lateral_convs.0.conv.bias')).toBe(false);
    const trace = new Trace();
    const binding = new ParameterBinding(trace, neck);
    const outs = withTrace(trace, () =>
      neck.forward(
        binding,
        [2, 3, 4, 5].map((l) => Tensor.from(fx.data(`in.c${l}`), trace)),
      ),
    );
    for (let i = 0; i < 5; i++) await expectClose(outs[i], fx, `out.p${i + 3}`);
    expect(binding.updates.size).toBe(3 * 8);
    await applyBufferUpdates(binding);
    for (const { name, parameter } of neck.state()) {
      if (parameter.kind !== 'buffer') continue;
      const expected = fx.get(`after.neck.${name}`);
      const got = parameter.value!;
      expected.data.forEach((e, i) => {
        expect(Math.abs(got[i] - e), `${name}[${i}]`).toBeLessThan(
          TOLERANCE * Math.max(1, Math.abs(e)),
        );
      });
    }
  });
});

describe('detector composition and names', () => {
  it('DenseDetector uses mmdet prefixes; checkpoint surgery drops exactly the predictors', () => {
    const backbone = new ResNet({ depth: 18, widthMultiplier: 0.125, outIndices: [1, 2, 3] });
    const neck = new Fpn({
      inChannels: backbone.outChannels,
      outChannels: 16,
      numOuts: 5,
      extraConvs: 'on_input',
    });
    const det = new DenseDetector(
      backbone,
      neck,
      new RetinaHead({ inChannels: 16, classifier: { kind: 'projector', dim: 8 } }),
    ).initialize(Rng.fromSeed(1));
    const names = det.state().map((p) => p.name);
    expect(names).toContain('backbone.layer4.1.bn2.running_var');
    expect(names).toContain('neck.lateral_convs.0.conv.weight');
    expect(names).toContain('neck.fpn_convs.4.conv.bias');
    expect(names).toContain('bbox_head.cls_convs.3.conv.weight');
    expect(names).toContain('bbox_head.retina_cls.2.weight');
    const state = new Map(det.state().map((p) => [p.name, p.parameter.value]));
    const { dropped } = extractDetectorWeights(state, 'x', { prefix: '' });
    expect([...dropped].sort()).toEqual(
      [
        'bbox_head.retina_cls.0.weight',
        'bbox_head.retina_cls.0.bias',
        'bbox_head.retina_cls.2.weight',
        'bbox_head.retina_cls.2.bias',
        'bbox_head.retina_reg.weight',
        'bbox_head.retina_reg.bias',
      ].sort(),
    );
  });

  it('FCOS head names: GN towers without conv bias, scalar scales', () => {
    const head = new FcosHead({
      inChannels: 32,
      strides: STRIDES,
      classifier: { kind: 'logits', numClasses: 2 },
    });
    const shapes = Object.fromEntries(head.state().map((p) => [p.name, p.parameter.shape]));
    expect(shapes['cls_convs.0.conv.weight']).toEqual([32, 32, 3, 3]);
    expect(shapes['cls_convs.0.conv.bias']).toBeUndefined();
    expect(shapes['reg_convs.3.gn.bias']).toEqual([32]);
    expect(shapes['conv_centerness.weight']).toEqual([1, 32, 3, 3]);
    expect(shapes['scales.4.scale']).toEqual([]);
    expect(Object.keys(shapes)).toHaveLength(4 * 3 * 2 + 2 + 2 + 2 + 5);
  });

  it('rejects an FPN that cannot be built', () => {
    expect(() => new Fpn({ inChannels: [8, 16], outChannels: 8, numOuts: 1 })).toThrow(
      /needs at least 2 outputs/,
    );
    expect(() =>
      fpnForLevels({ inChannels: [8], inputLevels: [5], levels: [3, 7], outChannels: 8 }),
    ).toThrow(/level 3 is not a backbone output/);
  });
});
