#!/usr/bin/env python3
"""Dev-only PyTorch twin of cuttle's CamoXpert (models/camoxpert.h) and its loss (models/loss.cpp), built
from the same JSON configs (models/configs/*.json). Needs PyTorch; never part of cuttle's build or tests.

State names are cuttle's, name for name: backbone.* (tools/backbones_torch.py), moe.{s}.{router,experts,
bias,usage_ema} (tools/golden_moe.py's SparseMoETwin over the expert twins of tools/golden_experts.py and
tools/golden_attention.py), search.{branch,ident}, decoder.{i}, ra.{bg,fuse}, unc.{shared,mean,scale},
refine.{blocks,heads}.{i}, deep.{i}. So cuttle's weights load strictly, and the twin's load in cuttle.

Usage:
  camoxpert_torch.py --config models/configs/camoxpert-tiny.json --info [--image-size N]
      parameter counts and forward multiply-adds per image (as build/bin/model_info prints them)
  camoxpert_torch.py --config CFG --state-names        one "name shape" line per state entry
  camoxpert_torch.py --config CFG --weights CKPT [--image-size N]
      load a cuttle checkpoint (a directory holding model.safetensors, or a bare .safetensors file)
      strictly and run one eval forward on a seeded input; prints the output's statistics
As a library: config_path, load_config, CamoXpertTwin, camoxpert_loss, load_cuttle_weights, WarmupCosine, clip_grad_norm.
"""
import argparse
import copy
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from backbones_torch import ConvBNReLU, make_backbone  # noqa: E402
from golden_attention import CODAttention, LinearAttention  # noqa: E402
from golden_experts import EXPERTS  # noqa: E402
from golden_moe import SparseMoETwin  # noqa: E402
from safetensors_lite import load_file  # noqa: E402

# ---- config (models/camoxpert_config.h: the same fields, defaults and unknown-field errors) ---------
COD_EXPERTS = ["CODTexture", "CODFrequency", "CODEdge", "ContrastEnhancement", "CODAttention", "CODHybrid"]
DEFAULTS = {
    "name": "camoxpert", "head_width": 64, "image_size": 352,
    "backbone": {"type": "pvt_v2_b2", "dims": [], "weights": ""},
    "moe": {"experts": COD_EXPERTS, "top_k": 2, "mode": "batched", "balance": True, "bias_in_weights": False,
            "aux_loss": False, "aux_coef_min": 1e-5, "aux_coef_max": 1e-4, "aux_warmup_start_epoch": 30,
            "aux_warmup_end_epoch": 90, "sr_ratios": [8, 4, 2, 1]},
    "loss": {"final": 1.0, "refine": 0.5, "p0": 0.5, "fg": 0.5, "search": 0.5, "deep": 0.4, "uncertainty": 0.3,
             "moe_aux": 1.0},
    "train": {"lr": 1e-4, "min_lr": 1e-6, "weight_decay": 1e-4, "beta1": 0.9, "beta2": 0.999, "warmup_steps": 0,
              "warmup_epochs": 5, "steps": 0, "epochs": 100, "batch": 16, "router_lr_scale": 0.1, "clip": 1.0,
              "ema": False, "ema_decay": 0.999, "freeze_backbone_epochs": 0, "val_size": 200, "seed": 0,
              "synthetic_size": 2000, "synthetic_cue": [0.3, 1.0], "accumulate": 1, "precise_bn_batches": 0,
              "low_res_size": 0, "low_res_steps": 0, "tf32": True},
}


def merge_config(j, defaults=DEFAULTS, path=""):
    out = copy.deepcopy(defaults)
    for k, v in j.items():
        if k not in defaults:
            raise ValueError(f"unknown field '{path + k}'")
        out[k] = merge_config(v, defaults[k], path + k + ".") if isinstance(defaults[k], dict) else v
    return out


def config_path(name):
    """A config file, or the name of a shipped config (models/configs/NAME.json), as cuttle's apps take it."""
    if os.path.exists(name):
        return name
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "configs", name + ".json")
    if os.path.exists(here):
        return here
    raise FileNotFoundError(f"{name}: neither a file nor a shipped config (models/configs/{name}.json)")


def load_config(path_or_dict):
    j = path_or_dict if isinstance(path_or_dict, dict) else json.load(open(path_or_dict))
    return merge_config(j)


# ---- model -------------------------------------------------------------------------------------
def make_expert(kind, c, sr_ratio):
    """layers::make_expert: the twins of golden_experts.py and golden_attention.py."""
    if kind == "CODAttention":
        return CODAttention(c, sr_ratio)
    if kind == "Attention":
        return LinearAttention(c)
    return EXPERTS[kind](c)


def conv1x1(i, o):
    return nn.Conv2d(i, o, 1)


def cbr(i, o, k):
    return ConvBNReLU(i, o, k)


class Group(nn.Module):
    """A named grouping of sub-modules (search, ra, unc, refine), as cuttle's Group."""


class CamoXpertTwin(nn.Module):
    """forward(x) returns a dict with the maps of cuttle's CamoXpertOutput: logits, pred_1, p0, fg, search,
    u, deep (list: H/16, H/8, H/4), moe_aux (list)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        bb, m, h = cfg["backbone"], cfg["moe"], cfg["head_width"]
        self.backbone = make_backbone(bb["type"], bb["dims"] or None)
        C = self.backbone.dims
        if bb["dims"] and list(bb["dims"]) != C:
            raise ValueError(f"backbone.dims {bb['dims']} differ from the backbone's {C}")
        self.moe = nn.ModuleList([
            SparseMoETwin(C[s], [make_expert(t, C[s], m["sr_ratios"][s]) for t in m["experts"]], m["top_k"],
                          mode=m["mode"], balance=m["balance"], bias_in_weights=m["bias_in_weights"],
                          aux_loss=m["aux_loss"], aux_coef_min=m["aux_coef_min"], aux_coef_max=m["aux_coef_max"],
                          aux_warmup_start_epoch=m["aux_warmup_start_epoch"],
                          aux_warmup_end_epoch=m["aux_warmup_end_epoch"]) for s in range(4)])
        C4, C4h = C[3], C[3] // 2
        self.search = Group()
        self.search.branch = nn.Sequential(cbr(C4, C4h, 3), cbr(C4h, C4h, 3), conv1x1(C4h, 1))
        self.search.ident = nn.Sequential(cbr(C4, C4, 3), cbr(C4, C4, 1))
        io = [(C[3], C[2]), (2 * C[2], C[1]), (2 * C[1], C[0]), (2 * C[0], h)]
        self.decoder = nn.ModuleList([nn.Sequential(cbr(i, o, 3), cbr(o, o, 3)) for i, o in io])
        self.ra = Group()
        self.ra.bg = nn.Sequential(cbr(h, h // 2, 3), cbr(h // 2, h // 4, 3), conv1x1(h // 4, 1))
        self.ra.fuse = nn.Sequential(cbr(h + 1, h, 3), cbr(h, h, 3))
        self.unc = Group()
        self.unc.shared = cbr(h, h, 3)
        self.unc.mean = nn.Sequential(cbr(h, h // 2, 3), conv1x1(h // 2, 1))
        self.unc.scale = nn.Sequential(cbr(h, h // 2, 3), conv1x1(h // 2, 1))
        self.refine = Group()
        self.refine.blocks = nn.ModuleList([nn.Sequential(cbr(h + 2, h, 3), cbr(h, h, 3)) for _ in range(2)])
        self.refine.heads = nn.ModuleList([conv1x1(h, 1) for _ in range(2)])
        self.deep = nn.ModuleList([conv1x1(C[s], 1) for s in (2, 1, 0)])

    def forward(self, x):
        B, _, H, W = x.shape
        if H % 32 or W % 32:
            raise ValueError(f"H and W must be multiples of 32, got {H}x{W}")
        up = lambda t, h, w: t if t.shape[2:] == (h, w) else F.interpolate(t, size=(h, w), mode="bilinear",
                                                                            align_corners=False)
        up2 = lambda t: up(t, 2 * t.shape[2], 2 * t.shape[3])
        f = self.backbone(x)
        out = {"moe_aux": []}
        for s in range(4):
            f[s] = self.moe[s](f[s])
            if self.moe[s].aux_loss is not None:
                out["moe_aux"].append(self.moe[s].aux_loss)
        search = torch.sigmoid(self.search.branch(f[3]))
        d = self.decoder[0](up2(self.search.ident(f[3]) * search))
        for i in range(1, 4):
            d = self.decoder[i](up2(torch.cat([d, f[3 - i]], 1)))
        bg = torch.sigmoid(self.ra.bg(d))
        fg = 1 - bg
        x0 = up(self.ra.fuse(torch.cat([d, bg], 1)) * fg, H, W)
        out["fg"], out["search"] = up(fg, H, W), up(search, H, W)
        shared = self.unc.shared(x0)
        p0 = self.unc.mean(shared)
        out["u"] = F.softplus(self.unc.scale(shared)).clamp(1e-8, 10.0)
        pred = p0.clamp(-15.0, 15.0)
        out["p0"] = pred
        un = out["u"] / (out["u"].amax(dim=(2, 3), keepdim=True) + 1e-8)  # per image (FIX), computed once
        for i in range(2):
            z = self.refine.blocks[i](torch.cat([x0, pred, un], 1)) * (un + 1)
            pred = self.refine.heads[i](z).clamp(-15.0, 15.0)
            if i == 0:
                out["pred_1"] = pred
        out["logits"] = pred
        out["deep"] = [self.deep[i](f[2 - i]).clamp(-15.0, 15.0) for i in range(3)]
        return out


# ---- loss (models/loss.cpp) --------------------------------------------------------------------
def structure_loss(logits, target):
    T = target.detach()
    w = 1 + 5 * (F.avg_pool2d(T, 31, stride=1, padding=15, count_include_pad=True) - T).abs()
    wbce = (w * F.binary_cross_entropy_with_logits(logits, T, reduction="none")).sum((2, 3)) / w.sum((2, 3))
    p = torch.sigmoid(logits)
    inter = (p * T * w).sum((2, 3))
    union = ((p + T) * w).sum((2, 3))
    wiou = 1 - (inter + 1) / (union - inter + 1)
    return (wbce + wiou).mean()


def bce_prob(prob, target):
    """cuttle's bce_prob: log of the probability clamped at exp(-100) (f64) or FLT_MIN (f32)."""
    lo = math.exp(-100.0) if prob.dtype == torch.float64 else torch.finfo(torch.float32).tiny
    T = target.detach()
    return -(T * prob.clamp(lo, 1.0).log() + (1 - T) * (1 - prob).clamp(lo, 1.0).log()).mean()


LOSS_TERMS = ["final", "refine", "p0", "fg", "search", "deep", "uncertainty"]


def camoxpert_loss(out, target, weights):
    """{term: value} with 'total'; weights = the config's "loss" object."""
    T = target
    L = {"final": structure_loss(out["logits"], T), "refine": structure_loss(out["pred_1"], T),
         "p0": structure_loss(out["p0"], T), "fg": bce_prob(out["fg"], T), "search": bce_prob(out["search"], T)}
    deep = None
    for d in out["deep"]:
        term = F.binary_cross_entropy_with_logits(d, F.adaptive_avg_pool2d(T, d.shape[2:]))
        deep = term if deep is None else deep + term
    L["deep"] = deep * (1.0 / len(out["deep"]))
    e = (torch.sigmoid(out["p0"]) - T).abs().detach()  # Laplace likelihood of the detached error (FIX)
    L["uncertainty"] = (e / out["u"] + out["u"].log()).mean()
    total = L["final"] * weights["final"]
    for k in LOSS_TERMS[1:]:
        total = total + L[k] * weights[k]
    if out["moe_aux"]:
        L["moe_aux"] = sum(out["moe_aux"][1:], out["moe_aux"][0])
        total = total + L["moe_aux"] * weights["moe_aux"]
    L["total"] = total
    return L


# ---- training helpers (autograd/optim: the rules a cuttle trainer applies) ------------------------
class WarmupCosine:
    """autograd::WarmupCosine: linear warm-up from 0.01 * base_lr, then cosine to min_lr."""

    def __init__(self, base_lr, warmup_steps, total_steps, min_lr, start_factor=0.01):
        self.base, self.warm, self.total, self.min, self.start = base_lr, warmup_steps, total_steps, min_lr, start_factor

    def lr(self, step):
        if step < self.warm:
            return self.base * (self.start + (1.0 - self.start) * (step / self.warm))
        t = min(1.0, (step - self.warm) / max(self.total - self.warm, 1))
        return self.min + 0.5 * (self.base - self.min) * (1.0 + math.cos(math.pi * t))


def clip_grad_norm(params, max_norm):
    """autograd::clip_grad_norm: scale by max_norm / (norm + 1e-6) only when the norm exceeds max_norm."""
    grads = [p.grad for p in params if p.grad is not None]
    norm = math.sqrt(sum(float((g.double() * g.double()).sum()) for g in grads))
    if math.isfinite(norm) and norm > max_norm:
        for g in grads:
            g.mul_(max_norm / (norm + 1e-6))
    return norm


def param_groups(model, train_cfg):
    """Two AdamW groups as a cuttle trainer builds them: everything else, then the routers at
    router_lr_scale x lr; one weight decay."""
    named = list(model.named_parameters())
    router = [p for n, p in named if ".router." in n]
    rest = [p for n, p in named if ".router." not in n]
    return [{"params": rest, "lr_scale": 1.0}, {"params": router, "lr_scale": train_cfg["router_lr_scale"]}]


def make_adamw(model, train_cfg):
    groups = param_groups(model, train_cfg)
    opt = torch.optim.AdamW([{"params": g["params"], "lr": train_cfg["lr"] * g["lr_scale"]} for g in groups],
                            lr=train_cfg["lr"], betas=(train_cfg["beta1"], train_cfg["beta2"]), eps=1e-8,
                            weight_decay=train_cfg["weight_decay"])
    for pg, g in zip(opt.param_groups, groups):
        pg["lr_scale"] = g["lr_scale"]
    return opt


def set_lr(opt, lr):
    for pg in opt.param_groups:
        pg["lr"] = lr * pg["lr_scale"]


# ---- cuttle weights ----------------------------------------------------------------------------
def cuttle_state_path(path):
    """A checkpoint directory (model.safetensors inside) or a bare .safetensors file."""
    if os.path.isdir(path):
        p = os.path.join(path, "model.safetensors")
        if not os.path.exists(p):
            raise FileNotFoundError(f"{path}: a cuttle checkpoint directory holds model.safetensors; not found")
        return p
    return path


def checkpoint_config(path):
    """The model config stored in a checkpoint directory's checkpoint.json, or None."""
    p = os.path.join(path, "checkpoint.json") if os.path.isdir(path) else None
    if p and os.path.exists(p):
        c = json.load(open(p)).get("config")
        return load_config(c) if isinstance(c, dict) else None
    return None


def load_cuttle_weights(model, path):
    """Strict load of cuttle's module state dict; floating tensors take the model's dtype."""
    state = load_file(cuttle_state_path(path))
    own = model.state_dict()
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    bad = [f"{k}: {tuple(state[k].shape)} vs {tuple(own[k].shape)}" for k in own
           if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or bad:
        raise ValueError(f"{path}: state mismatch; missing {missing[:5]} ({len(missing)}), unexpected "
                         f"{unexpected[:5]} ({len(unexpected)}), shapes {bad[:5]} ({len(bad)})")
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=True)


def state_names(model):
    return [f"{k} {list(v.shape)}" for k, v in model.state_dict().items()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", help="models/configs/*.json (default: the checkpoint's own config)")
    ap.add_argument("--weights", help="cuttle checkpoint directory or .safetensors file")
    ap.add_argument("--image-size", type=int, help="input side (default: the config's image_size)")
    ap.add_argument("--info", action="store_true", help="parameter counts and forward multiply-adds")
    ap.add_argument("--state-names", action="store_true", help="print the state dict's names and shapes")
    a = ap.parse_args()
    cfg = load_config(a.config) if a.config else (checkpoint_config(a.weights) if a.weights else None)
    if cfg is None:
        ap.error("--config is required (no config found in the checkpoint)")
    torch.manual_seed(0)
    model = CamoXpertTwin(cfg).eval()
    size = a.image_size or cfg["image_size"]
    if a.state_names:
        print("\n".join(state_names(model)))
    if a.weights:
        load_cuttle_weights(model, a.weights)
        x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            y = torch.sigmoid(model(x)["logits"])
        print(f"loaded {a.weights} strictly; eval forward {size}x{size}: mean prob {y.mean().item():.6f}")
    if a.info:
        from model_info_torch import print_info
        print_info(model, cfg, size)


if __name__ == "__main__":
    main()
