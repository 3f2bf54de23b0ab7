#!/usr/bin/python3
"""Labelled fractions of BCCD trainval, computed from the written description of the algorithm
(docs/data.md, runtime/rng.ts, runtime/data/fractions.ts) in plain Python, as an independent check
of the TypeScript implementation. Writes test/fixtures/data/fractions.json.

    /usr/bin/python3 scripts/data_fractions.py
"""
import json
import os

M0, M1, W0, W1 = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85
MASK = 0xFFFFFFFF
HERE = os.path.dirname(os.path.abspath(__file__))


def philox(ctr, key):
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for r in range(10):
        if r:
            k0, k1 = (k0 + W0) & MASK, (k1 + W1) & MASK
        p0, p1 = M0 * c0, M1 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0), p1 & MASK, ((p0 >> 32) ^ c3 ^ k1), p0 & MASK
    return [c0, c1, c2, c3]


def label_words(label):
    if isinstance(label, int):
        return [label & MASK, (label >> 32) & MASK]
    h = 0x811C9DC5
    data = label.encode('utf-16-le')  # FNV-1a over UTF-16 code units, as JavaScript strings
    for i in range(0, len(data), 2):
        h = ((h ^ (data[i] | data[i + 1] << 8)) * 0x01000193) & MASK
    return [h, 0x80000000]


class Stream:
    def __init__(self, seed, stream=(0, 0)):
        self.key = [seed & MASK, (seed >> 32) & MASK]
        self.stream = list(stream)
        self.block, self.buf = 0, []

    def child(self, *labels):
        s = self.stream
        for label in labels:
            w = label_words(label)
            out = philox([w[0], w[1], s[0], s[1]], [self.key[0], self.key[1] ^ 0x80000000])
            s = out[:2]
        c = Stream(0, s)
        c.key = self.key
        return c

    def u32(self):
        if not self.buf:
            self.buf = philox([self.block & MASK, self.block >> 32, self.stream[0], self.stream[1]],
                              self.key)
            self.block += 1
        return self.buf.pop(0)

    def int(self, lo, hi):
        span = hi - lo
        limit = 2**32 - (2**32 % span)
        while True:
            u = self.u32()
            if u < limit:
                return lo + u % span

    def permutation(self, n):
        order = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.int(0, i + 1)
            order[i], order[j] = order[j], order[i]
        return order


def fraction(keys, percent, seed):
    keys = sorted(set(keys))
    n = len(keys)
    count = min(n, max(1, int(round_half_up(n * percent / 100))))
    order = Stream(seed).child('labelled-fraction').permutation(n)
    return [keys[i] for i in sorted(order[:count])]


def round_half_up(x):
    # JavaScript Math.round: halves go up.
    import math
    return math.floor(x + 0.5)


def main():
    split = os.path.join(HERE, '..', 'data', 'bccd', 'splits', 'trainval.txt')
    keys = [line.strip() for line in open(split) if line.strip()]
    out = {'made_by': 'scripts/data_fractions.py', 'split': 'bccd/trainval', 'fractions': []}
    for seed in range(5):
        for percent in (1, 5, 10, 20, 100):
            out['fractions'].append({'seed': seed, 'percent': percent, 'keys': fraction(keys, percent, seed)})
    # Raw draws for the RNG test: the first 8 u32 of seed 2^40 + 5, stream ('epoch', 3).
    s = Stream(2**40 + 5).child('epoch', 3)
    out['draws'] = {'seed': 2**40 + 5, 'labels': ['epoch', 3], 'u32': [s.u32() for _ in range(8)]}
    path = os.path.join(HERE, '..', 'test', 'fixtures', 'data', 'fractions.json')
    with open(path, 'w') as f:
        json.dump(out, f, separators=(',', ':'))
        f.write('\n')
    print('wrote', path, os.path.getsize(path), 'bytes')


if __name__ == '__main__':
    main()
