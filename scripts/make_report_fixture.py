#!/usr/bin/python3
"""Writes the fixture run of the report tests: test/fixtures/report/run/.

A synthetic but realistically shaped run log (written here with Python's json, independently of
alignc's writer, so the reader is tested against a file it did not produce) and one drawn sample
on a real BCCD image with its real VOC boxes. The curves are made up: exponential loss decay with
multiplicative noise, warm-up + step learning rate, AP rising towards a plateau. They are fixtures
for the report, not results.

Run: /usr/bin/python3 scripts/make_report_fixture.py [BCCD_ROOT]
"""

import json
import math
import os
import random
import shutil
import sys
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "report", "run")
BCCD = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/bccd"
IMAGE = "BloodImage_00000"
CATEGORIES = [(1, "RBC"), (2, "WBC"), (3, "Platelets")]

rng = random.Random(20261127)


def r6(x):
    return round(x, 6)


def header():
    return {
        "kind": "header",
        "format": "alignc-run-log/1",
        "runId": "20261127T080000Z-5eed01",
        "name": "fixture-retinanet-10pct",
        "pipeline": "pipelines/aligndet-retinanet.align",
        "pipelineSha256": "0" * 64,
        "seed": 1,
        "command": ["alignc", "run", "pipelines/aligndet-retinanet.align", "--seed", "1"],
        "machine": {
            "platform": "linux-x64",
            "cpu": "Synthetic CPU @ 2.0GHz",
            "cpuCount": 2,
            "memoryBytes": 8 * 2**30,
            "node": "v20.19.0",
            "adapter": "llvmpipe (lavapipe), Vulkan, fallback",
        },
        "startedAt": "2026-11-27T08:00:00.000Z",
        "settings": {"detector": "retinanet", "init": "aligndet", "labelled": 0.1, "budget": 1000},
    }


def lr_at(step, base, warmup, drops):
    lr = base * min(1.0, step / warmup)
    for d in drops:
        if step >= d:
            lr *= 0.1
    return lr


def noisy(x, spread):
    return x * math.exp(rng.gauss(0.0, spread))


def step_record(stage, step, epoch, t, lr, losses, ips):
    data = rng.uniform(0.08, 0.14)
    fwd = rng.uniform(0.30, 0.36)
    bwd = rng.uniform(0.40, 0.46)
    opt = 0.05
    return {
        "kind": "step",
        "stage": stage,
        "step": step,
        "epoch": epoch,
        "wallSeconds": r6(t),
        "lr": r6(lr),
        "losses": {k: r6(v) for k, v in losses.items()},
        "imagesPerSecond": r6(ips),
        "timeShare": {"data": r6(data), "forward": r6(fwd), "backward": r6(bwd), "optimizer": opt},
    }


def eval_record(step, t):
    # AP approaching 0.52 with a time constant of 260 steps; classes spread around it.
    level = 1 - math.exp(-step / 260.0)
    per = {"RBC": 0.50 * level, "WBC": 0.78 * level, "Platelets": 0.28 * level}
    ap = sum(per.values()) / 3
    stats = {
        "AP": ap,
        "AP50": min(1.0, ap * 1.75),
        "AP75": ap * 0.95,
        "APs": -1,
        "APm": ap * 0.7,
        "APl": ap * 1.05,
        "AR1": ap * 0.3,
        "AR10": ap * 1.1,
        "AR100": ap * 1.3,
        "ARs": -1,
        "ARm": ap * 1.0,
        "ARl": ap * 1.35,
    }
    return {
        "kind": "eval",
        "stage": "finetune",
        "step": step,
        "wallSeconds": r6(t),
        "split": "val",
        "stats": {k: r6(v) for k, v in stats.items()},
        "perCategory": [
            {
                "categoryId": cid,
                "name": name,
                "ap": r6(per[name]),
                "ap50": r6(min(1.0, per[name] * 1.7)),
                "ap75": r6(per[name] * 0.9),
                "vocAp50": r6(min(1.0, per[name] * 1.72)),
            }
            for cid, name in CATEGORIES
        ],
        "vocAp50": r6(min(1.0, ap * 1.77)),
        "counts": {"images": 73, "categories": 3, "groundTruth": 1011, "crowdGroundTruth": 0,
                   "detections": 7300},
    }


def write_log():
    lines = [header()]
    t = 2.0
    # Pre-training: box-domain contrast + regression, 600 steps logged every 4.
    for step in range(4, 601, 4):
        t += 4 * 0.9
        contrast = 2.0 + 3.5 * math.exp(-step / 180.0)
        reg = 0.18 + 0.62 * math.exp(-step / 220.0)
        lines.append(step_record("box_domain", step, (step - 1) // 150, t,
                                 lr_at(step, 0.02, 50, [500]),
                                 {"contrast": noisy(contrast, 0.05), "reg": noisy(reg, 0.08)},
                                 rng.uniform(4.2, 4.8)))
    lines.append({"kind": "checkpoint", "stage": "box_domain", "step": 600, "wallSeconds": r6(t + 1),
                  "path": "checkpoints/box_domain-600.safetensors"})
    # Fine-tuning: focal classification + box regression, 1000 steps logged every 5, eval every 100.
    t += 5.0
    lines.append(eval_record(0, t))
    for step in range(5, 1001, 5):
        t += 5 * 1.1
        cls = 0.12 + 1.0 * math.exp(-step / 160.0)
        reg = 0.22 + 0.5 * math.exp(-step / 300.0)
        lines.append(step_record("finetune", step, (step - 1) // 250, t,
                                 lr_at(step, 0.01, 100, [750]),
                                 {"cls": noisy(cls, 0.07), "reg": noisy(reg, 0.06)},
                                 rng.uniform(3.6, 4.1)))
        if step % 100 == 0:
            t += 6.0
            lines.append(eval_record(step, t))
        if step % 500 == 0:
            lines.append({"kind": "checkpoint", "stage": "finetune", "step": step,
                          "wallSeconds": r6(t + 0.5),
                          "path": f"checkpoints/finetune-{step}.safetensors"})
    lines.append({"kind": "end", "status": "completed", "wallSeconds": r6(t + 1), "message": None})
    with open(os.path.join(OUT, "log.jsonl"), "w") as f:
        for record in lines:
            f.write(json.dumps(record, separators=(",", ":")) + "\n")


def iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def jitter(box, amount, width, height):
    w, h = box[2] - box[0], box[3] - box[1]
    x1 = min(max(0.0, box[0] + rng.gauss(0, amount * w)), width - 2)
    y1 = min(max(0.0, box[1] + rng.gauss(0, amount * h)), height - 2)
    x2 = min(max(x1 + 2, box[2] + rng.gauss(0, amount * w)), width)
    y2 = min(max(y1 + 2, box[3] + rng.gauss(0, amount * h)), height)
    return [round(x1, 1), round(y1, 1), round(x2, 1), round(y2, 1)]


def write_sample():
    images = os.path.join(OUT, "images")
    os.makedirs(images, exist_ok=True)
    shutil.copyfile(os.path.join(BCCD, "images", IMAGE + ".jpg"), os.path.join(images, IMAGE + ".jpg"))
    # BCCD is MIT-licensed; its licence travels with the copied image.
    shutil.copyfile(os.path.join(BCCD, "LICENSE-source.txt"),
                    os.path.join(os.path.dirname(OUT), "LICENSE-bccd.txt"))
    root = ET.parse(os.path.join(BCCD, "annotations", IMAGE + ".xml")).getroot()
    width = int(root.find("size/width").text)
    height = int(root.find("size/height").text)
    gt = []
    for obj in root.findall("object"):
        b = obj.find("bndbox")
        xmin, ymin, xmax, ymax = (float(b.find(k).text) for k in ("xmin", "ymin", "xmax", "ymax"))
        if xmax > xmin and ymax > ymin:
            # VOC 1-based inclusive → 0-based pixel edges, as runtime/data does.
            gt.append({"box": [xmin - 1, ymin - 1, xmax, ymax], "label": obj.find("name").text})
    proposals = []
    for g in gt:
        for _ in range(2):
            proposals.append({"box": jitter(g["box"], 0.12, width, height)})
    for _ in range(12):
        x1, y1 = rng.uniform(0, width - 60), rng.uniform(0, height - 60)
        proposals.append({"box": [round(x1, 1), round(y1, 1),
                                  round(min(width, x1 + rng.uniform(30, 200)), 1),
                                  round(min(height, y1 + rng.uniform(30, 200)), 1)]})
    matches = []
    for i, p in enumerate(proposals):
        scores = [iou(p["box"], g["box"]) for g in gt]
        best = max(range(len(gt)), key=lambda j: scores[j])
        if scores[best] >= 0.5:
            matches.append({"proposal": i, "groundTruth": best, "iou": r6(scores[best])})
    predictions = []
    for g in gt:
        predictions.append({"box": jitter(g["box"], 0.05, width, height), "label": g["label"],
                            "score": round(rng.uniform(0.55, 0.98), 3)})
    predictions.append({"box": [20.0, 300.0, 110.0, 390.0], "label": "RBC", "score": 0.41})
    predictions.append({"box": [500.0, 20.0, 560.0, 80.0], "label": "Platelets", "score": 0.12})
    record = {"format": "alignc-sample/1", "stage": "finetune", "step": 1000,
              "image": "images/" + IMAGE + ".jpg", "groundTruth": gt, "proposals": proposals,
              "matches": matches, "predictions": predictions}
    with open(os.path.join(images, "finetune-1000-" + IMAGE + ".json"), "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    write_log()
    write_sample()
    print("wrote", OUT)
