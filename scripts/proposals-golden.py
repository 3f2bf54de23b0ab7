#!/usr/bin/python3
"""Golden numbers for test/proposals from OpenCV (Debian python3-opencv, /usr/bin/python3).

Writes test/fixtures/proposals/opencv-golden.json with
  - colours: 300 RGB triples (corners of the cube, greys, and seeded random ones) and OpenCV's
    8-bit cvtColor results for HSV (COLOR_RGB2HSV) and Lab (COLOR_RGB2Lab);
  - segmentation: a 64x48 synthetic image (three flat rectangles on a background, plus seeded
    noise of +-6) given as RGB bytes, and OpenCV's Felzenszwalb segmentation of it
    (ximgproc createGraphSegmentation(sigma=0.8, k=300, min_size=50), labels per pixel).

Run: /usr/bin/python3 scripts/proposals-golden.py
"""

import json
import os

import cv2
import numpy as np


def colours() -> np.ndarray:
    rng = np.random.default_rng(20261127)
    fixed = [[r, g, b] for r in (0, 255) for g in (0, 255) for b in (0, 255)]
    fixed += [[v, v, v] for v in (1, 17, 64, 128, 200, 254)]
    fixed += [[255, 0, 1], [1, 0, 255], [0, 255, 1], [250, 5, 128], [12, 200, 180]]
    rand = rng.integers(0, 256, size=(300 - len(fixed), 3))
    return np.concatenate([np.array(fixed), rand]).astype(np.uint8)


def synthetic() -> np.ndarray:
    rng = np.random.default_rng(7)
    h, w = 48, 64
    img = np.zeros((h, w, 3), np.int32)
    img[:, :] = (200, 200, 190)
    img[4:20, 6:30] = (180, 30, 40)  # red, box [6, 4, 30, 20]
    img[26:44, 10:26] = (30, 60, 170)  # blue, box [10, 26, 26, 44]
    img[8:40, 38:58] = (40, 150, 60)  # green, box [38, 8, 58, 40]
    img += rng.integers(-6, 7, size=img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def main() -> None:
    c = colours()
    as_image = c.reshape(1, -1, 3)
    hsv = cv2.cvtColor(as_image, cv2.COLOR_RGB2HSV).reshape(-1, 3)
    lab = cv2.cvtColor(as_image, cv2.COLOR_RGB2Lab).reshape(-1, 3)
    img = synthetic()
    seg = cv2.ximgproc.segmentation.createGraphSegmentation(0.8, 300, 50)
    labels = seg.processImage(img)
    out = {
        "opencv": cv2.__version__,
        "colours": {
            "rgb": c.tolist(),
            "hsv": hsv.tolist(),
            "lab": lab.tolist(),
        },
        "segmentation": {
            "width": int(img.shape[1]),
            "height": int(img.shape[0]),
            "sigma": 0.8,
            "k": 300,
            "minSize": 50,
            "rgb": img.reshape(-1).tolist(),
            "labels": labels.reshape(-1).tolist(),
        },
    }
    path = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "proposals", "opencv-golden.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(f"wrote {os.path.normpath(path)}: {int(labels.max()) + 1} segments")


if __name__ == "__main__":
    main()
