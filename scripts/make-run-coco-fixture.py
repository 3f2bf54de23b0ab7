#!/usr/bin/python3
"""A tiny COCO-format dataset for test/run/pipelines.test.ts, made from 4 BCCD train images.

The AlignDet COCO pipelines (pipelines/aligndet-*.align) read data/coco, which is not shipped; the
pipelines test points them at this fixture instead. Images are BCCD's, scaled to 1/4 (160x120) with
OpenCV's INTER_AREA; boxes are the VOC boxes scaled the same way, in COCO [x, y, w, h] form.
The heads of those pipelines have 80 classes, so the file lists 80 categories: the three BCCD
classes first (ids 1-3), then 77 unused ones.

Run with Debian's python (opencv): /usr/bin/python3 scripts/make-run-coco-fixture.py
Writes test/fixtures/run/coco/{images/*.jpg, instances.json}.
"""

import json
import os
import xml.etree.ElementTree as ET

import cv2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BCCD = os.path.join(ROOT, "data", "bccd")
OUT = os.path.join(ROOT, "test", "fixtures", "run", "coco")
NAMES = ["WBC", "RBC", "Platelets"]
SCALE = 0.25

os.makedirs(os.path.join(OUT, "images"), exist_ok=True)
with open(os.path.join(BCCD, "splits", "train.txt")) as f:
    stems = [line.strip() for line in f if line.strip()][:4]

images, annotations = [], []
for image_id, stem in enumerate(stems, start=1):
    img = cv2.imread(os.path.join(BCCD, "images", stem + ".jpg"))
    h, w = img.shape[:2]
    small = cv2.resize(img, (round(w * SCALE), round(h * SCALE)), interpolation=cv2.INTER_AREA)
    name = stem + ".jpg"
    cv2.imwrite(os.path.join(OUT, "images", name), small, [cv2.IMWRITE_JPEG_QUALITY, 90])
    images.append({"id": image_id, "file_name": name, "width": small.shape[1], "height": small.shape[0]})
    for obj in ET.parse(os.path.join(BCCD, "annotations", stem + ".xml")).getroot().iter("object"):
        box = obj.find("bndbox")
        x0, y0, x1, y1 = (float(box.find(k).text) * SCALE for k in ("xmin", "ymin", "xmax", "ymax"))
        annotations.append({
            "id": len(annotations) + 1,
            "image_id": image_id,
            "category_id": NAMES.index(obj.find("name").text) + 1,
            "bbox": [round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)],
            "area": round((x1 - x0) * (y1 - y0), 2),
            "iscrowd": 0,
        })

categories = [{"id": i + 1, "name": n} for i, n in enumerate(NAMES)]
categories += [{"id": i, "name": f"unused_{i}"} for i in range(len(NAMES) + 1, 81)]
with open(os.path.join(OUT, "instances.json"), "w") as f:
    json.dump({"images": images, "annotations": annotations, "categories": categories}, f, indent=1)
print(f"{len(images)} images, {len(annotations)} boxes, {len(categories)} categories -> {OUT}")
