#!/usr/bin/python3
"""Golden values for the compute core's primitives (compiler/ir + runtime/cpu + runtime/autodiff).

Run with Debian's python3-torch / python3-torchvision:
    /usr/bin/python3 scripts/make-core-goldens.py
Writes test/fixtures/core/<group>.json. Each case has f32 inputs (generated in float32, so the
TypeScript side sees the very same numbers), the forward output computed by PyTorch in float64,
a random cotangent `seed`, and PyTorch's float64 gradients of sum(output * seed) with respect to
each differentiable input. test/core/primitives.test.ts rebuilds each case from `op` + `params`
as IR and compares.
"""
import json
import os

import torch
import torch.nn.functional as F
import torchvision

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "core")
gen = torch.Generator().manual_seed(20261127)


def randn(*shape, lo=None):
    x = torch.randn(*shape, generator=gen, dtype=torch.float32)
    if lo is not None:
        x = x.abs() + lo
    return x


def enc(t):
    t = t.detach()
    if t.dtype == torch.bool:
        return {"shape": list(t.shape), "dtype": "bool", "data": [int(v) for v in t.flatten().tolist()]}
    if t.dtype in (torch.int32, torch.int64):
        return {"shape": list(t.shape), "dtype": "i32", "data": [int(v) for v in t.flatten().tolist()]}
    return {
        "shape": list(t.shape),
        "dtype": "f32",
        "data": [float("%.9g" % v) for v in t.double().flatten().tolist()],
    }


def case(name, op, params, inputs, fn, grad=True):
    """inputs: dict name -> float32/int tensor. fn(dict of float64 tensors) -> output tensor."""
    xs = {}
    for k, v in inputs.items():
        if v.dtype == torch.float32:
            xs[k] = v.double().requires_grad_(grad)
        else:
            xs[k] = v
    out = fn(xs)
    c = {"name": name, "op": op, "params": params, "inputs": {k: enc(v) for k, v in inputs.items()}, "output": enc(out)}
    if grad and out.dtype == torch.float64:
        seed = torch.randn(*out.shape, generator=gen, dtype=torch.float32)
        diff = [k for k, v in xs.items() if v.dtype == torch.float64]
        gs = torch.autograd.grad((out * seed.double()).sum(), [xs[k] for k in diff], allow_unused=True)
        c["seed"] = enc(seed)
        c["grads"] = {k: enc(g if g is not None else torch.zeros_like(xs[k])) for k, g in zip(diff, gs)}
    return c


def elementwise():
    cases = []
    unary = {
        "neg": (lambda x: -x, None),
        "abs": (torch.abs, None),
        "sign": (torch.sign, None),
        "exp": (torch.exp, None),
        "log": (torch.log, 0.1),
        "sqrt": (torch.sqrt, 0.1),
        "rsqrt": (torch.rsqrt, 0.1),
        "recip": (torch.reciprocal, 0.3),
        "sin": (torch.sin, None),
        "cos": (torch.cos, None),
        "tanh": (torch.tanh, None),
        "atan": (torch.atan, None),
        "sigmoid": (torch.sigmoid, None),
        "floor": (torch.floor, None),
        "ceil": (torch.ceil, None),
        "round": (torch.round, None),
    }
    for fn, (f, lo) in unary.items():
        x = randn(7, 13, lo=lo) * (3 if fn in ("floor", "ceil", "round") else 1)
        if fn == "round":
            x[0, :4] = torch.tensor([0.5, 1.5, 2.5, -0.5])
        cases.append(case(f"unary-{fn}", "unary", {"fn": fn}, {"x": x}, lambda v, f=f: f(v["x"])))
    # Binary ops on a [7,13] operand and a [13] operand broadcast over rows (numpy-style).
    binary = {
        "add": (torch.add, None, None),
        "sub": (torch.sub, None, None),
        "mul": (torch.mul, None, None),
        "div": (torch.div, None, 0.5),
        "max": (torch.maximum, None, None),
        "min": (torch.minimum, None, None),
        "pow": (torch.pow, 0.2, None),
        "atan2": (torch.atan2, None, None),
        "rem": (torch.fmod, None, 0.7),
    }
    for fn, (f, alo, blo) in binary.items():
        a = randn(7, 13, lo=alo)
        b = randn(13, lo=blo)
        if fn in ("max", "min"):
            a[2, :5] = b[:5]  # ties: PyTorch splits the gradient evenly
        cases.append(case(f"binary-{fn}", "binary", {"fn": fn}, {"a": a, "b": b}, lambda v, f=f: f(v["a"], v["b"])))
    for fn, f in {"lt": torch.lt, "le": torch.le, "gt": torch.gt, "ge": torch.ge, "eq": torch.eq, "ne": torch.ne}.items():
        a = torch.round(randn(5, 6))
        b = torch.round(randn(5, 6))
        cases.append(case(f"compare-{fn}", "compare", {"fn": fn}, {"a": a, "b": b}, lambda v, f=f: f(v["a"], v["b"]), grad=False))
    c = randn(7, 13) > 0
    cases.append(
        case("select", "select", {}, {"c": c, "a": randn(7, 13), "b": randn(7, 13)}, lambda v: torch.where(v["c"], v["a"], v["b"]))
    )
    x = randn(4, 5) * 4
    cases.append(case("cast-f32-i32", "cast", {"dtype": "i32"}, {"x": x}, lambda v: v["x"].to(torch.int32), grad=False))
    cases.append(case("cast-f32-bool", "cast", {"dtype": "bool"}, {"x": torch.round(x)}, lambda v: v["x"] != 0, grad=False))
    ia = torch.randint(-50, 50, (4, 5), generator=gen, dtype=torch.int32)
    ib = torch.randint(1, 9, (4, 5), generator=gen, dtype=torch.int32) * torch.where(torch.rand(4, 5, generator=gen) > 0.5, 1, -1).to(torch.int32)
    cases.append(case("cast-i32-f32", "cast", {"dtype": "f32"}, {"x": ia}, lambda v: v["x"].double(), grad=False))
    ints = {
        "add": torch.add,
        "sub": torch.sub,
        "mul": torch.mul,
        "div": lambda a, b: torch.div(a, b, rounding_mode="trunc"),
        "rem": torch.fmod,
        "max": torch.maximum,
        "min": torch.minimum,
    }
    for fn, f in ints.items():
        cases.append(case(f"int-{fn}", "binary", {"fn": fn}, {"a": ia, "b": ib}, lambda v, f=f: f(v["a"], v["b"]).to(torch.int32), grad=False))
    # Bitwise ops and shifts: a [4,5] with b broadcast from [5] (shift amounts 0..7).
    bits = {
        "and": torch.bitwise_and,
        "or": torch.bitwise_or,
        "xor": torch.bitwise_xor,
        "shl": torch.bitwise_left_shift,
        "shr": torch.bitwise_right_shift,  # arithmetic on int32
    }
    sh = torch.randint(0, 8, (5,), generator=gen, dtype=torch.int32)
    for fn, f in bits.items():
        cases.append(case(f"int-{fn}", "binary", {"fn": fn}, {"a": ia * 1000, "b": sh}, lambda v, f=f: f(v["a"], v["b"]).to(torch.int32), grad=False))
    for fn, f in {"neg": torch.neg, "abs": torch.abs, "sign": torch.sign, "not": torch.bitwise_not}.items():
        cases.append(case(f"int-unary-{fn}", "unary", {"fn": fn}, {"x": ia}, lambda v, f=f: f(v["x"]).to(torch.int32), grad=False))
    cases.append(case("bool-unary-not", "unary", {"fn": "not"}, {"x": ia > 0}, lambda v: torch.logical_not(v["x"]), grad=False))
    cases.append(case("int-sum-[1]", "reduce", {"fn": "sum", "axes": [1]}, {"x": ia}, lambda v: v["x"].sum(dim=1, keepdim=True).to(torch.int32), grad=False))
    return cases


def reduce_matmul():
    cases = []
    x = randn(3, 5, 4)
    for axes in ([1], [0, 2], [0, 1, 2]):
        cases.append(case(f"sum-{axes}", "reduce", {"fn": "sum", "axes": axes}, {"x": x}, lambda v, a=axes: v["x"].sum(dim=a, keepdim=True)))
    xt = randn(3, 5, 4)
    xt[1, 2, :] = xt[1, 0, :]  # ties along axis 1 for some columns
    for fn, f in (("max", torch.amax), ("min", torch.amin)):
        cases.append(case(f"{fn}-[1]", "reduce", {"fn": fn, "axes": [1]}, {"x": xt}, lambda v, f=f: f(v["x"], dim=1, keepdim=True)))
    cases.append(case("max-[0,2]", "reduce", {"fn": "max", "axes": [0, 2]}, {"x": x}, lambda v: torch.amax(v["x"], dim=(0, 2), keepdim=True)))
    cases.append(case("argmax-1", "argmax", {"axis": 1}, {"x": xt}, lambda v: torch.argmax(v["x"], dim=1, keepdim=True).to(torch.int32), grad=False))
    cases.append(case("matmul-batched", "matmul", {}, {"a": randn(2, 7, 13), "b": randn(2, 13, 5)}, lambda v: v["a"] @ v["b"]))
    # Non-contiguous operand: a is given as [2,13,7] and permuted to [2,7,13] inside the graph.
    cases.append(
        case(
            "matmul-permuted",
            "matmul_permuted",
            {},
            {"a": randn(2, 13, 7), "b": randn(2, 13, 5)},
            lambda v: v["a"].permute(0, 2, 1) @ v["b"],
        )
    )
    return cases


def conv():
    cases = []
    configs = [
        ("3x3-s1-p1", (2, 3, 7, 9), (4, 3, 3, 3), dict(stride=1, padding=1, dilation=1, groups=1)),
        ("3x3-s2-p0", (1, 3, 8, 11), (2, 3, 3, 3), dict(stride=2, padding=0, dilation=1, groups=1)),
        ("3x3-s1-p2-d2", (1, 2, 7, 13), (3, 2, 3, 3), dict(stride=1, padding=2, dilation=2, groups=1)),
        ("grouped", (1, 4, 6, 7), (6, 2, 3, 3), dict(stride=1, padding=1, dilation=1, groups=2)),
        ("depthwise-s2", (1, 3, 9, 9), (3, 1, 3, 3), dict(stride=2, padding=1, dilation=1, groups=3)),
        ("1x1", (2, 5, 4, 3), (3, 5, 1, 1), dict(stride=1, padding=0, dilation=1, groups=1)),
        ("7x7-s2-p3", (1, 3, 13, 11), (2, 3, 7, 7), dict(stride=2, padding=3, dilation=1, groups=1)),
    ]
    for name, xs, ws, p in configs:
        params = {k: ([v, v] if k != "groups" else v) for k, v in p.items()}
        cases.append(case(f"conv2d-{name}", "conv2d", params, {"x": randn(*xs), "w": randn(*ws)}, lambda v, p=p: F.conv2d(v["x"], v["w"], **p)))
    tconfigs = [
        ("s2-p1-op1", (1, 3, 4, 5), (3, 2, 3, 3), dict(stride=2, padding=1, output_padding=1, dilation=1, groups=1)),
        ("grouped-s1", (2, 4, 5, 4), (4, 3, 3, 3), dict(stride=1, padding=1, output_padding=0, dilation=1, groups=2)),
        ("s3-d2", (1, 2, 3, 4), (2, 2, 2, 3), dict(stride=3, padding=0, output_padding=2, dilation=2, groups=1)),
    ]
    for name, xs, ws, p in tconfigs:
        params = {k: ([v, v] if k != "groups" else v) for k, v in p.items()}
        params["outputPadding"] = params.pop("output_padding")
        cases.append(
            case(f"conv_transpose2d-{name}", "conv_transpose2d", params, {"x": randn(*xs), "w": randn(*ws)}, lambda v, p=p: F.conv_transpose2d(v["x"], v["w"], **p))
        )
    pools = [
        ("max-3-s2-p1", "max", 3, 2, 1, (2, 3, 7, 9)),
        ("max-2-s2", "max", 2, 2, 0, (1, 2, 7, 6)),
        ("avg-2-s2", "avg", 2, 2, 0, (1, 2, 7, 6)),
        ("avg-3-s2-p1", "avg", 3, 2, 1, (2, 2, 7, 9)),
    ]
    for name, fn, k, s, p, xs in pools:
        params = {"fn": fn, "kernel": [k, k], "stride": [s, s], "padding": [p, p]}
        f = (lambda v, k=k, s=s, p=p: F.max_pool2d(v["x"], k, s, p)) if fn == "max" else (lambda v, k=k, s=s, p=p: F.avg_pool2d(v["x"], k, s, p))
        cases.append(case(f"pool2d-{name}", "pool2d", params, {"x": randn(*xs)}, f))
    return cases


def movement():
    cases = []
    x = randn(4, 6, 5)
    cases.append(case("reshape", "reshape", {"shape": [6, 20]}, {"x": x}, lambda v: v["x"].reshape(6, 20)))
    cases.append(case("permute", "permute", {"perm": [2, 0, 1]}, {"x": x}, lambda v: v["x"].permute(2, 0, 1)))
    cases.append(
        case(
            "slice-steps",
            "slice",
            {"start": [1, 0, 1], "stop": [4, 6, 5], "step": [2, 1, 3]},
            {"x": x},
            lambda v: v["x"][1:4:2, 0:6, 1:5:3],
        )
    )
    cases.append(case("pad", "pad", {"low": [1, 0, 2], "high": [0, 3, 1], "value": 0.5}, {"x": x}, lambda v: F.pad(v["x"], (2, 1, 0, 3, 1, 0), value=0.5)))
    cases.append(case("broadcast", "broadcast", {"shape": [4, 6, 5]}, {"x": randn(4, 1, 5)}, lambda v: v["x"].expand(4, 6, 5)))
    cases.append(
        case("concat", "concat", {"axis": 1}, {"a": randn(2, 3, 4), "b": randn(2, 1, 4), "c": randn(2, 5, 4)}, lambda v: torch.cat([v["a"], v["b"], v["c"]], dim=1))
    )
    # A non-contiguous chain: permute, then a strided slice, then reshape (7x13 odd sizes).
    cases.append(
        case(
            "permute-slice-reshape",
            "view_chain",
            {},
            {"x": randn(7, 13)},
            lambda v: v["x"].permute(1, 0)[2:13:3, 1:6].reshape(-1),
        )
    )
    return cases


def indexing():
    cases = []
    x = randn(5, 7)
    idx = torch.randint(0, 7, (5, 4), generator=gen)
    cases.append(case("gather-axis1", "gather", {"axis": 1}, {"x": x, "index": idx.to(torch.int32)}, lambda v: torch.gather(v["x"], 1, idx)))
    idx0 = torch.tensor([[0, 2, 1], [2, 2, 0], [1, 0, 0], [2, 1, 2]])  # duplicates accumulate
    cases.append(
        case(
            "scatter_add-axis0",
            "scatter_add",
            {"axis": 0},
            {"base": randn(3, 3), "index": idx0.to(torch.int32), "src": randn(4, 3)},
            lambda v: torch.scatter_add(v["base"], 0, idx0, v["src"]),
        )
    )
    return cases


def roi_align():
    cases = []
    feat = randn(2, 3, 9, 11)
    rois = torch.tensor(
        [
            [0, 1.3, 2.1, 12.7, 14.2],
            [1, 0.0, 0.0, 21.5, 17.0],
            [0, 15.2, 3.3, 24.0, 19.9],  # extends past the right edge
            [1, 4.4, 5.1, 5.9, 6.0],  # smaller than a bin
        ],
        dtype=torch.float32,
    )
    for aligned in (True, False):
        for sr in (2, 0):
            params = {"outputSize": [3, 4], "spatialScale": 0.5, "samplingRatio": sr, "aligned": aligned}
            cases.append(
                case(
                    f"roi_align-{'aligned' if aligned else 'legacy'}-sr{sr}",
                    "roi_align",
                    params,
                    {"feat": feat, "rois": rois},
                    lambda v, sr=sr, aligned=aligned: torchvision.ops.roi_align(v["feat"], v["rois"].detach(), (3, 4), 0.5, sr if sr > 0 else -1, aligned),
                )
            )
    for c in cases:
        c["grads"].pop("rois")
    return cases


def routines():
    cases = []
    x = randn(3, 8)
    cases.append(case("argsort-asc", "argsort", {"axis": 1, "descending": False}, {"x": x}, lambda v: torch.sort(v["x"], dim=1, stable=True).indices.to(torch.int32), grad=False))
    xt = torch.round(randn(4, 5))  # ties: stable order
    cases.append(case("argsort-desc-ties", "argsort", {"axis": 0, "descending": True}, {"x": xt}, lambda v: torch.sort(v["x"], dim=0, descending=True, stable=True).indices.to(torch.int32), grad=False))
    cases.append(case("top_k", "top_k", {"k": 3}, {"x": x}, lambda v: torch.topk(v["x"], 3, dim=1).indices.to(torch.int32), grad=False))
    xy = torch.rand(12, 2, generator=gen) * 40
    wh = torch.rand(12, 2, generator=gen) * 20 + 5
    boxes = torch.cat([xy, xy + wh], dim=1)
    scores = torch.rand(12, generator=gen)
    keep = torchvision.ops.nms(boxes.double(), scores.double(), 0.3)
    padded = torch.full((10,), -1, dtype=torch.int32)
    padded[: min(10, len(keep))] = keep[:10].to(torch.int32)
    cases.append(case("nms", "nms", {"iouThreshold": 0.3, "maxOutput": 10}, {"boxes": boxes, "scores": scores}, lambda v: padded, grad=False))
    return cases


def composite():
    """Whole losses through the Tensor front end: value and gradient of a scalar (no seed)."""
    cases = []

    def scalar_case(name, inputs, fn):
        xs = {k: (v.double().requires_grad_(True) if v.dtype == torch.float32 else v) for k, v in inputs.items()}
        out = fn(xs)
        diff = [k for k, v in xs.items() if v.dtype == torch.float64]
        gs = torch.autograd.grad(out, [xs[k] for k in diff])
        return {
            "name": name,
            "op": name,
            "params": {},
            "inputs": {k: enc(v) for k, v in inputs.items()},
            "output": enc(out),
            "grads": {k: enc(g) for k, g in zip(diff, gs)},
        }

    def cnn(v):
        h = F.relu(F.conv2d(v["x"], v["w1"], padding=1) + v["b1"].reshape(1, -1, 1, 1))
        h = F.max_pool2d(h, 2).reshape(2, -1)
        logits = h @ v["w2"] + v["b2"]
        return F.cross_entropy(logits, v["labels"].long())

    cases.append(
        scalar_case(
            "small-cnn-xent",
            {
                "x": randn(2, 3, 8, 8),
                "w1": randn(4, 3, 3, 3) * 0.3,
                "b1": randn(4) * 0.1,
                "w2": randn(64, 5) * 0.2,
                "b2": randn(5) * 0.1,
                "labels": torch.tensor([3, 1], dtype=torch.int32),
            },
            cnn,
        )
    )

    def giou_smooth_l1(v):
        p, t = v["pred"], v["target"]
        area_p = (p[:, 2] - p[:, 0]) * (p[:, 3] - p[:, 1])
        area_t = (t[:, 2] - t[:, 0]) * (t[:, 3] - t[:, 1])
        lt = torch.maximum(p[:, :2], t[:, :2])
        rb = torch.minimum(p[:, 2:], t[:, 2:])
        wh = (rb - lt).clamp(min=0)
        inter = wh[:, 0] * wh[:, 1]
        union = area_p + area_t - inter
        iou = inter / union
        elt = torch.minimum(p[:, :2], t[:, :2])
        erb = torch.maximum(p[:, 2:], t[:, 2:])
        ewh = erb - elt
        enclose = ewh[:, 0] * ewh[:, 1]
        giou = iou - (enclose - union) / enclose
        d = (p - t).abs()
        sl1 = torch.where(d < 1.0, 0.5 * d * d, d - 0.5).sum()
        return (1 - giou).sum() + 0.1 * sl1

    xy = torch.rand(6, 2, generator=gen) * 10
    wh = torch.rand(6, 2, generator=gen) * 8 + 2
    txy = xy + torch.randn(6, 2, generator=gen)
    twh = wh + torch.rand(6, 2, generator=gen)
    cases.append(
        scalar_case(
            "giou-smooth-l1",
            {"pred": torch.cat([xy, xy + wh], 1), "target": torch.cat([txy, txy + twh], 1)},
            giou_smooth_l1,
        )
    )
    return cases


def optim():
    """Optimizer updates (3 steps with fixed gradients), clipping and schedules from torch.optim."""
    cases = []
    p0 = randn(3, 4)
    grads = [randn(3, 4) for _ in range(3)]

    def run(make):
        p = p0.double().clone().requires_grad_(True)
        opt = make([p])
        for g in grads:
            p.grad = g.double().clone()
            opt.step()
        return p.detach()

    base = {"p0": enc(p0), "grads": [enc(g) for g in grads]}
    for nesterov in (False, True):
        out = run(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-2, nesterov=nesterov))
        cases.append({"name": f"sgd-nesterov-{str(nesterov).lower()}", "params": {"lr": 0.1, "momentum": 0.9, "weightDecay": 1e-2, "nesterov": nesterov}, **base, "output": enc(out)})
    out = run(lambda ps: torch.optim.AdamW(ps, lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05))
    cases.append({"name": "adamw", "params": {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weightDecay": 0.05}, **base, "output": enc(out)})
    a = randn(3, 4)
    b = randn(5)
    ta, tb = a.double().clone().requires_grad_(True), b.double().clone().requires_grad_(True)
    ta.grad, tb.grad = a.double().clone(), b.double().clone()
    norm = torch.nn.utils.clip_grad_norm_([ta, tb], 1.5)
    cases.append({"name": "clip-grad-norm", "params": {"maxNorm": 1.5}, "inputs": {"a": enc(a), "b": enc(b)}, "norm": float(norm), "outputs": [enc(ta.grad), enc(tb.grad)]})

    def lrs(make, n=30):
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.1)
        sched = make(opt)
        values = []
        for _ in range(n):
            values.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        return values

    S = torch.optim.lr_scheduler
    cases.append({"name": "schedule-warmup", "params": {"base": 0.1, "warmup": 5, "startFactor": 0.1}, "values": lrs(lambda o: S.LinearLR(o, start_factor=0.1, total_iters=5))})
    cases.append({"name": "schedule-step", "params": {"base": 0.1, "milestones": [8, 20], "gamma": 0.1}, "values": lrs(lambda o: S.MultiStepLR(o, milestones=[8, 20], gamma=0.1))})
    cases.append({"name": "schedule-cosine", "params": {"base": 0.1, "total": 30, "min": 0.001}, "values": lrs(lambda o: S.CosineAnnealingLR(o, T_max=30, eta_min=0.001))})
    return cases


def train():
    """A small CNN trained for 3 steps (forward, backward, clip, update) with torch.optim."""
    cases = []
    init = {"w1": randn(4, 3, 3, 3) * 0.3, "b1": randn(4) * 0.1, "w2": randn(64, 5) * 0.2, "b2": randn(5) * 0.1}
    batches = [(randn(2, 3, 8, 8), torch.randint(0, 5, (2,), generator=gen, dtype=torch.int32)) for _ in range(3)]

    def loss_fn(ps, x, labels):
        h = F.relu(F.conv2d(x, ps["w1"], padding=1) + ps["b1"].reshape(1, -1, 1, 1))
        h = F.max_pool2d(h, 2).reshape(2, -1)
        return F.cross_entropy(h @ ps["w2"] + ps["b2"], labels.long())

    for name, make, clip in (
        ("sgd-clip", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3), 0.5),
        ("adamw", lambda ps: torch.optim.AdamW(ps, lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05), None),
    ):
        ps = {k: v.double().clone().requires_grad_(True) for k, v in init.items()}
        opt = make(list(ps.values()))
        losses = []
        for x, labels in batches:
            opt.zero_grad()
            loss = loss_fn(ps, x.double(), labels)
            loss.backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(list(ps.values()), clip)
            opt.step()
            losses.append(float(loss))
        cases.append(
            {
                "name": name,
                "clip": clip,
                "init": {k: enc(v) for k, v in init.items()},
                "batches": [{"x": enc(x), "labels": enc(l)} for x, l in batches],
                "losses": losses,
                "final": {k: enc(v) for k, v in ps.items()},
            }
        )
    return cases


def main():
    os.makedirs(OUT, exist_ok=True)
    groups = {
        "elementwise": elementwise,
        "reduce-matmul": reduce_matmul,
        "conv": conv,
        "movement": movement,
        "indexing": indexing,
        "roi-align": roi_align,
        "routines": routines,
        "composite": composite,
        "optim": optim,
        "train": train,
    }
    for name, make in groups.items():
        path = os.path.join(OUT, f"{name}.json")
        with open(path, "w") as f:
            json.dump({"generator": "scripts/make-core-goldens.py", "torch": torch.__version__, "cases": make()}, f, separators=(",", ":"))
        print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
