// Test support for runtime/train: a tiny RetinaNet-shaped detector composed directly from Tensor ops
// (frozen 4-conv backbone → 1×1 lateral neck on strides 8 and 16 → shared head with a cls tower,
// an fc-ReLU-fc projector and a box regressor), two-view synthetic batches in runtime/data's
// `Batch` layout, and a deterministic batch source. Sizes are tiny so the CPU reference runs a
// whole box-domain step in milliseconds. Mirrored by scripts/make-train-goldens.py (PyTorch).

import type { TensorData } from '../../runtime/cpu/tensor-data.js';
import type { Batch, BatchView } from '../../runtime/data/loader/batch.js';
import type { AnchorGeneratorConfig } from '../../runtime/detect/anchors.js';
import { Rng } from '../../runtime/rng.js';
import { Tensor } from '../../runtime/tensor/tensor.js';
import type { BoxDomainDetector, TensorMap } from '../../runtime/train/box-domain-step.js';
import type { MatchingConfig } from '../../runtime/train/box-targets.js';
import type { BatchSource } from '../../runtime/train/stage-loop.js';

export const TINY = {
  backboneChannels: 6,
  width: 8,
  embed: 8,
  anchors: 3,
  image: 32,
} as const;

export const TINY_ANCHORS: AnchorGeneratorConfig = {
  strides: [8, 16],
  ratios: [0.5, 1, 2],
  octaveBaseScale: 2,
  scalesPerOctave: 1,
};

export const TINY_MATCHING: MatchingConfig = {
  anchors: TINY_ANCHORS,
  assigner: { posIouThr: 0.5, negIouThr: 0.4, minPosIou: 0 },
  sampler: { num: 24, posFraction: 1, negPosUb: -1 },
};

function get(p: TensorMap, name: string): Tensor {
  const t = p.get(name);
  if (t === undefined) throw new Error(`tiny detector: no parameter ${name}`);
  return t;
}

function conv(p: TensorMap, x: Tensor, name: string, stride: number, padding: number): Tensor {
  const w = get(p, `${name}.weight`);
  const b = get(p, `${name}.bias`);
  return x.conv2d(w, { stride, padding }).add(b.reshape([1, -1, 1, 1]));
}

/** [B, A·C, H, W] → [B, H·W·A, C]: location-major, then anchor (mmdet's prior order). */
function perAnchor(x: Tensor, channels: number): Tensor {
  const [b] = x.shape;
  return x.permute([0, 2, 3, 1]).reshape([b, -1, channels]);
}

export const tinyDetector: BoxDomainDetector = {
  backbone(p, images) {
    const c1 = conv(p, images, 'conv1', 2, 1).relu();
    const c2 = conv(p, c1, 'conv2', 2, 1).relu();
    const c3 = conv(p, c2, 'conv3', 2, 1).relu();
    const c4 = conv(p, c3, 'conv4', 2, 1).relu();
    return [c3, c4];
  },
  head(p, features) {
    const emb: Tensor[] = [];
    const deltas: Tensor[] = [];
    features.forEach((f, level) => {
      const x = conv(p, f, `neck.lateral_convs.${level}.conv`, 1, 0);
      const cls = conv(p, x, 'bbox_head.cls_convs.0.conv', 1, 1).relu();
      const hidden = conv(p, cls, 'bbox_head.retina_cls.0', 1, 0).relu();
      emb.push(perAnchor(conv(p, hidden, 'bbox_head.retina_cls.2', 1, 0), TINY.embed));
      const reg = conv(p, x, 'bbox_head.reg_convs.0.conv', 1, 1).relu();
      deltas.push(perAnchor(conv(p, reg, 'bbox_head.retina_reg', 1, 1), 4));
    });
    return { embeddings: Tensor.concat(emb, 1), deltas: Tensor.concat(deltas, 1) };
  },
};

type Shapes = [string, number[]][];

export function tinyBackboneShapes(): Shapes {
  const c = TINY.backboneChannels;
  return [
    ['conv1.weight', [c, 3, 3, 3]],
    ['conv1.bias', [c]],
    ['conv2.weight', [c, c, 3, 3]],
    ['conv2.bias', [c]],
    ['conv3.weight', [c, c, 3, 3]],
    ['conv3.bias', [c]],
    ['conv4.weight', [c, c, 3, 3]],
    ['conv4.bias', [c]],
  ];
}

export function tinyHeadShapes(): Shapes {
  const { backboneChannels: c, width: w, embed: d, anchors: a } = TINY;
  return [
    ['neck.lateral_convs.0.conv.weight', [w, c, 1, 1]],
    ['neck.lateral_convs.0.conv.bias', [w]],
    ['neck.lateral_convs.1.conv.weight', [w, c, 1, 1]],
    ['neck.lateral_convs.1.conv.bias', [w]],
    ['bbox_head.cls_convs.0.conv.weight', [w, w, 3, 3]],
    ['bbox_head.cls_convs.0.conv.bias', [w]],
    ['bbox_head.retina_cls.0.weight', [w, w, 1, 1]],
    ['bbox_head.retina_cls.0.bias', [w]],
    ['bbox_head.retina_cls.2.weight', [a * d, w, 1, 1]],
    ['bbox_head.retina_cls.2.bias', [a * d]],
    ['bbox_head.reg_convs.0.conv.weight', [w, w, 3, 3]],
    ['bbox_head.reg_convs.0.conv.bias', [w]],
    ['bbox_head.retina_reg.weight', [a * 4, w, 3, 3]],
    ['bbox_head.retina_reg.bias', [a * 4]],
  ];
}

/**
 * Weights drawn N(0, std²), biases N(0, 0.05²), from a Philox stream. Biases are not 0: with tiny
 * widths a location whose ReLU hidden vector is all zero would give an exactly-zero embedding,
 * where std.tensor's l2_normalize has a NaN gradient (sqrt at 0).
 */
export function initParams(
  shapes: Shapes,
  seed: number,
  std: number,
  stdOf: (name: string) => number | undefined = () => undefined,
): Map<string, TensorData> {
  const rng = Rng.fromSeed(seed).child('init');
  const out = new Map<string, TensorData>();
  for (const [name, shape] of shapes) {
    const n = shape.reduce((x, y) => x * y, 1);
    const data = new Float32Array(n);
    const scale = name.endsWith('.bias') ? 0.05 : (stdOf(name) ?? std);
    for (let i = 0; i < n; i++) data[i] = rng.normal() * scale;
    out.set(name, { shape, dtype: 'f32', data });
  }
  return out;
}

/** Head parameters: N(0, 0.15²) weights, the box regressor N(0, 0.01²) as RetinaNet's (spec §3.1). */
export function initHead(seed: number): Map<string, TensorData> {
  return initParams(tinyHeadShapes(), seed, 0.15, (n) =>
    n === 'bbox_head.retina_reg.weight' ? 0.01 : undefined,
  );
}

/** One view: the sample's boxes scaled by `scale` (and flipped), on a square canvas. */
function makeView(
  pixels: readonly Float32Array[],
  boxes: readonly number[][],
  k: number,
  size: number,
  scale: number,
  flip: boolean,
): BatchView {
  const b = pixels.length;
  const canvas = Math.ceil(size * scale);
  const images = new Float32Array(b * 3 * canvas * canvas);
  const outBoxes = new Float32Array(b * k * 4);
  const boxMask = new Uint8Array(b * k);
  for (let i = 0; i < b; i++) {
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < canvas; y++)
        for (let x = 0; x < canvas; x++) {
          const sx = Math.min(size - 1, Math.floor((flip ? canvas - 1 - x : x) / scale));
          const sy = Math.min(size - 1, Math.floor(y / scale));
          images[((i * 3 + c) * canvas + y) * canvas + x] = pixels[i][(c * size + sy) * size + sx];
        }
    boxes.slice(i * k, i * k + k).forEach((box, r) => {
      if (box.length === 0) return;
      const [x1, y1, x2, y2] = box.map((v) => v * scale);
      outBoxes.set(flip ? [canvas - x2, y1, canvas - x1, y2] : [x1, y1, x2, y2], (i * k + r) * 4);
      boxMask[i * k + r] = 1;
    });
  }
  return {
    images,
    height: canvas,
    width: canvas,
    imageSizes: Int32Array.from(pixels.flatMap(() => [canvas, canvas])),
    boxes: outBoxes,
    boxMask,
    transforms: Float64Array.from(pixels.flatMap(() => [scale, 0, scale, 0])),
  };
}

/**
 * A two-view batch of `b` images with up to `k` proposals each, from stream (seed, 'batch', id).
 * View 1 is the image as is; view 2 is scaled by 1.25 and flipped horizontally.
 */
export function syntheticBatch(seed: number, id: number, b = 2, k = 3, epoch = 0): Batch {
  const rng = Rng.fromSeed(seed).child('batch', id);
  const size = TINY.image;
  const pixels: Float32Array[] = [];
  const boxes: number[][] = [];
  const instanceIds = new Int32Array(b * k).fill(-1);
  const present = new Uint8Array(b * k);
  let next = 0;
  for (let i = 0; i < b; i++) {
    const img = new Float32Array(3 * size * size);
    for (let j = 0; j < img.length; j++) img[j] = rng.normal() * 0.5;
    const count = 2 + rng.int(0, k - 1);
    for (let r = 0; r < k; r++) {
      if (r >= count) {
        boxes.push([]);
        continue;
      }
      const w = rng.uniformIn(10, 22);
      const h = rng.uniformIn(10, 22);
      const x1 = rng.uniformIn(0, size - w);
      const y1 = rng.uniformIn(0, size - h);
      boxes.push([x1, y1, x1 + w, y1 + h]);
      // A brighter patch inside each box gives the views something to agree on.
      for (let c = 0; c < 3; c++)
        for (let y = Math.floor(y1); y < Math.floor(y1 + h); y++)
          for (let x = Math.floor(x1); x < Math.floor(x1 + w); x++)
            img[(c * size + y) * size + x] += 0.5 * (r + 1);
      instanceIds[i * k + r] = next++;
      present[i * k + r] = 1;
    }
    pixels.push(img);
  }
  return {
    epoch,
    index: id,
    size: b,
    maxBoxes: k,
    sampleIndices: Int32Array.from({ length: b }, (_, i) => i),
    imageIds: Int32Array.from({ length: b }, (_, i) => id * b + i),
    instanceIds,
    present,
    labels: new Int32Array(b * k),
    numInstances: next,
    truncatedBoxes: 0,
    views: [
      makeView(pixels, boxes, k, size, 1, false),
      makeView(pixels, boxes, k, size, 1.25, true),
    ],
  };
}

/** `batches` distinct batches, shuffled per epoch by stream (seed, 'order', epoch). */
export function syntheticSource(seed: number, batches: number): BatchSource<Batch> {
  const all = Array.from({ length: batches }, (_, i) => syntheticBatch(seed, i));
  return {
    async *epoch(epoch: number) {
      const order = Rng.fromSeed(seed).child('order', epoch).permutation(batches);
      for (const i of order) yield all[i];
    },
  };
}
