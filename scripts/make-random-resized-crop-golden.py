#!/usr/bin/python3
"""Golden crop windows of torchvision's RandomResizedCrop.get_params for given random draws.

Writes test/fixtures/data/random-resized-crop.json. torchvision draws its randomness from torch's
generator; to compare window geometry (tries, rounding, fit test, centre-crop fallback) with
alignc's `randomCropWindow` (runtime/data/views/crop.ts) given the *same* draws, this script runs
torchvision's own get_params with `torch.empty(1).uniform_(a, b)` and `torch.randint(lo, hi)`
replaced by functions reading a scripted list of unit draws u in [0, 1): uniform gives
a + (b - a) * u (float64), randint gives lo + floor(u * (hi - lo)). The alignc test feeds the same
list through an Rng stand-in with the same two formulas. Each case records the draws, the window
(x = j, y = i, width = w, height = h) and how many draws were used.

    /usr/bin/python3 scripts/make-random-resized-crop-golden.py
"""
import json
import math
import os
import random

import torch
from torchvision.transforms import RandomResizedCrop

OUT = os.path.join(
    os.path.dirname(__file__), '..', 'test', 'fixtures', 'data', 'random-resized-crop.json')


class Draws:
    def __init__(self, us):
        self.us = us
        self.used = 0

    def next(self):
        u = self.us[self.used]
        self.used += 1
        return u


def run(width, height, scale, ratio, us):
    draws = Draws(us)
    real_empty, real_randint = torch.empty, torch.randint

    class Uniform:
        def uniform_(self, a, b):
            a, b = float(a), float(b)
            return torch.tensor([a + (b - a) * draws.next()], dtype=torch.float64)

    def empty(*args, **kwargs):
        return Uniform()

    def randint(lo, hi, size):
        return torch.tensor([lo + math.floor(draws.next() * (hi - lo))])

    real_log, real_tensor = torch.log, torch.tensor
    torch.empty, torch.randint = empty, randint
    try:
        img = real_empty(3, height, width)
        # log(ratio) in float64, as alignc computes it (torchvision's float32 would only move a
        # size that lands within ~1e-7 of a rounding boundary).
        torch.log = lambda t: real_log(t.double())
        i, j, h, w = RandomResizedCrop.get_params(img, list(scale), list(ratio))
    finally:
        torch.empty, torch.randint, torch.log = real_empty, real_randint, real_log
    return {
        'width': width, 'height': height, 'scale': list(scale), 'ratio': list(ratio),
        'draws': us, 'used': draws.used,
        'window': {'x': int(j), 'y': int(i), 'width': int(w), 'height': int(h)},
    }


def main():
    rnd = random.Random(20261127)
    cases = []
    sizes = [(500, 375), (64, 64), (40, 300), (300, 20), (3, 3), (1, 7), (224, 224)]
    ranges = [
        ((0.08, 1.0), (3 / 4, 4 / 3)),
        ((0.2, 1.0), (0.5, 2.0)),
        ((0.9, 1.0), (1.0, 1.0)),
        # No try fits: the centre-crop fallback, clamped to the ratio range.
        ((1.5, 2.0), (3 / 4, 4 / 3)),
        ((1.5, 2.0), (1.0, 1.0)),
    ]
    for (w, h) in sizes:
        for scale, ratio in ranges:
            for _ in range(4):
                us = [rnd.random() for _ in range(22)]
                cases.append(run(w, h, scale, ratio, us))
    # An exact half in the fallback: 5 / (4 / 3) = 3.75 -> 4; 3 * (4 / 3) = 4; 6 / 0.8 = 7.5 -> 8
    # (half to even), 5 * 0.5 = 2.5 -> 2.
    cases.append(run(6, 20, (1.5, 2.0), (0.8, 1.0), [0.5] * 20))
    cases.append(run(20, 5, (1.5, 2.0), (0.25, 0.5), [0.5] * 20))
    with open(OUT, 'w') as f:
        json.dump({'cases': cases}, f)
    print('wrote', OUT, len(cases), 'cases')


if __name__ == '__main__':
    main()
