#!/usr/bin/python3
"""Golden values of std.losses' `byol(p, z)` from PyTorch, for test/losses/byol-golden.test.ts.

Transcribes BYOL's regression loss as the authors' reference code writes it
(`loss_fn(x, y)`: F.normalize both, `2 - 2 * (x * y).sum(dim=-1)`), averaged over rows, with the
target z detached (the target network gets no gradient). float64. Cases: random rows, rows of very
different lengths, and p = z (loss 0).

Run with Debian's torch: /usr/bin/python3 scripts/make-byol-golden.py
Writes test/fixtures/losses/byol-golden.json.
"""

import json
import os

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "losses", "byol-golden.json")


def loss_fn(x, y):
    x = F.normalize(x, dim=-1, p=2)
    y = F.normalize(y, dim=-1, p=2)
    return 2 - 2 * (x * y).sum(dim=-1)


def case(name, p, z):
    p = p.clone().double().requires_grad_(True)
    z = z.clone().double().requires_grad_(True)
    value = loss_fn(p, z.detach()).mean()
    value.backward()
    return {
        "name": name,
        "p": p.detach().tolist(),
        "z": z.detach().tolist(),
        "value": value.item(),
        "grad_p": p.grad.tolist(),
        "grad_z": z.grad.tolist() if z.grad is not None else torch.zeros_like(z).tolist(),
    }


g = torch.Generator().manual_seed(8)
cases = [
    case("random", torch.randn(5, 8, generator=g), torch.randn(5, 8, generator=g)),
    case(
        "scales",
        torch.randn(4, 6, generator=g) * torch.tensor([[1e-3], [1.0], [30.0], [0.2]]),
        torch.randn(4, 6, generator=g) * torch.tensor([[5.0], [1e-2], [1.0], [100.0]]),
    ),
]
same = torch.randn(3, 4, generator=g)
cases.append(case("equal", same, same * 2.5))
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f, indent=1)
print(f"{len(cases)} cases -> {OUT}")
