#!/usr/bin/env python3
"""Dev-only golden data for cuttle's expert-layer tests (needs PyTorch and safetensors; never part of the build).

Usage: python3 tools/golden_experts.py tests/fixtures/experts
Writes, for each expert type T of layers/experts (all but the two attention experts):
  T_weights.safetensors  state_dict (f32) of the PyTorch twin, with random norm affine parameters and
                         running statistics so eval and train differ; loaded strictly by name in C++
  T_golden.safetensors   input x [2, 10, 7, 9] and projection r, y_eval (eval mode), then in train mode
                         y_train, gradients of sum(y * r) w.r.t. x ("grad.x") and every parameter
                         ("grad.<name>"), buffers after that step ("after.<name>"); all computed in
                         float64 from the f32 weights
The twins below use exactly the state names of the C++ experts (documented in
layers/experts/common.h): branches.{j}.{k} (nn.Sequential, every table layer counted), fusion.{k},
local.{k}, gate.{k} / amp.{k} (GAP, conv C->C/4, act, conv C/4->C, Sigmoid), and Edge's buffers
sobel_x, sobel_y, laplacian. C = 10 exercises the split rules off the C/4 grid (q = 2, c4 = 4;
thirds 3, 3, 4). Keep C, the shape of x and EXPERTS in step with tests/layers/experts/test_experts_golden.cpp.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
sys.path.insert(0, os.path.dirname(__file__))
from safetensors_lite import save_file  # noqa: E402

C = 10
SHAPE = (2, C, 7, 9)


# ---- building blocks ---------------------------------------------------------------------------
def conv(i, o, k, d=1, g=1):
    """Conv2d with bias and "same" padding d * (k - 1) / 2."""
    return nn.Conv2d(i, o, k, padding=d * (k - 1) // 2, dilation=d, groups=g)


class LayerNorm2d(nn.Module):
    """Normalises over C at each pixel (biased variance, eps 1e-6), per-channel scale and shift."""

    def __init__(self, c, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.eps = eps

    def forward(self, x):
        u = x.mean(1, keepdim=True)
        v = (x - u).pow(2).mean(1, keepdim=True)
        return (x - u) / torch.sqrt(v + self.eps) * self.weight[:, None, None] + self.bias[:, None, None]


def norm_act(c, kind):
    """kind: bn_relu, ln_gelu or bn_gelu; BN is eps 1e-5, momentum 0.1; GELU the erf form."""
    norm = LayerNorm2d(c) if kind == "ln_gelu" else nn.BatchNorm2d(c)
    act = nn.ReLU() if kind == "bn_relu" else nn.GELU()
    return [norm, act]


def quarter(c):
    q = c // 4
    return [q, q, q, c - 3 * q]


def third(c):
    t = c // 3
    return [t, t, c - 2 * t]


def fusion(c, kind):
    return nn.Sequential(conv(c, c, 1), *norm_act(c, kind))


def gate(c, act):
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), conv(c, c // 4, 1), act(), conv(c // 4, c, 1), nn.Sigmoid())


class Branchy(nn.Module):
    """branches.j on inputs[j] (x for all by default), concat over channels, fusion, + x."""

    def __init__(self, branches, fus):
        super().__init__()
        self.branches = nn.ModuleList(branches)
        self.fusion = fus

    def fuse(self, inputs):
        return self.fusion(torch.cat([b(t) for b, t in zip(self.branches, inputs)], 1))

    def forward(self, x):
        return self.fuse([x] * len(self.branches)) + x


def pointwise_branches(c):
    return [nn.Sequential(conv(c, q, 1), *norm_act(q, "ln_gelu")) for q in quarter(c)]


SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
SOBEL_Y = SOBEL_X.t().contiguous()  # [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]
LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


# ---- COD experts (BN + ReLU) -------------------------------------------------------------------
def cod_texture(c):
    ci = quarter(c)
    return Branchy([nn.Sequential(conv(c, ci[j], 1), conv(ci[j], ci[j], 3, d), *norm_act(ci[j], "bn_relu"))
                    for j, d in enumerate([1, 2, 4, 8])], fusion(c, "bn_relu"))


def cod_frequency(c):
    ci = quarter(c)
    return Branchy([nn.Sequential(conv(c, ci[j], k), *norm_act(ci[j], "bn_relu")) for j, k in enumerate([3, 5, 7, 1])],
                   fusion(c, "bn_relu"))


def cod_edge(c):
    ci = quarter(c)
    br = [nn.Sequential(conv(c, ci[j], 3 if j < 3 else 1), *norm_act(ci[j], "bn_relu")) for j in range(4)]
    with torch.no_grad():  # FIX init: W[o, i] = K / sum|K| for i = o (mod ci), + 0.1 x default init; bias 0
        for j, K in enumerate([SOBEL_X, SOBEL_Y, LAPLACIAN]):
            w = br[j][0].weight
            w.mul_(0.1)
            for o in range(ci[j]):
                w[o, o::ci[j]] += K / K.abs().sum()
            br[j][0].bias.zero_()
    return Branchy(br, fusion(c, "bn_relu"))


class ContrastEnhancement(nn.Module):
    def __init__(self, c):
        super().__init__()
        t = third(c)
        self.branches = nn.ModuleList([nn.Sequential(conv(c, t[j], k), *norm_act(t[j], "bn_relu"))
                                       for j, k in enumerate([3, 5, 7])])
        self.fusion = fusion(c, "bn_relu")
        self.amp = gate(c, nn.ReLU)

    def forward(self, x):
        con = self.fusion(torch.cat([b(x) for b in self.branches], 1))
        return x + con * self.amp(con)


class HybridTwin(nn.Module):
    """CODHybrid (bn=True): local = dw5x5, BN, conv1x1, ReLU; fusion = conv1x1, BN.
    Hybrid (bn=False): local = dw5x5, LN2d, conv1x1, GELU; fusion = conv1x1."""

    def __init__(self, c, bn):
        super().__init__()
        act = nn.ReLU if bn else nn.GELU
        self.local = nn.Sequential(conv(c, c, 5, g=c), nn.BatchNorm2d(c) if bn else LayerNorm2d(c), conv(c, c, 1), act())
        self.gate = gate(c, act)
        self.fusion = nn.Sequential(conv(c, c, 1), nn.BatchNorm2d(c)) if bn else nn.Sequential(conv(c, c, 1))

    def forward(self, x):
        return self.fusion(self.local(x) * self.gate(x)) + x


# ---- generic experts ---------------------------------------------------------------------------
def texture(c):
    q = quarter(c)
    return Branchy([nn.Sequential(conv(c, q[j], 1), conv(q[j], q[j], 3, j + 1), *norm_act(q[j], "ln_gelu"))
                    for j in range(4)], fusion(c, "ln_gelu"))


class Frequency(Branchy):
    def __init__(self, c):
        super().__init__(pointwise_branches(c), fusion(c, "ln_gelu"))

    def forward(self, x):
        low = F.avg_pool2d(x, 3, 1, 1, count_include_pad=True)  # FIX: computed once
        high = x - low
        mid = low - F.avg_pool2d(x, 5, 1, 2, count_include_pad=True)
        return self.fuse([low, mid, high, x]) + x


class Edge(Branchy):
    def __init__(self, c):
        super().__init__(pointwise_branches(c), fusion(c, "ln_gelu"))
        for name, K in [("sobel_x", SOBEL_X), ("sobel_y", SOBEL_Y), ("laplacian", LAPLACIAN)]:
            self.register_buffer(name, K.expand(c, 1, 3, 3).clone())

    def forward(self, x):
        def dw(name):
            return F.conv2d(x, getattr(self, name), padding=1, groups=x.shape[1])

        sx, sy = dw("sobel_x"), dw("sobel_y")
        sobel = torch.sqrt(sx ** 2 + sy ** 2 + 1e-8)
        lap = dw("laplacian").abs()
        grad = torch.sqrt(sobel ** 2 + lap ** 2 + 1e-8)
        return self.fuse([sobel, lap, grad, x]) + x


class SemanticContext(Branchy):
    def __init__(self, c):
        q = quarter(c)
        super().__init__([nn.Sequential(nn.AdaptiveAvgPool2d(s), conv(c, q[j], 1), *norm_act(q[j], "ln_gelu"))
                          for j, s in enumerate([8, 4, 2, 1])], fusion(c, "ln_gelu"))

    def forward(self, x):
        h, w = x.shape[-2:]
        outs = [F.interpolate(b(x), size=(h, w), mode="bilinear", align_corners=False) for b in self.branches]
        return self.fusion(torch.cat(outs, 1)) + x


class Contrast(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.local = nn.Sequential(conv(c, c, 3, g=c), LayerNorm2d(c), nn.GELU(), conv(c, c, 1), LayerNorm2d(c))
        self.fusion = fusion(c, "ln_gelu")

    def forward(self, x):
        return self.fusion(self.local(x)) + x


def contrast_bn(c):
    q = quarter(c)
    specs = [(3, 1), (3, 2), (5, 1), (1, 1)]  # (kernel, dilation)
    return Branchy([nn.Sequential(conv(c, q[j], k, d), *norm_act(q[j], "bn_gelu")) for j, (k, d) in enumerate(specs)],
                   fusion(c, "bn_gelu"))


EXPERTS = {
    "CODTexture": cod_texture,
    "CODFrequency": cod_frequency,
    "CODEdge": cod_edge,
    "ContrastEnhancement": ContrastEnhancement,
    "CODHybrid": lambda c: HybridTwin(c, bn=True),
    "Texture": texture,
    "Hybrid": lambda c: HybridTwin(c, bn=False),
    "Frequency": Frequency,
    "Edge": Edge,
    "SemanticContext": SemanticContext,
    "Contrast": Contrast,
    "ContrastBN": contrast_bn,
}


def randomize_norms(m, g):
    """As the C++ tests' randomize_norms: 1-D weights U(0.5, 1.5), 1-D biases U(-0.5, 0.5), running
    means U(-0.3, 0.3), running variances U(0.5, 2); num_batches_tracked = 3."""
    with torch.no_grad():
        for name, t in m.state_dict().items():
            if t.dim() == 1 and name.endswith(".weight"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif t.dim() == 1 and name.endswith(".bias"):
                t.copy_(torch.rand(t.shape, generator=g) - 0.5)
            elif name.endswith("running_mean"):
                t.copy_(torch.rand(t.shape, generator=g) * 0.6 - 0.3)
            elif name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) * 1.5 + 0.5)
            elif name.endswith("num_batches_tracked"):
                t.fill_(3)


def contiguous(d):
    return {k: v.detach().contiguous() for k, v in d.items()}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for i, (name, make) in enumerate(EXPERTS.items()):
        torch.manual_seed(100 + i)
        m = make(C)
        randomize_norms(m, torch.Generator().manual_seed(200 + i))
        save_file(contiguous(m.state_dict()), f"{out}/{name}_weights.safetensors", metadata={"format": "pt"})

        m = m.double()
        x = torch.randn(*SHAPE, dtype=torch.float64)
        r = torch.randn(*SHAPE, dtype=torch.float64)
        g = {"x": x, "r": r}
        m.eval()
        with torch.no_grad():
            g["y_eval"] = m(x)
        m.train()
        xg = x.clone().requires_grad_(True)
        y = m(xg)
        (y * r).sum().backward()
        g["y_train"] = y
        g["grad.x"] = xg.grad
        for n, p in m.named_parameters():
            g["grad." + n] = p.grad
        for n, b in m.named_buffers():
            g["after." + n] = b
        save_file(contiguous(g), f"{out}/{name}_golden.safetensors")
        print(name, sum(p.numel() for p in m.parameters()), "parameters")
    print("ok")


if __name__ == "__main__":
    main()
