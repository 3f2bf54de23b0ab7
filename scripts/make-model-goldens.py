#!/usr/bin/python3
"""Golden forward passes of the detector blocks (runtime/models) against PyTorch.

Run with Debian's python3-torch / python3-torchvision:
    /usr/bin/python3 scripts/make-model-goldens.py
Writes test/fixtures/models/:
  resnet18.safetensors   ResNet-18 at width 1/8 (torchvision's own BasicBlock) on 2 images 48x40
  resnet50.safetensors   ResNet-50 at width 1/32 (torchvision's own Bottleneck) on 1 image 48x48
  resnet34.safetensors   ResNet-34 at width 1/16 (BasicBlock, [3, 4, 6, 3]) on 1 image 40x32
  resnet18-gn.safetensors  ResNet-18 at width 3/32 with nn.GroupNorm(gcd(32, C), C) as norm_layer
                         (mmdet's GN(32) backbone at 6-48 channels: 3 channels per group), norms
                         renamed gnK as mmdet names them, on 2 images 40x32
  retinanet.safetensors  FPN P3-P7 (extra convs on the input, `neck.`) + RetinaNet head, supervised
                         (`sup.`) and with the AlignDet projector (`pre.`)
  fcos.safetensors       FPN P3-P7 (extra convs on the output, ReLU between) + FCOS head (GN towers,
                         per-level Scale), supervised and projector variants, both centerness
                         branches and the norm_on_bbox variant; an FPN P2-P6 (max-pool extra level,
                         `p2p6.`), a Linear projector (`linproj.`) and F.interpolate nearest by size
  fpn-bn.safetensors     FPN P3-P7 with BN after every conv (fine-tuning's SyncBN) in training mode:
                         batch statistics, and the running statistics after the step (`after.`)
  names.json             torchvision resnet18 / resnet50 state_dict keys and shapes

Each .safetensors holds weights under a prefix (`model.`, `sup.`, `pre.`, ...) named as PyTorch /
mmdetection 2.x name them, inputs `in.*`, expected outputs `out.*`, and the block configuration as
JSON in the metadata (`config`). Weights and inputs are random, rounded to float16 and stored as F16,
so both sides use exactly the same numbers; outputs are computed in float64 and stored as F32.

The FPN and heads are transcribed from mmdetection 2.25 (mmdet itself is not installed): FPN.forward,
RetinaHead, FCOSHead.forward_single, mmcv ConvModule and Scale naming. The ResNets use torchvision's
block classes, and their parameter names at width 1 are asserted equal to torchvision.models'.
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.resnet import BasicBlock, Bottleneck

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "models")
gen = torch.Generator().manual_seed(20261127)


# ---- safetensors, written by hand (the `safetensors` package is not installed) -------------------
def write_safetensors(path, tensors, metadata):
    """tensors: name -> (dtype, tensor) with dtype F16 / F32 / I64."""
    np_types = {"F16": np.float16, "F32": np.float32, "I64": np.int64}
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        dtype, t = tensors[name]
        data = np.ascontiguousarray(t.detach().cpu().numpy().astype(np_types[dtype])).astype("<" + np.dtype(np_types[dtype]).str[1:]).tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    js = json.dumps(header, separators=(",", ":")).encode()
    js += b" " * ((8 - len(js) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)))
        f.write(js)
        for b in blobs:
            f.write(b)
    print(f"{path}: {8 + len(js) + offset} bytes, {len(tensors)} tensors")


def f16(t):
    """Rounded to float16, held in float64: the exact numbers the F16 file stores."""
    return t.half().double()


def randomize(module):
    """Random, float16-exact weights with O(1) activations; BN statistics non-trivial."""
    for name, p in module.state_dict().items():
        leaf = name.rsplit(".", 1)[-1]
        if leaf == "num_batches_tracked":
            p.fill_(7)
            continue
        owner = module.get_submodule(name.rsplit(".", 1)[0]) if "." in name else module
        if isinstance(owner, (nn.BatchNorm2d, nn.GroupNorm)):
            if leaf in ("weight", "running_var"):
                v = torch.rand(p.shape, generator=gen, dtype=torch.float64) + 0.5
            else:
                v = torch.randn(p.shape, generator=gen, dtype=torch.float64) * 0.2
        elif leaf == "scale":
            v = torch.rand(p.shape, generator=gen, dtype=torch.float64) * 0.6 + 0.6
        elif p.dim() >= 2:
            fan_in = p[0].numel()
            v = torch.randn(p.shape, generator=gen, dtype=torch.float64) * math.sqrt(2.0 / fan_in)
        else:
            v = torch.randn(p.shape, generator=gen, dtype=torch.float64) * 0.1
        p.copy_(f16(v))


def weights(module, prefix):
    out = {}
    for name, t in module.state_dict().items():
        t = t.clone()  # a copy: a training-mode forward updates BN buffers in place
        out[prefix + name] = ("I64", t) if t.dtype == torch.int64 else ("F16", t)
    return out


def rand_input(*shape):
    return f16(torch.randn(*shape, generator=gen, dtype=torch.float64))


# ---- ResNet: torchvision's blocks, widths scaled ------------------------------------------------
class ResNetW(nn.Module):
    """torchvision.models.ResNet's layout and names with every width multiplied by `m`."""

    def __init__(self, block, layers, m, norm_layer=nn.BatchNorm2d):
        super().__init__()
        w = lambda c: int(round(c * m))
        self.norm_layer = norm_layer
        self.inplanes = w(64)
        self.conv1 = nn.Conv2d(3, self.inplanes, 7, 2, 3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, w(64), layers[0], 1)
        self.layer2 = self._make_layer(block, w(128), layers[1], 2)
        self.layer3 = self._make_layer(block, w(256), layers[2], 2)
        self.layer4 = self._make_layer(block, w(512), layers[3], 2)

    def _make_layer(self, block, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                self.norm_layer(planes * block.expansion),
            )
        norm = self.norm_layer
        layers = [block(self.inplanes, planes, stride, downsample, norm_layer=norm)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, norm_layer=norm) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outs = []
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
            outs.append(x)
        return outs


def shapes(module):
    return [[k, list(v.shape)] for k, v in module.state_dict().items()]


def check_names():
    """Our width-scaled ResNet at width 1 has exactly torchvision's state_dict (minus fc)."""
    tv18, tv50 = torchvision.models.resnet18(), torchvision.models.resnet50()
    for tv, ours in ((tv18, ResNetW(BasicBlock, [2, 2, 2, 2], 1)), (tv50, ResNetW(Bottleneck, [3, 4, 6, 3], 1))):
        want = [e for e in shapes(tv) if not e[0].startswith("fc.")]
        assert shapes(ours) == want, "width-scaled ResNet does not mirror torchvision"
    with open(os.path.join(OUT, "names.json"), "w") as f:
        json.dump({"resnet18": shapes(tv18), "resnet50": shapes(tv50)}, f, separators=(",", ":"))


def gn_resnet_norm(channels):
    """mmdet's GN(32) backbone norm at a narrow width: gcd(32, C) groups (runtime/models/resnet.ts)."""
    return nn.GroupNorm(math.gcd(32, channels), channels)


def mmdet_gn_names(tensors):
    """torchvision calls every norm bnK; mmdet's GN ResNet calls them gnK (downsample.1 unchanged)."""
    rename = lambda k: ".".join("gn" + p[2:] if p.startswith("bn") and p[2:].isdigit() else p for p in k.split("."))
    return {rename(k): v for k, v in tensors.items()}


def check_resnet34_names():
    """ResNet-34 (BasicBlock, [3, 4, 6, 3]) at width 1 has torchvision's resnet34 state_dict."""
    want = [e for e in shapes(torchvision.models.resnet34()) if not e[0].startswith("fc.")]
    assert shapes(ResNetW(BasicBlock, [3, 4, 6, 3], 1)) == want, "ResNet-34 does not mirror torchvision"


def resnet_case(fname, block, layers, depth, width, batch, h, w, norm=None):
    gn = norm == "gn"
    net = ResNetW(block, layers, width, gn_resnet_norm if gn else nn.BatchNorm2d).double().eval()
    randomize(net)
    x = rand_input(batch, 3, h, w)
    outs = net(x)
    tensors = weights(net, "model.")
    if gn:
        tensors = mmdet_gn_names(tensors)
    tensors["in.images"] = ("F16", x)
    for i, o in enumerate(outs):
        tensors[f"out.c{i + 2}"] = ("F32", o)
    config = {"depth": depth, "widthMultiplier": width}
    if gn:
        config["norm"] = "gn"
    write_safetensors(os.path.join(OUT, fname), tensors, {"config": json.dumps(config)})


# ---- mmdetection 2.x FPN and dense heads, transcribed ------------------------------------------
class ConvModule(nn.Module):
    """mmcv ConvModule naming: `conv`, then `gn` / `bn`, then ReLU; bias only without a norm."""

    def __init__(self, cin, cout, k, stride=1, gn_groups=None, relu=True, bn=False):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, bias=gn_groups is None and not bn)
        self.norm_name = None  # a name, not a second reference (that would duplicate state_dict keys)
        if gn_groups is not None:
            self.gn = nn.GroupNorm(gn_groups, cout)
            self.norm_name = "gn"
        if bn:
            self.bn = nn.BatchNorm2d(cout)
            self.norm_name = "bn"
        self.with_relu = relu

    def forward(self, x):
        x = self.conv(x)
        if self.norm_name is not None:
            x = getattr(self, self.norm_name)(x)
        return F.relu(x) if self.with_relu else x


class FPN(nn.Module):
    """mmdet 2.25 FPN.__init__ / forward (no norm, upsample_cfg nearest with size=)."""

    def __init__(self, in_channels, out_channels, num_outs, start_level=0, end_level=-1,
                 add_extra_convs=False, relu_before_extra_convs=False, bn=False):
        super().__init__()
        self.num_ins = len(in_channels)
        self.num_outs = num_outs
        self.relu_before_extra_convs = relu_before_extra_convs
        if end_level == -1 or end_level == self.num_ins - 1:
            self.backbone_end_level = self.num_ins
        else:
            self.backbone_end_level = end_level + 1
        self.start_level = start_level
        self.add_extra_convs = add_extra_convs
        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        for i in range(start_level, self.backbone_end_level):
            self.lateral_convs.append(ConvModule(in_channels[i], out_channels, 1, relu=False, bn=bn))
            self.fpn_convs.append(ConvModule(out_channels, out_channels, 3, relu=False, bn=bn))
        extra_levels = num_outs - self.backbone_end_level + start_level
        if add_extra_convs and extra_levels >= 1:
            for i in range(extra_levels):
                if i == 0 and add_extra_convs == "on_input":
                    cin = in_channels[self.backbone_end_level - 1]
                else:
                    cin = out_channels
                self.fpn_convs.append(ConvModule(cin, out_channels, 3, stride=2, relu=False, bn=bn))

    def forward(self, inputs):
        laterals = [conv(inputs[i + self.start_level]) for i, conv in enumerate(self.lateral_convs)]
        used = len(laterals)
        for i in range(used - 1, 0, -1):
            prev_shape = laterals[i - 1].shape[2:]
            laterals[i - 1] = laterals[i - 1] + F.interpolate(laterals[i], size=prev_shape, mode="nearest")
        outs = [self.fpn_convs[i](laterals[i]) for i in range(used)]
        if self.num_outs > len(outs):
            if not self.add_extra_convs:
                for i in range(self.num_outs - used):
                    outs.append(F.max_pool2d(outs[-1], 1, stride=2))
            else:
                if self.add_extra_convs == "on_input":
                    extra_source = inputs[self.backbone_end_level - 1]
                elif self.add_extra_convs == "on_lateral":
                    extra_source = laterals[-1]
                else:
                    extra_source = outs[-1]
                outs.append(self.fpn_convs[used](extra_source))
                for i in range(used + 1, self.num_outs):
                    if self.relu_before_extra_convs:
                        outs.append(self.fpn_convs[i](F.relu(outs[-1])))
                    else:
                        outs.append(self.fpn_convs[i](outs[-1]))
        return outs


def projector(cin, hidden, cout, first_kernel):
    """AlignDet's classifier replacement: conv -> ReLU -> conv1x1, as an nn.Sequential."""
    return nn.Sequential(
        nn.Conv2d(cin, hidden, first_kernel, padding=(first_kernel - 1) // 2),
        nn.ReLU(),
        nn.Conv2d(hidden, cout, 1),
    )


class RetinaHead(nn.Module):
    """mmdet 2.x RetinaHead (norm_cfg None): towers of ConvModule + ReLU, retina_cls, retina_reg."""

    def __init__(self, cin, feat, stacked, anchors, num_classes=None, embed=None):
        super().__init__()
        self.cls_convs = nn.ModuleList([ConvModule(cin if i == 0 else feat, feat, 3) for i in range(stacked)])
        self.reg_convs = nn.ModuleList([ConvModule(cin if i == 0 else feat, feat, 3) for i in range(stacked)])
        if embed is None:
            self.retina_cls = nn.Conv2d(feat, anchors * num_classes, 3, padding=1)
        else:
            self.retina_cls = projector(feat, feat, anchors * embed, 1)
        self.retina_reg = nn.Conv2d(feat, anchors * 4, 3, padding=1)

    def forward(self, feats):
        outs = []
        for x in feats:
            c, r = x, x
            for conv in self.cls_convs:
                c = conv(c)
            for conv in self.reg_convs:
                r = conv(r)
            outs.append((self.retina_cls(c), self.retina_reg(r)))
        return outs


class Scale(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(1.0, dtype=torch.float))

    def forward(self, x):
        return x * self.scale


class FCOSHead(nn.Module):
    """mmdet 2.x FCOSHead.forward_single: GN towers (no conv bias), Scale per level, exp or
    norm_on_bbox; centerness from either tower."""

    def __init__(self, cin, feat, stacked, gn_groups, strides, num_classes=None, embed=None):
        super().__init__()
        self.strides = strides
        self.cls_convs = nn.ModuleList([ConvModule(cin if i == 0 else feat, feat, 3, gn_groups=gn_groups) for i in range(stacked)])
        self.reg_convs = nn.ModuleList([ConvModule(cin if i == 0 else feat, feat, 3, gn_groups=gn_groups) for i in range(stacked)])
        if embed is None:
            self.conv_cls = nn.Conv2d(feat, num_classes, 3, padding=1)
        else:
            self.conv_cls = projector(feat, feat, embed, 3)
        self.conv_reg = nn.Conv2d(feat, 4, 3, padding=1)
        self.conv_centerness = nn.Conv2d(feat, 1, 3, padding=1)
        self.scales = nn.ModuleList([Scale() for _ in strides])

    def forward(self, feats):
        outs = []
        for level, x in enumerate(feats):
            c, r = x, x
            for conv in self.cls_convs:
                c = conv(c)
            for conv in self.reg_convs:
                r = conv(r)
            scaled = self.scales[level](self.conv_reg(r))
            outs.append({
                "cls": self.conv_cls(c),
                "reg": scaled.exp(),
                # norm_on_bbox at inference (not training): relu, then x stride
                "regnorm": F.relu(scaled) * self.strides[level],
                "ctr_reg": self.conv_centerness(r),
                "ctr_cls": self.conv_centerness(c),
            })
        return outs


# Backbone feature shapes of a 56x72 image through a ResNet (C2..C5), widths of ResNet-18 at 1/8;
# the top-down path resizes 2x3 -> 4x5 -> 7x9 (not exact multiples: nearest picks by float32 scale).
C_SHAPES = [(14, 18), (7, 9), (4, 5), (2, 3)]
C_CHANNELS = [8, 16, 32, 64]


def backbone_inputs(batch):
    return [rand_input(batch, c, h, w) for c, (h, w) in zip(C_CHANNELS, C_SHAPES)]


def pyramid(fpn_cfg, tensors):
    feats = backbone_inputs(1)
    for i, f in enumerate(feats):
        tensors[f"in.c{i + 2}"] = ("F16", f)
    neck = FPN(**fpn_cfg).double()
    randomize(neck)
    ps = neck(feats)
    tensors.update(weights(neck, "neck."))
    for i, p in enumerate(ps):
        tensors[f"out.p{i + 3}"] = ("F32", p)
    return feats, ps


def retinanet_case():
    fpn_cfg = dict(in_channels=C_CHANNELS, out_channels=16, num_outs=5, start_level=1, add_extra_convs="on_input")
    head_cfg = dict(cin=16, feat=16, stacked=4, anchors=9)
    tensors = {}
    _, ps = pyramid(fpn_cfg, tensors)
    # The projector variant also checks a shorter tower (2 convs).
    for prefix, extra in (("sup.", dict(num_classes=3)), ("pre.", dict(embed=4, stacked=2))):
        head = RetinaHead(**{**head_cfg, **extra}).double()
        randomize(head)
        outs = head(ps)
        tensors.update(weights(head, prefix + "bbox_head."))
        for i, (c, r) in enumerate(outs):
            tensors[f"out.{prefix}cls{i}"] = ("F32", c)
            tensors[f"out.{prefix}reg{i}"] = ("F32", r)
    config = {"fpn": fpn_cfg, "head": head_cfg, "numClasses": 3, "embed": 4}
    write_safetensors(os.path.join(OUT, "retinanet.safetensors"), tensors, {"config": json.dumps(config)})


def fcos_case():
    fpn_cfg = dict(in_channels=C_CHANNELS, out_channels=16, num_outs=5, start_level=1,
                   add_extra_convs="on_output", relu_before_extra_convs=True)
    strides = [8, 16, 32, 64, 128]
    head_cfg = dict(cin=16, feat=16, stacked=4, gn_groups=4, strides=strides)
    tensors = {}
    feats, ps = pyramid(fpn_cfg, tensors)
    for prefix, extra in (("sup.", dict(num_classes=3)), ("pre.", dict(embed=4))):
        head = FCOSHead(**head_cfg, **extra).double()
        randomize(head)
        outs = head(ps)
        tensors.update(weights(head, prefix + "bbox_head."))
        for i, o in enumerate(outs):
            for k, v in o.items():
                tensors[f"out.{prefix}{k}{i}"] = ("F32", v)
    # FPN P2-P6 of the R-CNNs: every backbone level, one max-pooled extra level.
    p2p6_cfg = dict(in_channels=C_CHANNELS, out_channels=8, num_outs=5)
    neck = FPN(**p2p6_cfg).double()
    randomize(neck)
    ps = neck(feats)
    tensors.update(weights(neck, "p2p6.neck."))
    for i, p in enumerate(ps):
        tensors[f"out.p2p6.p{i + 2}"] = ("F32", p)
    # The R-CNN / DETR projector: Linear -> ReLU -> Linear.
    lin = nn.Sequential(nn.Linear(12, 10), nn.ReLU(), nn.Linear(10, 6)).double()
    randomize(lin)
    x = rand_input(5, 12)
    tensors["in.linproj"] = ("F16", x)
    tensors["out.linproj"] = ("F32", lin(x))
    tensors.update(weights(lin, "linproj."))
    # Nearest resizing by sizes that are not multiples, where the float32 scale decides the pixel.
    x = rand_input(1, 2, 13, 14)
    tensors["in.resize"] = ("F16", x)
    tensors["out.resize"] = ("F32", F.interpolate(x, size=(29, 20), mode="nearest"))
    tensors["out.resize_down"] = ("F32", F.interpolate(x, size=(6, 9), mode="nearest"))
    config = {"fpn": fpn_cfg, "head": head_cfg, "numClasses": 3, "embed": 4, "p2p6": p2p6_cfg}
    write_safetensors(os.path.join(OUT, "fcos.safetensors"), tensors, {"config": json.dumps(config)})


def fpn_bn_case():
    """The fine-tuning FPN with (Sync)BN in training mode: batch statistics, running-stat updates."""
    cfg = dict(in_channels=C_CHANNELS, out_channels=8, num_outs=5, start_level=1, add_extra_convs="on_input", bn=True)
    neck = FPN(**cfg).double()
    randomize(neck)
    tensors = weights(neck, "neck.")
    feats = backbone_inputs(2)
    for i, f in enumerate(feats):
        tensors[f"in.c{i + 2}"] = ("F16", f)
    neck.train()
    ps = neck(feats)
    for i, p in enumerate(ps):
        tensors[f"out.p{i + 3}"] = ("F32", p)
    for name, t in neck.state_dict().items():
        if "running" in name or "num_batches" in name:
            tensors["after.neck." + name] = ("I64", t) if t.dtype == torch.int64 else ("F32", t)
    write_safetensors(os.path.join(OUT, "fpn-bn.safetensors"), tensors, {"config": json.dumps(cfg)})


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    torch.set_grad_enabled(False)
    check_names()
    resnet_case("resnet18.safetensors", BasicBlock, [2, 2, 2, 2], 18, 0.125, 2, 48, 40)
    resnet_case("resnet50.safetensors", Bottleneck, [3, 4, 6, 3], 50, 0.03125, 1, 48, 48)
    retinanet_case()
    fcos_case()
    fpn_bn_case()
    # Added after the others, so the shared generator leaves the fixtures above unchanged.
    check_resnet34_names()
    resnet_case("resnet34.safetensors", BasicBlock, [3, 4, 6, 3], 34, 0.0625, 1, 40, 32)
    resnet_case("resnet18-gn.safetensors", BasicBlock, [2, 2, 2, 2], 18, 0.09375, 2, 40, 32, norm="gn")
