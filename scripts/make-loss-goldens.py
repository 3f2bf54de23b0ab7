#!/usr/bin/python3
"""PyTorch / torchvision golden values for alignc's std losses, box functions and matching costs.

Writes test/fixtures/losses/torch-goldens.json: for each case, the std function it checks, its
inputs, hyperparameters, the cotangent of the output, and torch's value and gradients (float64).
Run with Debian's interpreter (python3-torch, python3-torchvision):

    /usr/bin/python3 scripts/make-loss-goldens.py

The references are torchvision.ops (sigmoid_focal_loss, generalized_box_iou_loss,
distance_box_iou_loss, box_iou, generalized_box_iou), torch.nn.functional (l1, smooth_l1,
cross_entropy, binary_cross_entropy_with_logits) and a literal transcription of AlignDet's
ContrastiveLoss (aligndet-spec.md section 5.2) written with explicit loops over labels.
"""
import json
import os

import torch
import torch.nn.functional as F
import torchvision.ops as ops

torch.manual_seed(20261127)
torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'losses', 'torch-goldens.json')


def boxes(n, scale=20.0):
    xy = torch.rand(n, 2) * scale
    wh = 1.0 + torch.rand(n, 2) * scale / 2
    return torch.cat([xy, xy + wh], dim=1)


def jitter(b, amount=2.0):
    """Boxes near b (overlapping), still valid."""
    d = (torch.rand_like(b) - 0.5) * amount
    out = b + d
    x1 = torch.minimum(out[:, 0], out[:, 2] - 0.5)
    y1 = torch.minimum(out[:, 1], out[:, 3] - 0.5)
    return torch.stack([x1, y1, out[:, 2], out[:, 3]], dim=1)


def normalizer(weight, avg):
    return avg if avg > 0 else max(float(weight.sum()), 1.0)


def tolist(t):
    if t.dtype == torch.bool:
        return [bool(x) for x in t.flatten()] if t.dim() == 1 else [tolist(r) for r in t]
    return t.tolist()


cases = []


def case(name, fn, inputs, grads_of, consts=None, note=''):
    """Evaluate fn(**inputs, **consts) with autograd on `grads_of` and record everything."""
    consts = consts or {}
    leaves = {}
    args = {}
    for k, v in inputs.items():
        if k in grads_of:
            leaf = v.clone().requires_grad_(True)
            leaves[k] = leaf
            args[k] = leaf
        else:
            args[k] = v
    out = fn(**args, **consts)
    cot = torch.rand_like(out) * 2 - 1 if out.dim() > 0 else torch.tensor(1.0)
    (out * cot).sum().backward()
    cases.append({
        'name': name,
        'fn': fn.__name__,
        'note': note,
        'inputs': {k: tolist(v) for k, v in inputs.items()},
        'dtypes': {k: ('i32' if v.dtype == torch.int64 else 'bool' if v.dtype == torch.bool else 'f32') for k, v in inputs.items()},
        'constants': consts,
        'cotangent': tolist(cot),
        'value': tolist(out.detach()),
        'grads': {k: tolist(leaf.grad if leaf.grad is not None else torch.zeros_like(leaf)) for k, leaf in leaves.items()},
    })


# ---- references, named after the std function they check ----------------------------------------

def l1(pred, target, weight, avg=0.0):
    per = F.l1_loss(pred, target, reduction='none').sum(1) * weight
    return per.sum() / normalizer(weight, avg)


def smooth_l1(pred, target, weight, beta=1.0, avg=0.0):
    per = F.smooth_l1_loss(pred, target, reduction='none', beta=beta).sum(1) * weight
    return per.sum() / normalizer(weight, avg)


def iou_loss(pred, target, weight, avg=0.0, eps=1e-6):
    iou = ops.box_iou(pred, target).diagonal().clamp(min=eps)
    return (weight * -torch.log(iou)).sum() / normalizer(weight, avg)


def giou_loss(pred, target, weight, avg=0.0):
    per = ops.generalized_box_iou_loss(pred, target, reduction='none')
    return (weight * per).sum() / normalizer(weight, avg)


def diou_loss(pred, target, weight, avg=0.0):
    per = ops.distance_box_iou_loss(pred, target, reduction='none')
    return (weight * per).sum() / normalizer(weight, avg)


def sigmoid_focal(logits, targets, weight, alpha=0.25, gamma=2.0, avg=0.0):
    per = ops.sigmoid_focal_loss(logits, targets, alpha=alpha, gamma=gamma, reduction='none').sum(1)
    return (weight * per).sum() / normalizer(weight, avg)


def softmax_ce(logits, labels, weight, avg=0.0):
    per = F.cross_entropy(logits, labels, reduction='none')
    return (weight * per).sum() / normalizer(weight, avg)


def bce_with_logits(logits, targets, weight, avg=0.0):
    per = F.binary_cross_entropy_with_logits(logits, targets, reduction='none')
    return (weight * per).sum() / normalizer(weight, avg)


def centerness_target(distances):
    lr = distances[:, [0, 2]]
    tb = distances[:, [1, 3]]
    return torch.sqrt((lr.min(1).values / lr.max(1).values) * (tb.min(1).values / tb.max(1).values))


def centerness_loss(logits, distances, weight, avg=0.0):
    return bce_with_logits(logits, centerness_target(distances), weight, avg)


def box_iou(a, b):
    return ops.box_iou(a, b)


def generalized_box_iou(a, b):
    return ops.generalized_box_iou(a, b)


def box_infonce(q, lq, vq, k, lk, vk, tau=0.5):
    """AlignDet ContrastiveLoss, aligndet-spec.md 5.2, literally: loops over labels and pairs."""
    qn = F.normalize(q, dim=1)
    kn = F.normalize(k.detach(), dim=1)
    labels = sorted({int(l) for l, v in zip(lq, vq) if v and l >= 0})
    per_label = []
    for i in labels:
        Q = [s for s in range(len(lq)) if vq[s] and lq[s] == i]
        K = [kn[s] for s in range(len(lk)) if vk[s] and lk[s] == i]
        if not K:
            K = [qn[s] for s in Q]  # fallback: online features as keys, with gradient
        negs = [qn[s].detach() for s in range(len(lq)) if vq[s] and lq[s] != i]
        negs += [kn[s] for s in range(len(lk)) if vk[s] and lk[s] != i]
        terms = []
        for qi in Q:
            for key in K:
                logits = torch.stack([qn[qi] @ key] + [qn[qi] @ n for n in negs]) / tau
                terms.append(-F.log_softmax(logits, dim=0)[0])
        per_label.append(torch.stack(terms).mean())
    return torch.stack(per_label).mean()


# ---- cases ---------------------------------------------------------------------------------------

N = 6
pred = boxes(N)
target = jitter(pred)
weight = torch.tensor([1.0, 0.0, 1.0, 0.5, 1.0, 2.0])
case('l1', l1, {'pred': pred, 'target': target, 'weight': weight}, {'pred', 'target'})
case('l1_avg', l1, {'pred': pred, 'target': target, 'weight': weight}, {'pred'}, {'avg': 4.0})
case('smooth_l1', smooth_l1, {'pred': pred, 'target': target, 'weight': weight}, {'pred', 'target'},
     {'beta': 1.0})
case('iou_loss', iou_loss, {'pred': pred, 'target': target, 'weight': weight}, {'pred', 'target'})
case('giou_loss', giou_loss, {'pred': pred, 'target': target, 'weight': weight}, {'pred', 'target'})
far = boxes(N, scale=40.0)
case('giou_loss_disjoint', giou_loss, {'pred': pred, 'target': far, 'weight': weight}, {'pred', 'target'},
     note='mostly non-overlapping boxes: the hull term dominates')
case('diou_loss', diou_loss, {'pred': pred, 'target': target, 'weight': weight}, {'pred', 'target'})

C = 4
logits = torch.randn(N, C) * 3
logits[0, 0] = 40.0  # large logits must neither overflow nor lose their gradient
logits[1, 1] = -40.0
targets = (torch.rand(N, C) < 0.3).double()
case('sigmoid_focal', sigmoid_focal, {'logits': logits, 'targets': targets, 'weight': weight}, {'logits'})
case('sigmoid_focal_gamma1', sigmoid_focal, {'logits': logits, 'targets': targets, 'weight': weight},
     {'logits'}, {'alpha': 0.5, 'gamma': 1.0})
labels = torch.tensor([0, 3, 1, 1, 2, 0])
case('softmax_ce', softmax_ce, {'logits': logits, 'labels': labels, 'weight': weight}, {'logits'})
bl = torch.randn(N) * 4
bt = torch.rand(N)
case('bce_with_logits', bce_with_logits, {'logits': bl, 'targets': bt, 'weight': weight}, {'logits'})
dist = 0.5 + torch.rand(N, 4) * 10
case('centerness_loss', centerness_loss, {'logits': bl, 'distances': dist, 'weight': weight}, {'logits'})

a = boxes(5)
b = torch.cat([jitter(a[:3]), boxes(2)])
case('box_iou', box_iou, {'a': a, 'b': b}, {'a', 'b'})
case('generalized_box_iou', generalized_box_iou, {'a': a, 'b': b}, {'a', 'b'})

D = 8
# 7 online samples over instances 0, 1, 2 and background (-1); one unsampled.
lq = torch.tensor([0, 0, 1, 2, -1, 1, 2])
vq = torch.tensor([True, True, True, True, True, True, False])
# Momentum samples: instance 2 has none (its online samples become the keys), background present.
lk = torch.tensor([0, 1, 1, -1, 0, 2])
vk = torch.tensor([True, True, True, True, True, False])
q = torch.randn(7, D)
k = torch.randn(6, D)
case('box_infonce', box_infonce, {'q': q, 'lq': lq, 'vq': vq, 'k': k, 'lk': lk, 'vk': vk}, {'q', 'k'},
     {'tau': 0.5}, note='spec 5.2: label-grouped InfoNCE, K_i fallback for instance 2')
case('box_infonce_tau02', box_infonce, {'q': q, 'lq': lq, 'vq': vq, 'k': k, 'lk': lk, 'vk': vk}, {'q'},
     {'tau': 0.2})

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, 'w') as f:
    json.dump({'generator': 'scripts/make-loss-goldens.py', 'torch': torch.__version__, 'cases': cases}, f)
    f.write('\n')
print(f'wrote {len(cases)} cases to {os.path.relpath(OUT)}')
