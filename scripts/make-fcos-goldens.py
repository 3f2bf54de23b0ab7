#!/usr/bin/python3
"""PyTorch golden values of mmdetection 2.x's FCOS training loss, for alignc's FCOS fine-tuning step.

Writes test/fixtures/run/fcos-loss.json: a small two-image batch (boxes, category labels, canvas,
strides, regress ranges), per-level head outputs in NCHW (class logits, positive (l, t, r, b)
distances, centerness logits) and the three loss terms of mmdet's `FCOSHead.loss`
(`loss_cls`, `loss_bbox`, `loss_centerness`), computed by a literal transcription of
`FCOSHead.get_targets` / `_get_target_single` / `loss` / `centerness_target`, mmcv's
`distance2bbox`, mmdet's `IoULoss` (-log IoU, eps 1e-6), `GIoULoss` and the Python
`sigmoid_focal_loss` (gamma 2, alpha 0.25). mmdet itself is not installed. Run with Debian's
interpreter (python3-torch):

    /usr/bin/python3 scripts/make-fcos-goldens.py
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20261127)
OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'run', 'fcos-loss.json')
INF = 1e8

NUM_CLASSES = 3
STRIDES = [8, 16, 32]
RANGES = [(-1, 16), (16, 32), (32, INF)]
HEIGHT, WIDTH = 64, 96
CATEGORY_IDS = [5, 7, 9]  # dataset category ids of classes 0, 1, 2

# Per image: boxes (x1, y1, x2, y2) and dataset category ids. Sizes from ~8 to ~70 px, so every
# level gets positives; two boxes overlap (the smaller one wins the shared points).
IMAGES = [
    {
        'boxes': [[4.0, 6.0, 20.0, 18.0], [30.0, 10.0, 70.0, 50.0], [36.0, 14.0, 52.0, 34.0]],
        'labels': [5, 7, 9],
        'size': [64, 96],
    },
    {
        'boxes': [[10.0, 3.0, 86.0, 60.0], [60.0, 40.0, 72.0, 49.0]],
        'labels': [9, 5],
        'size': [56, 90],
    },
]


def points_of(h, w, stride):
    # mmdet 2.x legacy FCOS points: x * stride + stride // 2 (= (x + 0.5) * stride here)
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij')
    return torch.stack([xs.reshape(-1) * stride + stride // 2, ys.reshape(-1) * stride + stride // 2], -1).float()


def target_single(gt_bboxes, gt_labels, points, regress_ranges):
    num_points = points.size(0)
    num_gts = gt_labels.size(0)
    areas = (gt_bboxes[:, 2] - gt_bboxes[:, 0]) * (gt_bboxes[:, 3] - gt_bboxes[:, 1])
    areas = areas[None].repeat(num_points, 1)
    regress_ranges = regress_ranges[:, None, :].expand(num_points, num_gts, 2)
    gt = gt_bboxes[None].expand(num_points, num_gts, 4)
    xs = points[:, 0][:, None].expand(num_points, num_gts)
    ys = points[:, 1][:, None].expand(num_points, num_gts)
    left = xs - gt[..., 0]
    right = gt[..., 2] - xs
    top = ys - gt[..., 1]
    bottom = gt[..., 3] - ys
    bbox_targets = torch.stack((left, top, right, bottom), -1)
    inside_gt_bbox_mask = bbox_targets.min(-1)[0] > 0
    max_regress_distance = bbox_targets.max(-1)[0]
    inside_regress_range = (max_regress_distance >= regress_ranges[..., 0]) & (
        max_regress_distance <= regress_ranges[..., 1])
    areas = areas.clone()
    areas[inside_gt_bbox_mask == 0] = INF
    areas[inside_regress_range == 0] = INF
    min_area, min_area_inds = areas.min(dim=1)
    labels = gt_labels[min_area_inds]
    labels[min_area == INF] = NUM_CLASSES
    bbox_targets = bbox_targets[range(num_points), min_area_inds]
    return labels, bbox_targets


def centerness_target(pos_bbox_targets):
    left_right = pos_bbox_targets[:, [0, 2]]
    top_bottom = pos_bbox_targets[:, [1, 3]]
    c = (left_right.min(dim=-1)[0] / left_right.max(dim=-1)[0]) * (
        top_bottom.min(dim=-1)[0] / top_bottom.max(dim=-1)[0])
    return torch.sqrt(c)


def distance2bbox(points, distance):
    return torch.stack([points[:, 0] - distance[:, 0], points[:, 1] - distance[:, 1],
                        points[:, 0] + distance[:, 2], points[:, 1] + distance[:, 3]], -1)


def aligned_overlaps(a, b, mode):
    area1 = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area2 = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = torch.max(a[:, :2], b[:, :2])
    rb = torch.min(a[:, 2:], b[:, 2:])
    wh = (rb - lt).clamp(min=0)
    overlap = wh[:, 0] * wh[:, 1]
    union = torch.clamp(area1 + area2 - overlap, min=1e-6)
    ious = overlap / union
    if mode == 'iou':
        return ious
    enclosed_lt = torch.min(a[:, :2], b[:, :2])
    enclosed_rb = torch.max(a[:, 2:], b[:, 2:])
    ewh = (enclosed_rb - enclosed_lt).clamp(min=0)
    enclose_area = torch.clamp(ewh[:, 0] * ewh[:, 1], min=1e-6)
    return ious - (enclose_area - union) / enclose_area


def sigmoid_focal(pred, target, gamma=2.0, alpha=0.25):
    p = pred.sigmoid()
    pt = (1 - p) * target + p * (1 - target)
    focal_weight = (alpha * target + (1 - alpha) * (1 - target)) * pt.pow(gamma)
    return F.binary_cross_entropy_with_logits(pred, target, reduction='none') * focal_weight


def main():
    maps = [((HEIGHT + s - 1) // s, (WIDTH + s - 1) // s) for s in STRIDES]
    b = len(IMAGES)
    cls_scores = [torch.randn(b, NUM_CLASSES, h, w) * 2 - 2 for h, w in maps]
    bbox_preds = [torch.exp(torch.randn(b, 4, h, w) * 0.5) * s for (h, w), s in zip(maps, STRIDES)]
    centernesses = [torch.randn(b, 1, h, w) for h, w in maps]
    points = [points_of(h, w, s) for (h, w), s in zip(maps, STRIDES)]

    # get_targets: per image over concatenated levels, then split back per level (level-major)
    num_points = [p.size(0) for p in points]
    concat_points = torch.cat(points)
    concat_ranges = torch.cat([torch.tensor(r, dtype=torch.float32)[None].expand(n, 2)
                               for r, n in zip(RANGES, num_points)])
    labels_list, targets_list = [], []
    for img in IMAGES:
        gtb = torch.tensor(img['boxes'])
        gtl = torch.tensor([CATEGORY_IDS.index(c) for c in img['labels']])
        labels, targets = target_single(gtb, gtl, concat_points, concat_ranges)
        labels_list.append(labels.split(num_points, 0))
        targets_list.append(targets.split(num_points, 0))
    flatten_labels = torch.cat([torch.cat([l[i] for l in labels_list]) for i in range(len(STRIDES))])
    flatten_bbox_targets = torch.cat([torch.cat([t[i] for t in targets_list]) for i in range(len(STRIDES))])

    flatten_cls_scores = torch.cat([c.permute(0, 2, 3, 1).reshape(-1, NUM_CLASSES) for c in cls_scores])
    flatten_bbox_preds = torch.cat([p.permute(0, 2, 3, 1).reshape(-1, 4) for p in bbox_preds])
    flatten_centerness = torch.cat([c.permute(0, 2, 3, 1).reshape(-1) for c in centernesses])
    flatten_points = torch.cat([p.repeat(b, 1) for p in points])

    pos_inds = ((flatten_labels >= 0) & (flatten_labels < NUM_CLASSES)).nonzero().reshape(-1)
    num_pos = max(float(len(pos_inds)), 1.0)
    onehot = F.one_hot(flatten_labels, NUM_CLASSES + 1)[:, :NUM_CLASSES].float()
    loss_cls = sigmoid_focal(flatten_cls_scores, onehot).sum() / num_pos

    pos_bbox_preds = flatten_bbox_preds[pos_inds]
    pos_centerness = flatten_centerness[pos_inds]
    pos_bbox_targets = flatten_bbox_targets[pos_inds]
    pos_centerness_targets = centerness_target(pos_bbox_targets)
    centerness_denorm = max(float(pos_centerness_targets.sum()), 1e-6)
    pos_points = flatten_points[pos_inds]
    pred_boxes = distance2bbox(pos_points, pos_bbox_preds)
    target_boxes = distance2bbox(pos_points, pos_bbox_targets)
    ious = aligned_overlaps(pred_boxes, target_boxes, 'iou').clamp(min=1e-6)
    loss_bbox = (-ious.log() * pos_centerness_targets).sum() / centerness_denorm
    gious = aligned_overlaps(pred_boxes, target_boxes, 'giou')
    loss_giou = ((1 - gious) * pos_centerness_targets).sum() / centerness_denorm
    loss_centerness = F.binary_cross_entropy_with_logits(
        pos_centerness, pos_centerness_targets, reduction='sum') / num_pos

    flat = lambda t: [float(v) for v in t.reshape(-1)]
    out = {
        'canvas': [HEIGHT, WIDTH],
        'strides': STRIDES,
        'ranges': [r[0] for r in RANGES],
        'numClasses': NUM_CLASSES,
        'categoryIds': CATEGORY_IDS,
        'images': IMAGES,
        'cls': [{'shape': list(t.shape), 'data': flat(t)} for t in cls_scores],
        'reg': [{'shape': list(t.shape), 'data': flat(t)} for t in bbox_preds],
        'centerness': [{'shape': list(t.shape), 'data': flat(t)} for t in centernesses],
        'numPositives': len(pos_inds),
        'positivesPerLevel': [int(((l >= 0) & (l < NUM_CLASSES)).sum()) for l in
                              flatten_labels.split([n * b for n in num_points])],
        'loss_cls': float(loss_cls),
        'loss_bbox': float(loss_bbox),
        'loss_bbox_giou': float(loss_giou),
        'loss_centerness': float(loss_centerness),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(out, f)
    print(f'wrote {OUT}: {len(pos_inds)} positives per level {out["positivesPerLevel"]}, '
          f'cls {out["loss_cls"]:.6f} bbox {out["loss_bbox"]:.6f} giou {out["loss_bbox_giou"]:.6f} '
          f'centerness {out["loss_centerness"]:.6f}')


if __name__ == '__main__':
    main()
