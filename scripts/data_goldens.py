#!/usr/bin/python3
"""Golden outputs for the view ops of runtime/data/views (test/data/*.test.ts).

Run with Debian's Python (python3-pil, python3-opencv, python3-torchvision):
    /usr/bin/python3 scripts/data_goldens.py
Writes test/fixtures/data/view-goldens.json. The input image is made here from a seeded numpy
generator and stored in the file, so the TypeScript tests read the same pixels.
"""
import json
import math
import os
import sys

import numpy as np
import cv2
import PIL
from PIL import Image, ImageEnhance, ImageOps
import torchvision
import torchvision.transforms.functional as TF

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'data',
                   'view-goldens.json')


def make_image(width=23, height=17, seed=7):
    """Smooth colour ramps plus noise, clipped to 0..255, so histograms are uneven and varied."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    r = 40 + 150 * x / (width - 1) + 20 * np.sin(y / 2.0)
    g = 200 - 120 * y / (height - 1) + 15 * np.cos(x / 3.0)
    b = 90 + 60 * np.sin((x + y) / 4.0)
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, 18, size=(height, width, 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def flat(a):
    return [int(v) for v in np.asarray(a).reshape(-1)]


def flat_f(a):
    return [float(round(float(v), 6)) for v in np.asarray(a, dtype=np.float64).reshape(-1)]


def rand_aug(pil, op, m):
    """AlignDet's RandAug ops (aligndet-spec section 2.3) via Pillow, magnitude m in 1..9."""
    factor = 0.1 + 1.8 * m / 10
    if op == 'identity':
        return pil
    if op == 'autocontrast':
        return ImageOps.autocontrast(pil)
    if op == 'equalize':
        return ImageOps.equalize(pil)
    if op == 'solarize':
        return ImageOps.solarize(pil, min(int(m * 25.6), 255))
    if op == 'color':
        return ImageEnhance.Color(pil).enhance(factor)
    if op == 'contrast':
        return ImageEnhance.Contrast(pil).enhance(factor)
    if op == 'brightness':
        return ImageEnhance.Brightness(pil).enhance(factor)
    if op == 'sharpness':
        return ImageEnhance.Sharpness(pil).enhance(factor)
    if op == 'posterize':
        return ImageOps.posterize(pil, 4 - int(0.4 * m))
    raise ValueError(op)


def main():
    img = make_image()
    h, w, _ = img.shape
    pil = Image.fromarray(img, 'RGB')
    ops = ['identity', 'autocontrast', 'equalize', 'solarize', 'color', 'contrast', 'brightness',
           'sharpness', 'posterize']
    rand = []
    for op in ops:
        for m in (1, 4, 9):
            rand.append({'op': op, 'magnitude': m, 'pixels': flat(np.asarray(rand_aug(pil, op, m)))})
    # A low-contrast image, so autocontrast and equalize really move values.
    dull = (img // 4 + 100).astype(np.uint8)
    dull_pil = Image.fromarray(dull, 'RGB')
    grey = np.asarray(pil.convert('L').convert('RGB'))

    resized = []
    for (dw, dh) in ((31, 11), (9, 7), (46, 34)):
        out = cv2.resize(img.astype(np.float32), (dw, dh), interpolation=cv2.INTER_LINEAR)
        out8 = cv2.resize(img, (dw, dh), interpolation=cv2.INTER_LINEAR)
        resized.append({'width': dw, 'height': dh, 'pixels': flat_f(out), 'uint8': flat(out8)})

    blurred = []
    for sigma in (0.6, 1.3):
        k = 2 * math.ceil(3 * sigma) + 1
        out = cv2.GaussianBlur(img.astype(np.float32), (k, k), sigmaX=sigma, sigmaY=sigma,
                               borderType=cv2.BORDER_REFLECT_101)
        blurred.append({'sigma': sigma, 'kernel': k, 'pixels': flat_f(out)})

    hue = []
    for factor in (0.1, -0.25):
        hue.append({'factor': factor, 'pixels': flat(np.asarray(TF.adjust_hue(pil, factor)))})

    result = {
        'made_by': 'scripts/data_goldens.py',
        'versions': {'python': sys.version.split()[0], 'numpy': np.__version__, 'pillow': PIL.__version__,
                     'opencv': cv2.__version__, 'torchvision': torchvision.__version__},
        'width': w, 'height': h,
        'image': flat(img),
        'rand_aug': rand,
        'dull_image': flat(dull),
        'dull_autocontrast': flat(np.asarray(ImageOps.autocontrast(dull_pil))),
        'dull_equalize': flat(np.asarray(ImageOps.equalize(dull_pil))),
        'grayscale': flat(grey),
        'resize_float_cv2': resized,
        'gaussian_blur_float_cv2': blurred,
        'adjust_hue_torchvision_pil': hue,
    }
    with open(OUT, 'w') as f:
        json.dump(result, f, separators=(',', ':'))
        f.write('\n')
    print('wrote', OUT, os.path.getsize(OUT), 'bytes')


if __name__ == '__main__':
    main()
