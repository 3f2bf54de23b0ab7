#!/usr/bin/python3
"""VOC-style AP50 goldens for alignc's evaluator (runtime/eval/voc-ap.ts).

An independent re-implementation, in numpy, of the PASCAL VOC 2010+ devkit rule (VOCevaldet.m +
VOCap.m, all-point interpolation) applied to the COCO fixtures in test/fixtures/eval/: per class,
all detections sorted by descending score (stable; ties in ascending image id, then results-file
order), each matched to the ground truth of its image with the highest plain IoU (first on ties),
a TP if that IoU >= 0.5 and the box is not yet taken, a FP otherwise; crowd ground truth acts as
VOC "difficult" (not a positive; a detection whose best box is one is dropped). Continuous COCO
boxes: no "+1 pixel". Writes test/fixtures/eval/expected_voc_ap50.json.

Run: /usr/bin/python3 scripts/make_voc_ap50_goldens.py
"""
import json
import os
from collections import defaultdict

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, '..', 'test', 'fixtures', 'eval')


def iou(det, gts):
    """Plain IoU of one [x, y, w, h] box with an (n, 4) array of them."""
    dx1, dy1, dw, dh = det
    gx1, gy1, gw, gh = gts[:, 0], gts[:, 1], gts[:, 2], gts[:, 3]
    iw = np.minimum(dx1 + dw, gx1 + gw) - np.maximum(dx1, gx1)
    ih = np.minimum(dy1 + dh, gy1 + gh) - np.maximum(dy1, gy1)
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    union = dw * dh + gw * gh - inter
    return np.where(inter > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def voc_ap(rec, prec):
    """VOCap.m: area under the monotone precision envelope at every recall change."""
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    for i in range(mpre.size - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    idx = np.where(mrec[1:] != mrec[:-1])[0] + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mpre[idx]))


def evaluate(gt, results):
    cats = sorted(c['id'] for c in gt['categories'])
    names = {c['id']: c['name'] for c in gt['categories']}
    gts = defaultdict(list)
    for a in gt['annotations']:
        gts[a['image_id'], a['category_id']].append(a)
    per_cat = []
    for cat in cats:
        npos = sum(1 for (_, c), anns in gts.items() if c == cat for a in anns if not a.get('iscrowd'))
        if npos == 0:
            per_cat.append({'category_id': cat, 'name': names[cat], 'AP50': -1.0})
            continue
        dets = [(r['image_id'], i, r) for i, r in enumerate(results) if r['category_id'] == cat]
        dets.sort(key=lambda x: (x[0], x[1]))
        scores = np.array([-d[2]['score'] for d in dets])
        order = np.argsort(scores, kind='mergesort')
        taken = defaultdict(set)
        tp, fp = [], []
        for j in order:
            image_id, _, r = dets[j]
            anns = gts[image_id, cat]
            if anns:
                ov = iou(r['bbox'], np.array([a['bbox'] for a in anns], dtype=np.float64))
                jmax = int(np.argmax(ov))
                ovmax = ov[jmax]
            else:
                ovmax = -np.inf
            if ovmax >= 0.5:
                if anns[jmax].get('iscrowd'):
                    continue
                if jmax in taken[image_id]:
                    tp.append(0); fp.append(1)
                else:
                    taken[image_id].add(jmax)
                    tp.append(1); fp.append(0)
            else:
                tp.append(0); fp.append(1)
        tp = np.cumsum(np.array(tp, dtype=np.float64))
        fp = np.cumsum(np.array(fp, dtype=np.float64))
        rec = tp / npos
        prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
        per_cat.append({'category_id': cat, 'name': names[cat], 'AP50': voc_ap(rec, prec)})
    valid = [c['AP50'] for c in per_cat if c['AP50'] > -1]
    return {'AP50': float(np.mean(valid)) if valid else -1.0, 'per_category': per_cat}


def main():
    manifest = json.load(open(os.path.join(FIXTURES, 'manifest.json')))
    out = {
        'what': 'VOC2010+ all-point AP at IoU >= 0.5 per case; see scripts/make_voc_ap50_goldens.py',
        'cases': {},
    }
    for case in manifest['cases']:
        gt = json.load(open(os.path.join(FIXTURES, case['gt'])))
        results = json.load(open(os.path.join(FIXTURES, case['results'])))
        out['cases'][case['name']] = evaluate(gt, results)
    path = os.path.join(FIXTURES, 'expected_voc_ap50.json')
    with open(path, 'w') as f:
        json.dump(out, f, indent=1)
        f.write('\n')
    for name, r in out['cases'].items():
        print(f"{name:18s} VOC AP50 {r['AP50']:.6f}")


if __name__ == '__main__':
    main()
