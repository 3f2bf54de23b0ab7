#!/usr/bin/python3
"""PyTorch golden values for alignc's AlignDet box-domain training step (runtime/train).

Writes test/fixtures/train/box-step.json: a tiny RetinaNet-shaped detector (the same layers as
test/train/tiny-detector.ts), one fixed two-view batch with its matching targets, and what two
box-domain steps on that batch give in PyTorch (float32): the contrastive and L1 loss of each step,
then the online parameters, the optimizer state and the momentum-detector parameters (EMA with
m = 1 - (1 - 0.996)(cos(pi k / K) + 1) / 2, k = 0, 1, K = 4), for two optimizers: SGD (momentum
0.9, weight decay 1e-4) and AdamW (weight decay 0.05) after clip_grad_norm_ to 0.5.

The contrastive loss is a literal transcription of AlignDet's ContrastiveLoss (aligndet-spec.md
section 5.2) with explicit loops over labels: positives from the momentum view, the online
queries as keys when an instance has none there, every other label of both views as detached
negatives, a cross-entropy per (query, key) pair averaged per instance and then over instances.
Run with Debian's interpreter (python3-torch):

    /usr/bin/python3 scripts/make-train-goldens.py
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20261127)
OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'train', 'box-step.json')

C, W, D, A = 6, 8, 8, 3  # backbone channels, head width, embedding, anchors per location
TAU = 0.5
LR = 0.02
BASE_MOMENTUM = 0.996
TOTAL = 4

BACKBONE = [('conv1', C, 3, 3), ('conv2', C, C, 3), ('conv3', C, C, 3), ('conv4', C, C, 3)]
HEAD = [
    ('neck.lateral_convs.0.conv', W, C, 1),
    ('neck.lateral_convs.1.conv', W, C, 1),
    ('bbox_head.cls_convs.0.conv', W, W, 3),
    ('bbox_head.retina_cls.0', W, W, 1),
    ('bbox_head.retina_cls.2', A * D, W, 1),
    ('bbox_head.reg_convs.0.conv', W, W, 3),
    ('bbox_head.retina_reg', A * 4, W, 3),
]


def params(spec, std):
    out = {}
    for name, o, i, k in spec:
        out[name + '.weight'] = torch.randn(o, i, k, k) * std
        out[name + '.bias'] = torch.randn(o) * 0.05
    return out


def conv(p, x, name, stride, padding):
    return F.conv2d(x, p[name + '.weight'], p[name + '.bias'], stride=stride, padding=padding)


def backbone(p, img):
    c1 = conv(p, img, 'conv1', 2, 1).relu()
    c2 = conv(p, c1, 'conv2', 2, 1).relu()
    c3 = conv(p, c2, 'conv3', 2, 1).relu()
    c4 = conv(p, c3, 'conv4', 2, 1).relu()
    return [c3, c4]


def per_anchor(x, channels):
    b = x.shape[0]
    return x.permute(0, 2, 3, 1).reshape(b, -1, channels)


def head(p, feats):
    emb, deltas = [], []
    for level, f in enumerate(feats):
        x = conv(p, f, f'neck.lateral_convs.{level}.conv', 1, 0)
        cls = conv(p, x, 'bbox_head.cls_convs.0.conv', 1, 1).relu()
        hidden = conv(p, cls, 'bbox_head.retina_cls.0', 1, 0).relu()
        emb.append(per_anchor(conv(p, hidden, 'bbox_head.retina_cls.2', 1, 0), D))
        reg = conv(p, x, 'bbox_head.reg_convs.0.conv', 1, 1).relu()
        deltas.append(per_anchor(conv(p, reg, 'bbox_head.retina_reg', 1, 1), 4))
    return torch.cat(emb, 1), torch.cat(deltas, 1)


def contrastive(q, lq, vq, k, lk, vk, tau):
    """AlignDet ContrastiveLoss over the sampled samples of both views (spec 5.2)."""
    q = F.normalize(q[vq], dim=1)
    lq = lq[vq]
    k = F.normalize(k[vk].detach(), dim=1)
    lk = lk[vk]
    losses = []
    for i in sorted(set(lq.tolist())):
        if i < 0:
            continue  # background is never an instance
        qi = q[lq == i]
        ki = k[lk == i]
        if ki.shape[0] == 0:
            ki = qi  # fallback: online samples as keys, with gradient
        neg = torch.cat([q[lq != i].detach(), k[lk != i]], 0)
        terms = []
        for a in range(qi.shape[0]):
            for b in range(ki.shape[0]):
                logits = torch.cat([(qi[a] * ki[b]).sum().reshape(1), neg @ qi[a]]) / tau
                terms.append(F.cross_entropy(logits.reshape(1, -1), torch.zeros(1, dtype=torch.long)))
        losses.append(torch.stack(terms).mean())
    return torch.stack(losses).mean()


def main():
    bb = params(BACKBONE, 0.3)
    online = params(HEAD, 0.15)
    B = 2
    views = [torch.randn(B, 3, 32, 32) * 0.5, torch.randn(B, 3, 40, 40) * 0.5]
    n1, n2 = 4 * 4 * A + 2 * 2 * A, 5 * 5 * A + 3 * 3 * A
    # Matching targets, made directly (the matching itself is tested in test/detect): instance ids
    # 0-2 in image 0, 3-4 in image 1; -1 = background; a random sampled subset in each view.
    def targets(n, fallback_free):
        labels = torch.full((B * n,), -1, dtype=torch.long)
        sampled = torch.zeros(B * n, dtype=torch.bool)
        for b, ids in enumerate([[0, 1, 2], [3, 4]]):
            pos = torch.randperm(n)[:3 * len(ids)]
            for j, a in enumerate(pos.tolist()):
                ident = ids[j % len(ids)]
                if not fallback_free and ident == 4:
                    continue  # instance 4 has no momentum sample: exercises the fallback
                labels[b * n + a] = ident
                sampled[b * n + a] = True
            negs = [a for a in torch.randperm(n).tolist() if labels[b * n + a] < 0][:10]
            for a in negs:
                sampled[b * n + a] = True
        return labels, sampled

    lq, vq = targets(n1, True)
    lk, vk = targets(n2, False)
    reg_w = (lq >= 0).float()
    reg_t = torch.randn(B * n1, 4) * 0.5 * reg_w[:, None]
    num_pos = float(reg_w.sum())

    def f32(values):
        # 9 significant digits round-trip a float32 exactly, in half the characters of repr.
        return [float('%.9g' % x) for x in values]

    def flat(d):
        return {k: {'shape': list(v.shape), 'data': f32(v.detach().reshape(-1).tolist())} for k, v in d.items()}

    def run(make_opt, lr, slots, clip=None):
        opt_params = {k: v.clone().requires_grad_(True) for k, v in online.items()}
        momentum = {k: v.clone() for k, v in online.items()}
        opt = make_opt(opt_params.values())
        steps = []
        for it in range(2):
            m = 1 - (1 - BASE_MOMENTUM) * (math.cos(math.pi * it / TOTAL) + 1) / 2
            with torch.no_grad():
                f1, f2 = backbone(bb, views[0]), backbone(bb, views[1])
                k_emb, _ = head(momentum, f2)
            q_emb, deltas = head(opt_params, f1)
            con = contrastive(q_emb.reshape(-1, D), lq, vq, k_emb.reshape(-1, D), lk, vk, TAU)
            reg = (reg_w[:, None] * (deltas.reshape(-1, 4) - reg_t).abs()).sum() / max(num_pos, 1.0)
            opt.zero_grad()
            (con + reg).backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(opt_params.values(), clip)
            opt.step()
            with torch.no_grad():
                for k in momentum:
                    momentum[k] = m * momentum[k] + (1 - m) * opt_params[k]
            steps.append({'contrast': con.item(), 'reg_l1': reg.item(), 'momentum': m})
        state = {f'{k}.{slot}': opt.state[p][name] for k, p in opt_params.items() for slot, name in slots}
        return {
            'lr': lr,
            'clipNorm': clip,
            'steps': steps,
            'expected': {'online': flat(opt_params), 'momentum': flat(momentum), 'optimizer': flat(state)},
        }

    sgd = run(lambda ps: torch.optim.SGD(ps, lr=LR, momentum=0.9, weight_decay=1e-4), LR,
              [('momentum_buffer', 'momentum_buffer')])
    adamw = run(lambda ps: torch.optim.AdamW(ps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05),
                1e-3, [('exp_avg', 'exp_avg'), ('exp_avg_sq', 'exp_avg_sq')], clip=0.5)
    out = {
        'comment': 'written by scripts/make-train-goldens.py; do not edit',
        'tau': TAU,
        'baseMomentum': BASE_MOMENTUM,
        'totalSteps': TOTAL,
        'backbone': flat(bb),
        'online': flat(online),
        'views': [{'shape': list(v.shape), 'data': f32(v.reshape(-1).tolist())} for v in views],
        'labels1': lq.tolist(),
        'sampled1': vq.int().tolist(),
        'labels2': lk.tolist(),
        'sampled2': vk.int().tolist(),
        'regTargets': f32(reg_t.reshape(-1).tolist()),
        'regWeights': reg_w.tolist(),
        'numPositives': num_pos,
        'cases': {'sgd': sgd, 'adamw_clip': adamw},
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(out, f, separators=(',', ':'))
    print(OUT, os.path.getsize(OUT), 'bytes', sgd['steps'], adamw['steps'])


if __name__ == '__main__':
    main()
