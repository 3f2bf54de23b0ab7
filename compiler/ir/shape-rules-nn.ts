// Shape and dtype rules of the neural-network and detection primitives: conv2d and its two
// gradient forms, pooling, roi_align (+ gradient) and the routines. Split from shape-rules.ts,
// which dispatches here. Flow: … → IR (here) → kernels.
import {
  checkArity,
  checkAxis,
  checkConvParams,
  checkShape,
  convOutSize,
  fail,
  fmt,
  pair,
  requireDtype,
  sameShape,
} from './shape-check.js';
import type { NodeSpec, TensorType } from './types.js';

type NnSpec = Extract<
  NodeSpec,
  {
    op:
      | 'conv2d'
      | 'conv_transpose2d'
      | 'conv2d_filter_grad'
      | 'pool2d'
      | 'max_pool2d_grad'
      | 'roi_align'
      | 'roi_align_grad'
      | 'routine';
  }
>;

export function inferNnType(spec: NnSpec, operands: readonly TensorType[]): TensorType {
  switch (spec.op) {
    case 'conv2d': {
      checkArity(spec, operands, 2);
      checkConvParams(spec, spec);
      const [x, w] = operands;
      requireDtype(spec, x, ['f32'], 'input');
      requireDtype(spec, w, ['f32'], 'filter');
      if (x.shape.length !== 4 || w.shape.length !== 4) {
        fail(spec, `needs x [N,C,H,W] and w [O,C/g,KH,KW], got ${fmt(x.shape)}, ${fmt(w.shape)}`);
      }
      const [n, c, h, wd] = x.shape;
      const [o, cg, kh, kw] = w.shape;
      const g = spec.groups;
      if (c % g !== 0 || o % g !== 0 || cg * g !== c) {
        fail(spec, `channels: x has ${c}, w ${fmt(w.shape)}, groups ${g}`);
      }
      const ho = convOutSize(h, kh, spec.stride[0], spec.padding[0], spec.dilation[0]);
      const wo = convOutSize(wd, kw, spec.stride[1], spec.padding[1], spec.dilation[1]);
      if (ho < 1 || wo < 1)
        fail(spec, `output would be empty (${ho}×${wo}) for input ${fmt(x.shape)}`);
      return { shape: [n, o, ho, wo], dtype: 'f32' };
    }
    case 'conv_transpose2d': {
      checkArity(spec, operands, 2);
      checkConvParams(spec, spec);
      pair(spec, spec.outputPadding, 'outputPadding', 0);
      const [x, w] = operands;
      requireDtype(spec, x, ['f32'], 'input');
      requireDtype(spec, w, ['f32'], 'filter');
      if (x.shape.length !== 4 || w.shape.length !== 4) {
        fail(spec, `needs x [N,C,H,W] and w [C,O/g,KH,KW], got ${fmt(x.shape)}, ${fmt(w.shape)}`);
      }
      const [n, c, h, wd] = x.shape;
      const [wc, og, kh, kw] = w.shape;
      const g = spec.groups;
      if (wc !== c || c % g !== 0)
        fail(spec, `channels: x has ${c}, w ${fmt(w.shape)}, groups ${g}`);
      for (let i = 0; i < 2; i++) {
        if (spec.outputPadding[i] >= Math.max(spec.stride[i], spec.dilation[i])) {
          fail(spec, `outputPadding must be smaller than stride or dilation`);
        }
      }
      const ho =
        (h - 1) * spec.stride[0] -
        2 * spec.padding[0] +
        spec.dilation[0] * (kh - 1) +
        spec.outputPadding[0] +
        1;
      const wo =
        (wd - 1) * spec.stride[1] -
        2 * spec.padding[1] +
        spec.dilation[1] * (kw - 1) +
        spec.outputPadding[1] +
        1;
      if (ho < 1 || wo < 1) fail(spec, `output would be empty (${ho}×${wo})`);
      return { shape: [n, og * g, ho, wo], dtype: 'f32' };
    }
    case 'conv2d_filter_grad': {
      checkArity(spec, operands, 2);
      checkConvParams(spec, spec);
      pair(spec, spec.kernelSize, 'kernelSize', 1);
      const [x, dy] = operands;
      requireDtype(spec, x, ['f32'], 'input');
      requireDtype(spec, dy, ['f32'], 'output gradient');
      if (x.shape.length !== 4 || dy.shape.length !== 4 || x.shape[0] !== dy.shape[0]) {
        fail(spec, `needs x [N,C,H,W] and dy [N,O,HO,WO], got ${fmt(x.shape)}, ${fmt(dy.shape)}`);
      }
      const c = x.shape[1];
      const o = dy.shape[1];
      const g = spec.groups;
      if (c % g !== 0 || o % g !== 0)
        fail(spec, `channels ${c}, ${o} not divisible by groups ${g}`);
      const [kh, kw] = spec.kernelSize;
      const ho = convOutSize(x.shape[2], kh, spec.stride[0], spec.padding[0], spec.dilation[0]);
      const wo = convOutSize(x.shape[3], kw, spec.stride[1], spec.padding[1], spec.dilation[1]);
      if (ho !== dy.shape[2] || wo !== dy.shape[3]) {
        fail(
          spec,
          `dy spatial ${dy.shape[2]}×${dy.shape[3]} does not match the conv output ${ho}×${wo}`,
        );
      }
      return { shape: [o, c / g, kh, kw], dtype: 'f32' };
    }
    case 'pool2d':
    case 'max_pool2d_grad': {
      const isGrad = spec.op === 'max_pool2d_grad';
      checkArity(spec, operands, isGrad ? 2 : 1);
      pair(spec, spec.kernel, 'kernel', 1);
      pair(spec, spec.stride, 'stride', 1);
      pair(spec, spec.padding, 'padding', 0);
      const x = operands[0];
      requireDtype(spec, x, ['f32'], 'input');
      if (x.shape.length !== 4) fail(spec, `needs x [N,C,H,W], got ${fmt(x.shape)}`);
      for (let i = 0; i < 2; i++) {
        if (spec.padding[i] * 2 > spec.kernel[i])
          fail(spec, 'padding must be at most half the kernel');
      }
      const ho = convOutSize(x.shape[2], spec.kernel[0], spec.stride[0], spec.padding[0], 1);
      const wo = convOutSize(x.shape[3], spec.kernel[1], spec.stride[1], spec.padding[1], 1);
      if (ho < 1 || wo < 1) fail(spec, `output would be empty for input ${fmt(x.shape)}`);
      const outShape = [x.shape[0], x.shape[1], ho, wo];
      if (!isGrad) return { shape: outShape, dtype: 'f32' };
      if (!sameShape(operands[1].shape, outShape)) {
        fail(spec, `dy ${fmt(operands[1].shape)} must be the pooled shape ${fmt(outShape)}`);
      }
      return x;
    }
    case 'roi_align':
    case 'roi_align_grad': {
      checkArity(spec, operands, 2);
      pair(spec, spec.outputSize, 'outputSize', 1);
      const rois = spec.op === 'roi_align' ? operands[1] : operands[0];
      requireDtype(spec, rois, ['f32'], 'rois');
      if (rois.shape.length !== 2 || rois.shape[1] !== 5)
        fail(spec, `rois must be [K,5], got ${fmt(rois.shape)}`);
      if (!Number.isInteger(spec.samplingRatio)) fail(spec, 'samplingRatio must be an integer');
      const k = rois.shape[0];
      if (spec.op === 'roi_align') {
        const feat = operands[0];
        requireDtype(spec, feat, ['f32'], 'features');
        if (feat.shape.length !== 4)
          fail(spec, `features must be [N,C,H,W], got ${fmt(feat.shape)}`);
        return { shape: [k, feat.shape[1], ...spec.outputSize], dtype: 'f32' };
      }
      const dy = operands[1];
      checkShape(spec, spec.shape, 'shape');
      if (spec.shape.length !== 4 || !sameShape(dy.shape, [k, spec.shape[1], ...spec.outputSize])) {
        fail(spec, `dy ${fmt(dy.shape)} does not fit features ${fmt(spec.shape)} and ${k} rois`);
      }
      return { shape: spec.shape, dtype: 'f32' };
    }
    case 'routine': {
      const r = spec.routine;
      switch (r.kind) {
        case 'argsort': {
          checkArity(spec, operands, 1);
          const x = operands[0];
          requireDtype(spec, x, ['f32', 'i32', 'u32'], 'operand');
          checkAxis(spec, r.axis, x.shape.length);
          return { shape: x.shape, dtype: 'i32' };
        }
        case 'top_k': {
          checkArity(spec, operands, 1);
          const x = operands[0];
          requireDtype(spec, x, ['f32', 'i32', 'u32'], 'operand');
          const last = x.shape.length - 1;
          if (last < 0 || !Number.isInteger(r.k) || r.k < 1 || r.k > x.shape[last]) {
            fail(spec, `k=${r.k} must be in 1..${x.shape[last] ?? 0}`);
          }
          return { shape: [...x.shape.slice(0, last), r.k], dtype: 'i32' };
        }
        case 'nms': {
          checkArity(spec, operands, 2);
          const [boxes, scores] = operands;
          requireDtype(spec, boxes, ['f32'], 'boxes');
          requireDtype(spec, scores, ['f32'], 'scores');
          if (
            boxes.shape.length !== 2 ||
            boxes.shape[1] !== 4 ||
            !sameShape(scores.shape, [boxes.shape[0]])
          ) {
            fail(
              spec,
              `needs boxes [N,4] and scores [N], got ${fmt(boxes.shape)}, ${fmt(scores.shape)}`,
            );
          }
          if (!Number.isInteger(r.maxOutput) || r.maxOutput < 1)
            fail(spec, 'maxOutput must be ≥ 1');
          return { shape: [r.maxOutput], dtype: 'i32' };
        }
        default:
          return r satisfies never;
      }
    }
    default:
      return spec satisfies never;
  }
}
