#!/usr/bin/env python3
"""Dev-only golden data for cuttle's attention tests (needs PyTorch; never part of the build).

Usage: python3 tools/golden_attention.py tests/fixtures/attention
Builds PyTorch twins of cuttle's attention layers, written here from docs/CAMOXPERT.md with the same
state names, and writes for each twin T:
  T_weights.safetensors  its state_dict in f32 (what a PyTorch checkpoint holds)
  T_golden.safetensors   input x, projection r, y_eval (eval mode), y_train (train mode), gradients of
                         sum(y * r) w.r.t. x ("grad.x") and every parameter ("grad.<name>") in train mode
                         (eval mode for "linear_attention": its dropout is random in training), buffers
                         after that step ("after.<name>"); all computed in float64 from the f32 weights
Twins: sra_sr2 (SpatialReductionAttention dim 16, 2 heads, sr 2, tokens of a 4x6 map), sra_sr1 (dim 16,
4 heads, sr 1, 3x5), cod_attention (CODAttention C=64 -> 2 heads, sr 2, 4x6), linear_attention (the
generic Attention expert, C=16). "functions_golden.safetensors" holds sdpa and linear attention on raw
q, k, v with their gradients. SpatialReductionAttention is timm's pvt_v2 Attention when timm imports,
else the equivalent below. safetensors.torch writes the files when installed, else a small writer here.
"""
import json
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, __import__('os').path.dirname(__file__))
from safetensors_lite import save_file  # noqa: E402


def save(tensors, path, metadata=None):
    save_file(tensors, path, metadata)


def softmax_attention(q, k, v, scale):
    return ((q @ k.transpose(-2, -1)) * scale).softmax(-1) @ v


def positive_map(t):  # elu + 1, normalised over the head dimension
    t = F.elu(t) + 1
    return t / t.sum(-1, keepdim=True)


def linear_attention(q, k, v):
    return positive_map(q) @ (positive_map(k).transpose(-2, -1) @ v)


class SRAttention(nn.Module):
    """PVTv2 spatial-reduction attention with timm's names; forward(x, (H, W)) like timm's."""

    def __init__(self, dim, num_heads, sr_ratio):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        self.sr = nn.Conv2d(dim, dim, sr_ratio, stride=sr_ratio) if sr_ratio > 1 else None
        self.norm = nn.LayerNorm(dim) if sr_ratio > 1 else None

    def forward(self, x, feat_size):
        B, N, C = x.shape
        h, d = self.num_heads, self.head_dim
        q = self.q(x).reshape(B, N, h, d).permute(0, 2, 1, 3)
        if self.sr is not None:
            x = self.sr(x.permute(0, 2, 1).reshape(B, C, *feat_size)).reshape(B, C, -1).permute(0, 2, 1)
            x = self.norm(x)
        k, v = self.kv(x).reshape(B, -1, 2, h, d).permute(2, 0, 3, 1, 4).unbind(0)
        o = softmax_attention(q, k, v, d ** -0.5)
        return self.proj(o.transpose(1, 2).reshape(B, N, C))


def make_sra(dim, heads, sr):
    try:
        from timm.models.pvt_v2 import Attention
        return Attention(dim, num_heads=heads, sr_ratio=sr, qkv_bias=True)
    except ImportError:
        return SRAttention(dim, heads, sr)


def cod_heads(C):
    return max(h for h in range(1, max(1, C // 32) + 1) if C % h == 0)


class CODAttention(nn.Module):
    def __init__(self, C, sr_ratio):
        super().__init__()
        self.r, self.heads = sr_ratio, cod_heads(C)
        self.norm = nn.BatchNorm2d(C)
        self.q = nn.Conv2d(C, C, 1)
        self.kv = nn.Conv2d(C, 2 * C, 1)
        self.proj = nn.Conv2d(C, C, 1)

    def forward(self, x):
        B, C, H, W = x.shape
        h, d = self.heads, C // self.heads
        n = self.norm(x)
        kv = self.kv(F.avg_pool2d(n, self.r, self.r) if self.r > 1 else n)
        split = lambda t: t.reshape(B, h, d, -1).transpose(-2, -1)  # head j = channels [j*d, (j+1)*d)
        o = softmax_attention(split(self.q(n)), split(kv[:, :C]), split(kv[:, C:]), d ** -0.5)
        return x + self.proj(o.transpose(-2, -1).reshape(B, C, H, W))


class LinearAttention(nn.Module):
    def __init__(self, C):
        super().__init__()
        self.qkv = nn.Conv2d(C, 3 * C, 1, bias=False)
        self.proj = nn.Conv2d(C, C, 1)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        B, C, H, W = x.shape
        split = lambda t: t.reshape(B, 8, C // 8, H * W).transpose(-2, -1)
        q, k, v = (split(t) for t in self.qkv(x).chunk(3, dim=1))
        o = linear_attention(q, k, v)
        return x + self.drop(self.proj(o.transpose(-2, -1).reshape(B, C, H, W)))


def randomize(m):
    with torch.no_grad():
        for n, p in m.named_parameters():
            if n.endswith("norm.weight"):
                p.uniform_(0.5, 1.5)
            else:
                p.normal_(0, 0.5)
        for n, b in m.named_buffers():
            if n.endswith("running_mean"):
                b.uniform_(-0.5, 0.5)
            elif n.endswith("running_var"):
                b.uniform_(0.5, 2.0)


def golden(out, name, m, x, call, grad_in_train=True):
    randomize(m)
    save({k: v.float() if v.is_floating_point() else v for k, v in m.state_dict().items()},
         f"{out}/{name}_weights.safetensors", {"format": "pt"})
    m = m.float().double()  # compute from exactly the stored f32 values
    g = {"x": x}
    m.eval()
    with torch.no_grad():
        g["y_eval"] = call(m, x)
    m.train(grad_in_train)
    xg = x.clone().requires_grad_(True)
    y = call(m, xg)
    r = torch.randn(y.shape, dtype=torch.float64)
    (y * r).sum().backward()
    g["r"], g["y_train" if grad_in_train else "y_grad"] = r, y
    g["grad.x"] = xg.grad
    for n, p in m.named_parameters():
        g["grad." + n] = p.grad
    for n, b in m.named_buffers():
        g["after." + n] = b
    save(g, f"{out}/{name}_golden.safetensors")


def main():
    out = sys.argv[1]
    torch.manual_seed(0)
    D = torch.float64
    golden(out, "sra_sr2", make_sra(16, 2, 2), torch.randn(2, 24, 16, dtype=D), lambda m, x: m(x, (4, 6)))
    golden(out, "sra_sr1", make_sra(16, 4, 1), torch.randn(2, 15, 16, dtype=D), lambda m, x: m(x, (3, 5)))
    golden(out, "cod_attention", CODAttention(64, 2), torch.randn(2, 64, 4, 6, dtype=D), lambda m, x: m(x))
    golden(out, "linear_attention", LinearAttention(16), torch.randn(2, 16, 3, 5, dtype=D), lambda m, x: m(x),
           grad_in_train=False)

    f = {"q": torch.randn(2, 3, 4, 5, dtype=D), "k": torch.randn(2, 3, 6, 5, dtype=D),
         "v": torch.randn(2, 3, 6, 2, dtype=D), "lq": torch.randn(2, 3, 6, 5, dtype=D)}
    leaves = {k: v.clone().requires_grad_(True) for k, v in f.items()}
    y = softmax_attention(leaves["q"], leaves["k"], leaves["v"], 0.3)
    ly = linear_attention(leaves["lq"], leaves["k"], leaves["v"])
    f["r"], f["lr"] = torch.randn(y.shape, dtype=D), torch.randn(ly.shape, dtype=D)
    ((y * f["r"]).sum() + (ly * f["lr"]).sum()).backward()
    f["sdpa"], f["linear"] = y, ly
    for k, v in leaves.items():
        f["grad." + k] = v.grad
    save(f, f"{out}/functions_golden.safetensors")


if __name__ == "__main__":
    main()
