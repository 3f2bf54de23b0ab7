#!/usr/bin/python3
"""PyTorch golden values of mmdetection 2.x's RetinaNet training loss with `reg_decoded_bbox=True`
and `GIoULoss`, for alignc's RetinaNet fine-tuning step with the GIoU form.

Writes test/fixtures/run/retinanet-giou-loss.json: a three-image batch on a 64×64 canvas (boxes,
category labels, each image's unpadded size; the third image has no boxes), per-level head outputs
in NCHW (class logits [B, A·C, H, W], DeltaXYWH deltas [B, A·4, H, W]), the two loss terms of
`AnchorHead.loss` — `loss_cls` (sigmoid focal, gamma 2, alpha 0.25) and `loss_bbox` (GIoULoss on
the deltas decoded with the anchors, DeltaXYWHBBoxCoder means 0, stds 1, wh_ratio_clip 16/1000,
against the matched ground-truth boxes), both over mmdet's avg_factor — and the gradient of
`loss_cls + 2 · loss_bbox` (GIoULoss loss_weight 2.0) with respect to every level's deltas and
logits. A literal transcription of mmdet 2.x `AnchorHead._get_targets_single` / `get_targets` /
`loss_single` (avg_factor = Σ over images of max(#positives, 1); allowed_border -1, so the valid
anchors are the inside ones; PseudoSampler), with the anchor generator, valid flags, MaxIoUAssigner
(pos 0.5, neg 0.4, min_pos 0, low-quality matches) and delta coder of scripts/make-detect-goldens.py.
Inputs are float32 rounded to 4 decimals; the loss is computed in float64 from them. mmdet itself
is not installed. Run with Debian's interpreter (python3-torch):

    /usr/bin/python3 scripts/make-retinanet-giou-goldens.py
"""
import importlib.util
import json
import os

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'test', 'fixtures', 'run', 'retinanet-giou-loss.json')
_spec = importlib.util.spec_from_file_location('detect_goldens', os.path.join(HERE, 'make-detect-goldens.py'))
dg = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dg)

torch.manual_seed(20261127)

NUM_CLASSES = 3
ANCHORS = {'strides': [8, 16, 32], 'ratios': [0.5, 1.0, 2.0], 'octaveBaseScale': 4, 'scalesPerOctave': 3}
ASSIGNER = {'posIouThr': 0.5, 'negIouThr': 0.4, 'minPosIou': 0.0, 'matchLowQuality': True}
PER_LOCATION = 9
HEIGHT, WIDTH = 64, 64
CATEGORY_IDS = [5, 7, 9]  # dataset category ids of classes 0, 1, 2
LOSS_WEIGHT = 2.0  # GIoULoss(loss_weight=2.0)

# Per image: boxes (x1, y1, x2, y2), dataset category ids and the unpadded (height, width).
IMAGES = [
    {'boxes': [[4.0, 6.0, 36.0, 30.0], [30.0, 30.0, 60.0, 62.0]], 'labels': [5, 9], 'size': [64, 64]},
    {'boxes': [[10.0, 12.0, 50.0, 40.0], [2.0, 30.0, 20.0, 50.0], [4.0, 2.0, 58.0, 54.0]],
     'labels': [7, 5, 9], 'size': [56, 60]},
    {'boxes': [], 'labels': [], 'size': [48, 64]},
]


def rounded(t):
    return (torch.round(t * 1e4) / 1e4).float()


def targets_single(flat_anchors, valid, gt_boxes, gt_labels):
    """AnchorHead._get_targets_single with reg_decoded_bbox=True and unmap_outputs=True."""
    n = flat_anchors.size(0)
    inside = valid  # allowed_border = -1
    anchors = flat_anchors[inside]
    labels = torch.full((anchors.size(0),), NUM_CLASSES, dtype=torch.long)
    label_weights = torch.zeros(anchors.size(0), dtype=torch.float64)
    bbox_targets = torch.zeros(anchors.size(0), 4, dtype=torch.float64)
    bbox_weights = torch.zeros(anchors.size(0), 4, dtype=torch.float64)
    if gt_boxes.size(0) == 0:
        assigned = torch.zeros(anchors.size(0), dtype=torch.long)  # every anchor is background
    else:
        assigned = torch.tensor(dg.max_iou_assign(ASSIGNER, anchors, gt_boxes)['gtIndices'])
    pos = (assigned > 0).nonzero().reshape(-1)
    neg = (assigned == 0).nonzero().reshape(-1)
    if pos.numel() > 0:
        bbox_targets[pos] = gt_boxes[assigned[pos] - 1].double()  # pos_gt_bboxes (decoded)
        bbox_weights[pos] = 1.0
        labels[pos] = gt_labels[assigned[pos] - 1]
        label_weights[pos] = 1.0
    label_weights[neg] = 1.0

    def unmap(data, fill):
        out = torch.full((n,) + tuple(data.shape[1:]), fill, dtype=data.dtype)
        out[inside] = data
        return out

    return (unmap(labels, NUM_CLASSES), unmap(label_weights, 0), unmap(bbox_targets, 0),
            unmap(bbox_weights, 0), pos.numel())


def focal(pred, target, gamma=2.0, alpha=0.25):
    # mmdet py_sigmoid_focal_loss
    p = pred.sigmoid()
    pt = (1 - p) * target + p * (1 - target)
    w = (alpha * target + (1 - alpha) * (1 - target)) * pt.pow(gamma)
    return F.binary_cross_entropy_with_logits(pred, target, reduction='none') * w


def giou(pred, target, eps=1e-6):
    # mmdet bbox_overlaps(mode='giou', is_aligned=True, eps=GIoULoss.eps)
    area1 = (pred[:, 2] - pred[:, 0]) * (pred[:, 3] - pred[:, 1])
    area2 = (target[:, 2] - target[:, 0]) * (target[:, 3] - target[:, 1])
    lt = torch.max(pred[:, :2], target[:, :2])
    rb = torch.min(pred[:, 2:], target[:, 2:])
    wh = (rb - lt).clamp(min=0)
    overlap = wh[:, 0] * wh[:, 1]
    union = torch.clamp(area1 + area2 - overlap, min=eps)
    ious = overlap / union
    enclosed_lt = torch.min(pred[:, :2], target[:, :2])
    enclosed_rb = torch.max(pred[:, 2:], target[:, 2:])
    ewh = (enclosed_rb - enclosed_lt).clamp(min=0)
    enclose_area = torch.clamp(ewh[:, 0] * ewh[:, 1], min=eps)
    return ious - (enclose_area - union) / enclose_area


def main():
    b = len(IMAGES)
    featmaps = dg.featmaps_for(HEIGHT, WIDTH, ANCHORS['strides'])
    cls_scores = [rounded(torch.randn(b, PER_LOCATION * NUM_CLASSES, h, w) * 2 - 2) for h, w in featmaps]
    bbox_preds = [rounded(torch.randn(b, PER_LOCATION * 4, h, w) * 0.3) for h, w in featmaps]
    cls_vars = [c.double().requires_grad_() for c in cls_scores]
    reg_vars = [r.double().requires_grad_() for r in bbox_preds]

    level_anchors = dg.grid_anchors(ANCHORS, featmaps)  # float32, as mmdet
    flat_anchors = torch.cat(level_anchors)
    rows = []
    num_total_pos = 0
    positives = []
    for img in IMAGES:
        valid = torch.cat(dg.valid_flags(ANCHORS['strides'], featmaps, img['size'], PER_LOCATION))
        gt_boxes = torch.tensor(img['boxes'], dtype=torch.float32).reshape(-1, 4)
        gt_labels = torch.tensor([CATEGORY_IDS.index(c) for c in img['labels']], dtype=torch.long)
        labels, label_weights, bbox_targets, bbox_weights, num_pos = targets_single(
            flat_anchors, valid, gt_boxes, gt_labels)
        rows.append((labels, label_weights, bbox_targets, bbox_weights))
        positives.append(num_pos)
        num_total_pos += max(num_pos, 1)  # get_targets: sum of max(#pos, 1) per image

    # loss_single per level on (image, location, anchor) rows; summed over levels.
    counts = [a.size(0) for a in level_anchors]
    bounds = [sum(counts[:i]) for i in range(len(counts) + 1)]
    positives_per_level = [sum(int((r[3][bounds[i]:bounds[i + 1], 0] > 0).sum()) for r in rows)
                           for i in range(len(counts))]
    loss_cls = torch.zeros((), dtype=torch.float64)
    loss_bbox = torch.zeros((), dtype=torch.float64)
    start = 0
    for level, count in enumerate(counts):
        sl = slice(start, start + count)
        start += count
        labels = torch.cat([r[0][sl] for r in rows])
        label_weights = torch.cat([r[1][sl] for r in rows])
        bbox_targets = torch.cat([r[2][sl] for r in rows])
        bbox_weights = torch.cat([r[3][sl] for r in rows])
        cls = cls_vars[level].permute(0, 2, 3, 1).reshape(-1, NUM_CLASSES)
        onehot = F.one_hot(labels, NUM_CLASSES + 1)[:, :NUM_CLASSES].double()
        loss_cls = loss_cls + (focal(cls, onehot) * label_weights[:, None]).sum() / num_total_pos
        deltas = reg_vars[level].permute(0, 2, 3, 1).reshape(-1, 4)
        anchors = level_anchors[level].repeat(b, 1).double()
        decoded = dg.delta_decode(anchors, deltas, [0.0] * 4, [1.0] * 4)
        weight = bbox_weights.mean(-1)  # GIoULoss: (n, 4) weights → (n,)
        if torch.any(weight > 0):
            loss_bbox = loss_bbox + ((1 - giou(decoded, bbox_targets)) * weight).sum() / num_total_pos
    total = loss_cls + LOSS_WEIGHT * loss_bbox
    total.backward()

    flat = lambda t: [float(v) for v in t.reshape(-1).tolist()]

    def grads(vs):
        # A level whose deltas enter no term (no positives there) has no .grad: it is zero.
        return [{'shape': list(v.shape),
                 'data': [float('%.10g' % x)
                          for x in flat(v.grad if v.grad is not None else torch.zeros_like(v))]}
                for v in vs]
    out = {
        'canvas': [HEIGHT, WIDTH],
        'anchors': ANCHORS,
        'numClasses': NUM_CLASSES,
        'categoryIds': CATEGORY_IDS,
        'lossWeight': LOSS_WEIGHT,
        'images': IMAGES,
        'cls': [{'shape': list(t.shape), 'data': [round(v, 4) for v in flat(t)]} for t in cls_scores],
        'reg': [{'shape': list(t.shape), 'data': [round(v, 4) for v in flat(t)]} for t in bbox_preds],
        'positives': positives,
        'positivesPerLevel': positives_per_level,
        'avgFactor': num_total_pos,
        'loss_cls': float(loss_cls),
        'loss_bbox': float(loss_bbox),
        'grad_reg': grads(reg_vars),
        'grad_cls': grads(cls_vars),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(out, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {OUT} ({os.path.getsize(OUT)} bytes): positives {positives} per level '
          f'{positives_per_level}, avg factor '
          f'{num_total_pos}, cls {out["loss_cls"]:.6f} giou {out["loss_bbox"]:.6f}')


if __name__ == '__main__':
    main()
