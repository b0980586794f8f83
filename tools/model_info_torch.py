"""Dev-only: parameter counts and forward multiply-adds (MACs) of the CamoXpert twin, counted the way
build/bin/model_info counts cuttle's (needs PyTorch; never part of the build).

MACs counted: conv2d (B * Cout * Hout * Wout * Cin/groups * kh * kw), linear (rows * in * out) and
matrix products (batch * M * K * N; the attention experts' q k^T and P v, the linear attention's
k^T v and q KV). Not counted: biases, norms, activations, pooling, resizes, softmax, element-wise ops.
A torch function mode sees every F.conv2d, F.linear and matmul of the forward.
"""
import math

import torch
from torch.overrides import TorchFunctionMode


class MacCounter(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.macs = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = getattr(func, "__name__", "")
        if name == "conv2d":
            w = args[1] if len(args) > 1 else kwargs["weight"]
            self.macs += out.numel() * w.shape[1] * w.shape[2] * w.shape[3]
        elif name == "linear":
            w = args[1] if len(args) > 1 else kwargs["weight"]
            self.macs += out.numel() * w.shape[1]
        elif name in ("matmul", "__matmul__", "bmm"):
            self.macs += out.numel() * args[0].shape[-1]
        return out


def count_macs(fn, *args):
    with torch.no_grad(), MacCounter() as c:
        fn(*args)
    return c.macs


def info(model, cfg, size):
    """Parameter counts and MACs per image (batch 1) of the parts, as model_info reports them."""
    model = model.eval()
    n = lambda m: sum(p.numel() for p in m.parameters())
    x = torch.randn(1, 3, size, size)
    r = {"params_total": n(model), "params_backbone": n(model.backbone)}
    r["params_moe"] = [n(m) for m in model.moe]
    r["params_head"] = r["params_total"] - r["params_backbone"] - sum(r["params_moe"])
    r["macs_backbone"] = count_macs(model.backbone, x)
    with torch.no_grad():
        feats = model.backbone(x)
    r["macs_experts"] = [[count_macs(e, f) for e in m.experts] for m, f in zip(model.moe, feats)]
    r["macs_router"] = [count_macs(m.router, f.mean(dim=(2, 3))) for m, f in zip(model.moe, feats)]
    modes = [m.mode for m in model.moe]
    for m in model.moe:
        m.mode = "dense_soft"  # every expert on every sample: the dense total, from which the head follows
    dense = count_macs(model, x)
    for m, mode in zip(model.moe, modes):
        m.mode = mode
    moe_dense = sum(map(sum, r["macs_experts"])) + sum(r["macs_router"])
    r["macs_head"] = dense - r["macs_backbone"] - moe_dense
    k = cfg["moe"]["top_k"]
    fixed = r["macs_backbone"] + r["macs_head"] + sum(r["macs_router"])
    r["macs_topk_mean"] = fixed + sum(k * sum(e) / len(e) for e in r["macs_experts"])
    r["macs_topk_min"] = fixed + sum(sum(sorted(e)[:k]) for e in r["macs_experts"])
    r["macs_topk_max"] = fixed + sum(sum(sorted(e)[-k:]) for e in r["macs_experts"])
    r["macs_dense"] = dense
    return r


def print_info(model, cfg, size):
    r = info(model, cfg, size)
    M, G = 1e6, 1e9
    n = lambda m: sum(p.numel() for p in m.parameters())
    print(f"{cfg['name']} (PyTorch twin), image {size}x{size}, top-{cfg['moe']['top_k']} of "
          f"{len(cfg['moe']['experts'])} experts per scale")
    print(f"parameters: total {r['params_total']} ({r['params_total'] / M:.3f} M)")
    print(f"  backbone {r['params_backbone']}")
    for s, m in enumerate(model.moe):
        print(f"  moe.{s} {r['params_moe'][s]} (router {n(m.router)}; experts "
              + " ".join(f"{t} {n(e)}" for t, e in zip(cfg["moe"]["experts"], m.experts)) + ")")
    print(f"  head {r['params_head']}")
    print(f"forward multiply-adds per image (GMAC): backbone {r['macs_backbone'] / G:.4f}, head "
          f"{r['macs_head'] / G:.4f}, routers {sum(r['macs_router']) / G:.6f}")
    for s, e in enumerate(r["macs_experts"]):
        print(f"  moe.{s} experts: " + ", ".join(f"{t} {m / G:.4f}" for t, m in zip(cfg["moe"]["experts"], e)))
    print(f"  total top-{cfg['moe']['top_k']}: mean over experts {r['macs_topk_mean'] / G:.4f}, cheapest {r['macs_topk_min'] / G:.4f}, "
          f"dearest {r['macs_topk_max'] / G:.4f}; dense (all experts) {r['macs_dense'] / G:.4f}")
    print(f"exact MACs: backbone {r['macs_backbone']}, head {r['macs_head']}, routers {sum(r['macs_router'])}, "
          f"experts (all) {sum(map(sum, r['macs_experts']))}, dense {r['macs_dense']}")
    return r
