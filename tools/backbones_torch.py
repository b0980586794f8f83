"""Dev-only PyTorch twins of cuttle's CamoXpert backbones (needs PyTorch; never part of the build), with
cuttle's state names:
  SmallCNNTwin  models/backbones/small_cnn.h: stages.{i}.{k}; down = ConvBNReLU (conv, bn; conv3x3
                stride 2 pad 1, no bias), Res = conv1, bn1, conv2, bn2
  PvtV2Twin     models/backbones/pvt_v2.h (timm's pvt_v2_b* names, head excluded): patch_embed.{proj,norm},
                stages.{i}.downsample.{proj,norm}, stages.{i}.blocks.{j}.{norm1,attn,norm2,mlp}, stages.{i}.norm;
                the attention is tools/golden_attention.py's SRAttention (timm's Attention layout)
Both return the four maps at strides 4, 8, 16, 32 (NCHW) and expose dims.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_attention import SRAttention  # noqa: E402


class ConvBNReLU(nn.Module):
    """layers::ConvBNReLU: children conv and bn, then ReLU."""

    def __init__(self, i, o, k, stride=1, padding=None, bias=True):
        super().__init__()
        self.conv = nn.Conv2d(i, o, k, stride=stride, padding=(k - 1) // 2 if padding is None else padding, bias=bias)
        self.bn = nn.BatchNorm2d(o)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def down(i, o):
    return ConvBNReLU(i, o, 3, stride=2, padding=1, bias=False)


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        return F.relu(x + self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))


class SmallCNNTwin(nn.Module):
    def __init__(self, dims=(16, 32, 64, 128)):
        super().__init__()
        self.dims = list(dims)
        c = self.dims
        stages = [nn.Sequential(down(3, c[0] // 2), down(c[0] // 2, c[0]), ResBlock(c[0]))]
        stages += [nn.Sequential(down(c[i - 1], c[i]), ResBlock(c[i])) for i in range(1, 4)]
        self.stages = nn.ModuleList(stages)

    def forward(self, x):
        maps = []
        for s in self.stages:
            x = s(x)
            maps.append(x)
        return maps


# ---- PVTv2 ---------------------------------------------------------------------------------------
PVT_VARIANTS = {  # embed dims, depths; heads (1, 2, 5, 8), sr (8, 4, 2, 1), mlp ratios (8, 8, 4, 4) in all
    "pvt_v2_b0": ((32, 64, 160, 256), (2, 2, 2, 2)),
    "pvt_v2_b1": ((64, 128, 320, 512), (2, 2, 2, 2)),
    "pvt_v2_b2": ((64, 128, 320, 512), (3, 4, 6, 3)),
}


def tokens(img):
    return img.flatten(2).transpose(1, 2)


def image(tok, h, w):
    return tok.transpose(1, 2).reshape(tok.shape[0], tok.shape[2], h, w)


class OverlapPatchEmbed(nn.Module):
    def __init__(self, i, o, k, s):
        super().__init__()
        self.proj = nn.Conv2d(i, o, k, stride=s, padding=k // 2)
        self.norm = nn.LayerNorm(o)  # timm: nn.LayerNorm's default eps 1e-5 here

    def forward(self, x):
        y = self.proj(x)
        return self.norm(tokens(y)), y.shape[2], y.shape[3]


class MixFFN(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x, h, w):
        return self.fc2(F.gelu(tokens(self.dwconv(image(self.fc1(x), h, w)))))


class PvtBlock(nn.Module):
    def __init__(self, dim, heads, sr, mlp_ratio, eps):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = SRAttention(dim, heads, sr)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = MixFFN(dim, int(dim * mlp_ratio))

    def forward(self, x, h, w):
        x = x + self.attn(self.norm1(x), (h, w))
        return x + self.mlp(self.norm2(x), h, w)


class PvtStage(nn.Module):
    def __init__(self, dim_in, dim, depth, downsample, heads, sr, mlp_ratio, eps):
        super().__init__()
        if downsample:
            self.downsample = OverlapPatchEmbed(dim_in, dim, 3, 2)
        self.blocks = nn.ModuleList([PvtBlock(dim, heads, sr, mlp_ratio, eps) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=eps)

    def forward(self, x, h, w):
        if hasattr(self, "downsample"):
            x, h, w = self.downsample(x)
        for b in self.blocks:
            x = b(x, h, w)
        return image(self.norm(x), h, w)


class PvtV2Twin(nn.Module):
    def __init__(self, embed_dims=(32, 64, 160, 256), depths=(2, 2, 2, 2), num_heads=(1, 2, 5, 8),
                 sr_ratios=(8, 4, 2, 1), mlp_ratios=(8, 8, 4, 4), eps=1e-6):
        super().__init__()
        self.dims = list(embed_dims)
        self.patch_embed = OverlapPatchEmbed(3, embed_dims[0], 7, 4)
        self.stages = nn.ModuleList([PvtStage(embed_dims[max(i - 1, 0)], embed_dims[i], depths[i], i > 0, num_heads[i],
                                              sr_ratios[i], mlp_ratios[i], eps) for i in range(4)])

    def forward(self, x):
        t, h, w = self.patch_embed(x)
        maps = [self.stages[0](t, h, w)]
        for s in self.stages[1:]:
            maps.append(s(maps[-1], 0, 0))
        return maps


def make_backbone(kind, dims=None):
    """kind as BackboneConfig::type: small_cnn | pvt_v2_b0 | pvt_v2_b1 | pvt_v2_b2."""
    if kind == "small_cnn":
        return SmallCNNTwin(dims or (16, 32, 64, 128))
    if kind in PVT_VARIANTS:
        d, depths = PVT_VARIANTS[kind]
        return PvtV2Twin(d, depths)
    raise ValueError(f"unknown backbone type '{kind}'")


def normalize_pvt_state_dict(state):
    """As cuttle's normalize_pvt_state_dict: stages_N. -> stages.N., mlp.dwconv.dwconv -> mlp.dwconv, no head.*"""
    import re
    out = {}
    for k, v in state.items():
        if k.startswith("head."):
            continue
        n = re.sub(r"^stages_(\d+)\.", r"stages.\1.", k).replace(".mlp.dwconv.dwconv.", ".mlp.dwconv.")
        out[n] = v
    return out
