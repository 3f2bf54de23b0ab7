#!/usr/bin/python3
"""Golden fixtures for runtime/detect and runtime/io (test/fixtures/detect/*.json).

Run with Debian's Python, which has torch and torchvision:
    /usr/bin/python3 scripts/make-detect-goldens.py

Independent numbers for the TypeScript tests:
  * torchvision.ops: box_iou, generalized_box_iou, nms, batched_nms;
  * PyTorch transcriptions, written for this project from mmdetection 2.25's documented behaviour
    (mmdet itself is not installed): AnchorGenerator, MlvlPointGenerator, DeltaXYWHBBoxCoder,
    DistancePointBBoxCoder, bbox_overlaps (iof), MaxIoUAssigner, FCOS get_targets /
    centerness_target, and the dense-head post-processing (filter_scores_and_topk, decode,
    batched NMS, max_per_img);
  * a safetensors file written byte by byte from the format's specification, with the expected
    values converted by torch (float16 / bfloat16 / int64 → float32 / int32);
  * torchvision ResNet-18/34/50 state-dict names and shapes.
All tensors are float32, as in mmdet. Output is deterministic (fixed torch seed).
"""

import json
import math
import os
import struct

import torch
import torchvision
from torchvision.ops import batched_nms, box_iou, generalized_box_iou, nms

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'detect')
INF = 1e8


def flat(t):
    return [float(v) for v in t.reshape(-1).tolist()]


def ints(t):
    return [int(v) for v in t.reshape(-1).tolist()]


def write(name, obj):
    path = os.path.join(OUT, name)
    with open(path, 'w') as f:
        json.dump(obj, f, separators=(',', ':'))
        f.write('\n')
    print(f'{path}: {os.path.getsize(path)} bytes')


def random_boxes(g, n, size=100.0, min_wh=1.0, max_wh=50.0):
    xy = torch.rand(n, 2, generator=g) * size
    wh = min_wh + torch.rand(n, 2, generator=g) * (max_wh - min_wh)
    return torch.cat([xy, xy + wh], dim=1).float()


# ---------------------------------------------------------------- overlaps (mmdet bbox_overlaps)
def mmdet_overlaps(b1, b2, mode='iou', eps=1e-6):
    area1 = (b1[:, 2] - b1[:, 0]) * (b1[:, 3] - b1[:, 1])
    area2 = (b2[:, 2] - b2[:, 0]) * (b2[:, 3] - b2[:, 1])
    lt = torch.max(b1[:, None, :2], b2[None, :, :2])
    rb = torch.min(b1[:, None, 2:], b2[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    overlap = wh[..., 0] * wh[..., 1]
    union = area1[:, None] + area2[None, :] - overlap if mode != 'iof' else area1[:, None].expand_as(overlap)
    union = torch.max(union, union.new_tensor([eps]))
    ious = overlap / union
    if mode != 'giou':
        return ious
    elt = torch.min(b1[:, None, :2], b2[None, :, :2])
    erb = torch.max(b1[:, None, 2:], b2[None, :, 2:])
    ewh = (erb - elt).clamp(min=0)
    earea = torch.max(ewh[..., 0] * ewh[..., 1], union.new_tensor([eps]))
    return ious - (earea - union) / earea


# ---------------------------------------------------------------- anchors and points
def anchor_scales(cfg):
    if 'scales' in cfg:
        return torch.tensor(cfg['scales'], dtype=torch.float32)
    n = cfg['scalesPerOctave']
    return torch.tensor([2 ** (i / n) * cfg['octaveBaseScale'] for i in range(n)], dtype=torch.float32)


def base_anchors(cfg, level):
    size = float(cfg['strides'][level])
    scales = anchor_scales(cfg)
    ratios = torch.tensor(cfg['ratios'], dtype=torch.float32)
    center = cfg.get('centerOffset', 0.0) * size
    h_ratios = torch.sqrt(ratios)
    w_ratios = 1 / h_ratios
    # ratio-major: for each ratio, every scale (mmdet scale_major=True)
    ws = (size * w_ratios[:, None] * scales[None, :]).reshape(-1)
    hs = (size * h_ratios[:, None] * scales[None, :]).reshape(-1)
    return torch.stack([center - 0.5 * ws, center - 0.5 * hs, center + 0.5 * ws, center + 0.5 * hs], dim=-1)


def grid_anchors(cfg, featmaps):
    out = []
    for level, (h, w) in enumerate(featmaps):
        stride = cfg['strides'][level]
        sx = torch.arange(0, w).float() * stride
        sy = torch.arange(0, h).float() * stride
        yy, xx = torch.meshgrid(sy, sx, indexing='ij')
        shifts = torch.stack([xx.reshape(-1), yy.reshape(-1), xx.reshape(-1), yy.reshape(-1)], dim=-1)
        out.append((base_anchors(cfg, level)[None, :, :] + shifts[:, None, :]).reshape(-1, 4))
    return out


def valid_flags(strides, featmaps, pad_hw, per_loc):
    out = []
    for level, (h, w) in enumerate(featmaps):
        vh = min(int(math.ceil(pad_hw[0] / strides[level])), h)
        vw = min(int(math.ceil(pad_hw[1] / strides[level])), w)
        vx = torch.zeros(w, dtype=torch.bool)
        vy = torch.zeros(h, dtype=torch.bool)
        vx[:vw] = True
        vy[:vh] = True
        v = (vy[:, None] & vx[None, :]).reshape(-1)
        out.append(v[:, None].expand(v.numel(), per_loc).reshape(-1))
    return out


def grid_points(strides, featmaps, offset=0.5):
    out = []
    for level, (h, w) in enumerate(featmaps):
        s = strides[level]
        sx = (torch.arange(0, w).float() + offset) * s
        sy = (torch.arange(0, h).float() + offset) * s
        yy, xx = torch.meshgrid(sy, sx, indexing='ij')
        out.append(torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=-1))
    return out


def featmaps_for(h, w, strides):
    return [(int(math.ceil(h / s)), int(math.ceil(w / s))) for s in strides]


# ---------------------------------------------------------------- coders
def delta_encode(p, g, means, stds):
    px = (p[:, 0] + p[:, 2]) * 0.5
    py = (p[:, 1] + p[:, 3]) * 0.5
    pw = p[:, 2] - p[:, 0]
    ph = p[:, 3] - p[:, 1]
    gx = (g[:, 0] + g[:, 2]) * 0.5
    gy = (g[:, 1] + g[:, 3]) * 0.5
    gw = g[:, 2] - g[:, 0]
    gh = g[:, 3] - g[:, 1]
    d = torch.stack([(gx - px) / pw, (gy - py) / ph, torch.log(gw / pw), torch.log(gh / ph)], dim=-1)
    return (d - d.new_tensor(means)) / d.new_tensor(stds)


def delta_decode(rois, deltas, means, stds, max_shape=None, wh_ratio_clip=16 / 1000):
    n = rois.shape[0]
    per = deltas.shape[1] // 4
    d = deltas.reshape(-1, 4) * deltas.new_tensor(stds) + deltas.new_tensor(means)
    r = rois.repeat(1, per).reshape(-1, 4)
    pxy = (r[:, :2] + r[:, 2:]) * 0.5
    pwh = r[:, 2:] - r[:, :2]
    max_ratio = abs(math.log(wh_ratio_clip))
    dwh = d[:, 2:].clamp(min=-max_ratio, max=max_ratio)
    gxy = pxy + pwh * d[:, :2]
    gwh = pwh * dwh.exp()
    b = torch.cat([gxy - gwh * 0.5, gxy + gwh * 0.5], dim=-1)
    if max_shape is not None:
        b[:, 0::2] = b[:, 0::2].clamp(min=0, max=max_shape[1])
        b[:, 1::2] = b[:, 1::2].clamp(min=0, max=max_shape[0])
    return b.reshape(n, -1)


def distance_encode(points, boxes, max_dis=None, eps=0.1):
    d = torch.stack([points[:, 0] - boxes[:, 0], points[:, 1] - boxes[:, 1],
                     boxes[:, 2] - points[:, 0], boxes[:, 3] - points[:, 1]], dim=-1)
    if max_dis is not None:
        d = d.clamp(min=0, max=max_dis - eps)
    return d


def distance_decode(points, d, max_shape=None):
    x1 = points[:, 0] - d[:, 0]
    y1 = points[:, 1] - d[:, 1]
    x2 = points[:, 0] + d[:, 2]
    y2 = points[:, 1] + d[:, 3]
    if max_shape is not None:
        x1 = x1.clamp(min=0, max=max_shape[1])
        y1 = y1.clamp(min=0, max=max_shape[0])
        x2 = x2.clamp(min=0, max=max_shape[1])
        y2 = y2.clamp(min=0, max=max_shape[0])
    return torch.stack([x1, y1, x2, y2], -1)


# ---------------------------------------------------------------- MaxIoU assigner
def max_iou_assign(cfg, priors, gts, labels=None, ignore=None):
    overlaps = mmdet_overlaps(gts, priors)
    thr = cfg.get('ignoreIofThr', -1)
    if thr > 0 and ignore is not None and ignore.numel() > 0:
        if cfg.get('ignoreWrtCandidates', True):
            best = mmdet_overlaps(priors, ignore, 'iof').max(dim=1)[0]
        else:
            best = mmdet_overlaps(ignore, priors, 'iof').max(dim=0)[0]
        overlaps[:, best > thr] = -1
    num_gts, num_priors = overlaps.shape
    inds = torch.full((num_priors,), -1, dtype=torch.long)
    max_ov, argmax_ov = overlaps.max(dim=0)
    gt_max, gt_argmax = overlaps.max(dim=1)
    neg = cfg['negIouThr']
    lo, hi = (0.0, neg) if not isinstance(neg, list) else neg
    inds[(max_ov >= lo) & (max_ov < hi)] = 0
    pos = max_ov >= cfg['posIouThr']
    inds[pos] = argmax_ov[pos] + 1
    if cfg.get('matchLowQuality', True):
        for i in range(num_gts):
            # alignc deviation (documented): a box with best IoU 0 makes no low-quality match.
            if gt_max[i] >= cfg.get('minPosIou', 0.0) and gt_max[i] > 0:
                if cfg.get('gtMaxAssignAll', True):
                    inds[overlaps[i, :] == gt_max[i]] = i + 1
                else:
                    inds[gt_argmax[i]] = i + 1
    out = {'gtIndices': ints(inds), 'maxOverlaps': flat(max_ov)}
    if labels is not None:
        lab = torch.full((num_priors,), -1, dtype=torch.long)
        p = inds > 0
        lab[p] = labels[inds[p] - 1]
        out['labels'] = ints(lab)
    return out


# ---------------------------------------------------------------- FCOS targets
def fcos_targets(points, gts, labels, strides, ranges, num_classes, center_sampling=False,
                 radius=1.5, norm_on_bbox=False):
    counts = [p.shape[0] for p in points]
    pts = torch.cat(points)
    rr = torch.cat([p.new_tensor(r)[None].expand(p.shape[0], 2) for p, r in zip(points, ranges)])
    n, k = pts.shape[0], gts.shape[0]
    areas = ((gts[:, 2] - gts[:, 0]) * (gts[:, 3] - gts[:, 1]))[None].repeat(n, 1)
    rr = rr[:, None, :].expand(n, k, 2)
    g = gts[None].expand(n, k, 4)
    xs = pts[:, 0][:, None].expand(n, k)
    ys = pts[:, 1][:, None].expand(n, k)
    t = torch.stack([xs - g[..., 0], ys - g[..., 1], g[..., 2] - xs, g[..., 3] - ys], -1)
    if center_sampling:
        cx = (g[..., 0] + g[..., 2]) / 2
        cy = (g[..., 1] + g[..., 3]) / 2
        reach = torch.cat([torch.full((c,), float(strides[l] * radius)) for l, c in enumerate(counts)])
        reach = reach[:, None].expand(n, k)
        x1 = torch.where(cx - reach > g[..., 0], cx - reach, g[..., 0])
        y1 = torch.where(cy - reach > g[..., 1], cy - reach, g[..., 1])
        x2 = torch.where(cx + reach > g[..., 2], g[..., 2], cx + reach)
        y2 = torch.where(cy + reach > g[..., 3], g[..., 3], cy + reach)
        inside = torch.stack([xs - x1, ys - y1, x2 - xs, y2 - ys], -1).min(-1)[0] > 0
    else:
        inside = t.min(-1)[0] > 0
    md = t.max(-1)[0]
    in_range = (md >= rr[..., 0]) & (md <= rr[..., 1])
    areas[~inside] = INF
    areas[~in_range] = INF
    min_area, idx = areas.min(dim=1)
    lab = labels[idx].clone()
    lab[min_area == INF] = num_classes
    gt_idx = idx.clone()
    gt_idx[min_area == INF] = -1
    tg = t[torch.arange(n), idx]
    tg[min_area == INF] = 0
    if norm_on_bbox:
        s = torch.cat([torch.full((c,), float(strides[l])) for l, c in enumerate(counts)])
        tg = tg / s[:, None]
    return {'labels': ints(lab), 'gtIndices': ints(gt_idx), 'bboxTargets': flat(tg)}


def centerness(t):
    lr = t[:, [0, 2]]
    tb = t[:, [1, 3]]
    return torch.sqrt((lr.min(-1)[0] / lr.max(-1)[0]) * (tb.min(-1)[0] / tb.max(-1)[0]))


# ---------------------------------------------------------------- post-processing
def post_process(levels, num_classes, coder, cfg, img_hw):
    all_b, all_s, all_l = [], [], []
    for lv in levels:
        scores = lv['scores']
        mask = scores > cfg['scoreThr']
        s = scores[mask]
        vidx = torch.nonzero(mask)
        s, order = s.sort(descending=True)
        k = min(cfg['nmsPre'], vidx.shape[0])
        s = s[:k]
        top = vidx[order[:k]]
        keep, lab = top[:, 0], top[:, 1]
        reg = lv['regression'][keep]
        pri = lv['priors'][keep]
        if coder == 'delta':
            b = delta_decode(pri, reg, [0, 0, 0, 0], [1, 1, 1, 1], max_shape=img_hw)
        else:
            b = distance_decode(pri, reg, max_shape=img_hw)
        if 'scoreFactors' in lv:
            s = s * lv['scoreFactors'][keep]
        all_b.append(b)
        all_s.append(s)
        all_l.append(lab)
    b, s, l = torch.cat(all_b), torch.cat(all_s), torch.cat(all_l)
    keep = batched_nms(b, s, l, cfg['iouThreshold'])[:cfg['maxPerImg']]
    return {'boxes': flat(b[keep]), 'scores': flat(s[keep]), 'labels': ints(l[keep])}


def level_tensors(g, num_priors, num_classes, prior_t, reg_scale, with_factors):
    logits = torch.randn(num_priors, num_classes, generator=g) * 2 - 3
    lv = {'scores': torch.sigmoid(logits), 'regression': torch.randn(num_priors, 4, generator=g) * reg_scale,
          'priors': prior_t}
    if with_factors:
        lv['scoreFactors'] = torch.sigmoid(torch.randn(num_priors, generator=g))
    return lv


def jsonable_levels(levels):
    return [{k: flat(v) for k, v in lv.items()} for lv in levels]


# ---------------------------------------------------------------- safetensors
def write_safetensors(path):
    g = torch.Generator().manual_seed(7)
    tensors = [
        ('layer.weight', 'F32', torch.randn(2, 3, generator=g)),
        ('half', 'F16', torch.tensor([1.5, -2.25, 65504.0, 6.0e-8, -0.0, float('inf')], dtype=torch.float16)),
        ('brain', 'BF16', torch.tensor([3.140625, -1.0e30, 1.0e-30], dtype=torch.bfloat16)),
        ('steps', 'I64', torch.tensor([[0, -5], [2147483647, -2147483648]], dtype=torch.int64)),
        ('ids', 'I32', torch.tensor([1, 2, 3, -4, 5], dtype=torch.int32)),
        ('scalar', 'F32', torch.tensor(0.25)),
        ('empty', 'F32', torch.zeros(0, 3)),
        ('double', 'F64', torch.tensor([1.0 / 3.0, -2.5], dtype=torch.float64)),
    ]
    # Data stored in a different order from the header's key order, to exercise offset handling.
    data_order = [4, 0, 2, 6, 1, 5, 3, 7]
    blobs, header, offset = [], {}, 0
    for i in data_order:
        name, dtype, t = tensors[i]
        raw = t.reshape(-1).contiguous().view(torch.uint8).numpy().tobytes() if t.numel() > 0 else b''
        header[name] = {'dtype': dtype, 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    ordered = {'__metadata__': {'format': 'pt', 'made_by': 'make-detect-goldens.py'}}
    for name, _, _ in tensors:
        ordered[name] = header[name]
    text = json.dumps(ordered).encode('utf-8')
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    expected = {}
    for name, dtype, t in tensors:
        if dtype in ('I64', 'I32'):
            values = ints(t.to(torch.int32))
        else:
            values = [v if math.isfinite(v) else ('inf' if v > 0 else '-inf') for v in flat(t.to(torch.float32))]
        expected[name] = {'dtype': dtype, 'shape': list(t.shape), 'values': values}
    return {'metadata': ordered['__metadata__'], 'tensors': expected}


def resnet_keys():
    out = {}
    for depth, ctor in ((18, torchvision.models.resnet18), (34, torchvision.models.resnet34),
                        (50, torchvision.models.resnet50)):
        sd = ctor().state_dict()
        out[str(depth)] = [[k, list(v.shape)] for k, v in sd.items()]
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(20231127)

    # boxes + NMS
    a = random_boxes(g, 6)
    b = random_boxes(g, 8)
    b[0] = a[0]  # an exact match: IoU 1
    b[1] = a[1] + 200  # far away: IoU 0, GIoU < 0
    centres = random_boxes(g, 5, size=80, min_wh=10, max_wh=40)
    nboxes = (centres.repeat(8, 1) + torch.randn(40, 4, generator=g) * 3).float()
    nboxes[:, 2:] = torch.max(nboxes[:, 2:], nboxes[:, :2] + 1)
    nscores = (torch.randperm(40, generator=g).float() + torch.rand(40, generator=g) * 0.5) / 40
    nclasses = torch.randint(0, 3, (40,), generator=g)
    write('box-ops.json', {
        'a': flat(a), 'b': flat(b),
        'iou': flat(box_iou(a, b)), 'giou': flat(generalized_box_iou(a, b)),
        'iof': flat(mmdet_overlaps(a, b, 'iof')),
        'nms': {'boxes': flat(nboxes), 'scores': flat(nscores), 'classes': ints(nclasses),
                'cases': [{'iou': t, 'keep': ints(nms(nboxes, nscores, t)),
                           'batchedKeep': ints(batched_nms(nboxes, nscores, nclasses, t))}
                          for t in (0.3, 0.5, 0.7)]},
    })

    # anchors and points
    retina = {'strides': [8, 16, 32, 64, 128], 'ratios': [0.5, 1.0, 2.0], 'octaveBaseScale': 4,
              'scalesPerOctave': 3}
    rpn = {'strides': [4, 8, 16, 32, 64], 'ratios': [0.5, 1.0, 2.0], 'scales': [8]}
    fm = featmaps_for(64, 80, retina['strides'])
    fm_rpn = featmaps_for(32, 40, rpn['strides'])
    pts = grid_points(retina['strides'], fm)
    write('anchors.json', {
        'retina': {'featmaps': fm, 'base': [flat(base_anchors(retina, l)) for l in range(5)],
                   'anchors': [flat(x) for x in grid_anchors(retina, fm)],
                   'padShape': [56, 70],
                   'valid': [ints(v.int()) for v in valid_flags(retina['strides'], fm, (56, 70), 9)]},
        'rpn': {'featmaps': fm_rpn, 'anchors': [flat(x) for x in grid_anchors(rpn, fm_rpn)]},
        'offsetHalf': {'base': [flat(base_anchors(dict(retina, centerOffset=0.5), l)) for l in range(5)]},
        'points': [flat(p) for p in pts],
    })

    # coders
    priors = random_boxes(g, 12)
    targets = random_boxes(g, 12)
    deltas = torch.randn(12, 4, generator=g)
    deltas[0, 2] = 6.0  # beyond the dw clamp
    deltas[1, 3] = -7.0  # beyond the dh clamp
    deltas8 = torch.randn(12, 8, generator=g)  # two classes per prior
    points = torch.rand(12, 2, generator=g) * 100
    dist = torch.rand(12, 4, generator=g) * 60
    roi_stds = [0.1, 0.1, 0.2, 0.2]
    write('coders.json', {
        'priors': flat(priors), 'targets': flat(targets), 'deltas': flat(deltas), 'deltas8': flat(deltas8),
        'encodeUnit': flat(delta_encode(priors, targets, [0, 0, 0, 0], [1, 1, 1, 1])),
        'encodeRoi': flat(delta_encode(priors, targets, [0.1, -0.1, 0.0, 0.05], roi_stds)),
        'decodeUnit': flat(delta_decode(priors, deltas, [0, 0, 0, 0], [1, 1, 1, 1])),
        'decodeRoiClipped': flat(delta_decode(priors, deltas, [0.1, -0.1, 0.0, 0.05], roi_stds, max_shape=(90, 110))),
        'decodeTwoClasses': flat(delta_decode(priors, deltas8, [0, 0, 0, 0], roi_stds)),
        'points': flat(points), 'distances': flat(dist),
        'distanceEncode': flat(distance_encode(points, targets)),
        'distanceEncodeMax': flat(distance_encode(points, targets, max_dis=30.0)),
        'distanceDecode': flat(distance_decode(points, dist)),
        'distanceDecodeClipped': flat(distance_decode(points, dist, max_shape=(90, 110))),
    })

    # assigner, on the RetinaNet anchors of the 64×80 input
    anchors = torch.cat(grid_anchors(retina, fm))
    gts = torch.tensor([[10, 12, 40, 50], [30, 5, 78, 30], [2, 40, 22, 62], [50, 35, 70, 60]], dtype=torch.float32)
    gts = torch.cat([gts, anchors[100:101]])  # a box equal to one anchor (IoU 1)
    labels = torch.tensor([3, 1, 0, 2, 1])
    ignore = torch.tensor([[40, 0, 80, 36]], dtype=torch.float32)
    proposals = random_boxes(g, 30, size=60, min_wh=5, max_wh=30)
    assign_cases = []
    for name, cfg, pri, ign in (
        ('retina', {'posIouThr': 0.5, 'negIouThr': 0.4, 'minPosIou': 0.0}, anchors, None),
        ('rpn', {'posIouThr': 0.7, 'negIouThr': 0.3, 'minPosIou': 0.3}, anchors, None),
        ('roi', {'posIouThr': 0.5, 'negIouThr': 0.5, 'minPosIou': 0.5, 'gtMaxAssignAll': False}, proposals, None),
        ('negRange', {'posIouThr': 0.5, 'negIouThr': [0.1, 0.4], 'minPosIou': 0.0}, anchors, None),
        ('noLowQuality', {'posIouThr': 0.5, 'negIouThr': 0.4, 'matchLowQuality': False}, anchors, None),
        ('ignore', {'posIouThr': 0.5, 'negIouThr': 0.4, 'ignoreIofThr': 0.5}, anchors, ignore),
        ('ignoreWrtGt', {'posIouThr': 0.5, 'negIouThr': 0.4, 'ignoreIofThr': 0.3,
                         'ignoreWrtCandidates': False}, anchors, ignore),
    ):
        assign_cases.append({'name': name, 'config': cfg, 'usesProposals': pri is proposals,
                             'result': max_iou_assign(cfg, pri, gts, labels, ign)})
    write('assigner.json', {'gts': flat(gts), 'labels': ints(labels), 'ignore': flat(ignore),
                            'proposals': flat(proposals), 'cases': assign_cases})

    # FCOS targets: a 64×96 input, default and shrunken regress ranges
    strides = [8, 16, 32, 64, 128]
    fm_f = featmaps_for(64, 96, strides)
    fpts = grid_points(strides, fm_f)
    fgts = torch.tensor([[4, 4, 90, 60], [10, 8, 40, 30], [12, 10, 38, 28], [60, 30, 75, 45],
                         [0, 50, 20, 64]], dtype=torch.float32)
    flabels = torch.tensor([0, 1, 2, 1, 0])
    default_ranges = [[-1, 64], [64, 128], [128, 256], [256, 512], [512, INF]]
    small_ranges = [[-1, 16], [16, 32], [32, 64], [64, 128], [128, INF]]
    fcos_cases = []
    for name, ranges, cs, norm in (('default', default_ranges, False, False),
                                   ('smallRanges', small_ranges, False, False),
                                   ('centerSampling', default_ranges, True, False),
                                   ('normOnBbox', default_ranges, False, True)):
        r = fcos_targets(fpts, fgts, flabels, strides, ranges, 3, cs, 1.5, norm)
        fcos_cases.append({'name': name, 'regressRanges': ranges, 'centerSampling': cs,
                           'normOnBbox': norm, 'result': r})
    pos_t = torch.tensor(fcos_cases[1]['result']['bboxTargets']).reshape(-1, 4)
    pos_t = pos_t[torch.tensor(fcos_cases[1]['result']['gtIndices']) >= 0]
    write('fcos.json', {'featmaps': fm_f, 'gts': flat(fgts), 'labels': ints(flabels), 'numClasses': 3,
                        'cases': fcos_cases, 'centernessInput': flat(pos_t),
                        'centerness': flat(centerness(pos_t))})

    # post-processing: RetinaNet-like (anchors, deltas) and FCOS-like (points, distances, centerness)
    cfg = {'nmsPre': 40, 'scoreThr': 0.05, 'iouThreshold': 0.5, 'maxPerImg': 25}
    img_hw = (60, 75)
    ranchors = grid_anchors(retina, fm)[:3]
    rlevels = [level_tensors(g, x.shape[0] // 1, 3, x, 0.3, False) for x in ranchors]
    flevels = [level_tensors(g, p.shape[0], 3, p, 1.0, True) for p in grid_points(strides, fm)[:3]]
    for lv in flevels:
        lv['regression'] = lv['regression'].abs() * 12
    write('postprocess.json', {
        'config': cfg, 'imageSize': list(img_hw), 'numClasses': 3,
        'retina': {'levels': jsonable_levels(rlevels), 'result': post_process(rlevels, 3, 'delta', cfg, img_hw)},
        'fcos': {'levels': jsonable_levels(flevels), 'result': post_process(flevels, 3, 'distance', cfg, img_hw)},
    })

    # safetensors and ResNet names
    write('io-mixed.json', write_safetensors(os.path.join(OUT, 'io-mixed.safetensors')))
    write('io-resnet-keys.json', resnet_keys())


if __name__ == '__main__':
    main()
