"""Dev-only golden data for cuttle's SparseMoE test (needs PyTorch; never part of the build).

A PyTorch twin of layers::SparseMoE with five COD experts (the twins of tools/golden_experts.py) at
C = 10, top-2, and a non-zero balancing bias so the bias visibly steers selection. Writes to OUT:
  moe_weights.safetensors  state_dict (f32) with cuttle's names (router.*, experts.<i>.*, bias, usage_ema)
  moe_golden.safetensors   x, r; eval: y_eval, idx_eval; train: y_train, idx_train, grad.x, grad.<param>,
                           after.<buffer> (BN statistics and the balancing buffers after one step)
Usage: python3 tools/golden_moe.py tests/fixtures/moe
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
from golden_experts import EXPERTS, contiguous, randomize_norms  # noqa: E402
from safetensors_lite import save_file  # noqa: E402

C, B, K = 10, 4, 2
POOL = ["CODTexture", "CODFrequency", "CODEdge", "ContrastEnhancement", "CODHybrid"]


class SparseMoETwin(nn.Module):
    """layers::SparseMoE: router on the pooled map, logits clamped to [-10, 10], top-k of logits + bias
    (ties to the lower index), weights = softmax picks renormalised (in the graph), loss-free balancing
    after selection (cuttle's f32 arithmetic, so the buffers agree bit for bit), each chosen expert run
    once on its samples and index-added in expert order. mode: batched | per_sample | dense_masked |
    dense_soft. freeze(indices) fixes the routing (balancing off). forward returns the combined map and
    keeps last_indices, last_weights, last_logits and aux_loss (None unless enabled and training)."""

    def __init__(self, dim, experts, k, mode="batched", balance=True, bias_in_weights=False, aux_loss=False,
                 aux_coef_min=1e-5, aux_coef_max=1e-4, aux_warmup_start_epoch=30, aux_warmup_end_epoch=90):
        super().__init__()
        self.k, self.mode, self.balance, self.bias_in_weights = k, mode, balance, bias_in_weights
        self.aux, self.aux_coef = aux_loss, (aux_coef_min, aux_coef_max, aux_warmup_start_epoch, aux_warmup_end_epoch)
        self.epoch, self.frozen = 0, None
        self.last_indices = self.last_weights = self.last_logits = self.aux_loss = None
        self.register_buffer("bias", torch.zeros(len(experts)))
        self.register_buffer("usage_ema", torch.full((len(experts),), 1.0 / len(experts)))
        self.router = nn.Linear(dim, len(experts))
        self.experts = nn.ModuleList(experts)

    def freeze(self, indices):
        self.frozen = None if indices is None else indices.clone()

    def aux_coefficient(self):
        lo, hi, a, b = self.aux_coef
        t = min(1.0, max(0.0, (self.epoch - a) / (b - a))) if b > a else 1.0
        return lo + t * (hi - lo)

    def select(self, scores):
        # A stable descending sort keeps equal scores in index order: ties go to the lower expert.
        return torch.sort(scores, dim=1, descending=True, stable=True).indices[:, :self.k]

    @torch.no_grad()
    def update_balance(self, usage):
        """moe::update_balance in cuttle's arithmetic: f32 buffers, double expressions."""
        E = usage.size
        ema = self.usage_ema.cpu().numpy().astype(np.float32).astype(np.float64)
        bias = self.bias.cpu().numpy().astype(np.float32).astype(np.float64)
        ema = (0.9 * ema + (1 - 0.9) * usage.astype(np.float64)).astype(np.float32)
        bias = np.clip(bias - 0.01 * (ema.astype(np.float64) - 1.0 / E), -5.0, 5.0).astype(np.float32)
        self.usage_ema.copy_(torch.from_numpy(ema))
        self.bias.copy_(torch.from_numpy(bias))

    def forward(self, x):
        E, B = len(self.experts), x.shape[0]
        logits = self.router(x.mean(dim=(2, 3))).clamp(-10.0, 10.0)
        bias = self.bias.to(logits.dtype)
        idx = self.frozen if self.frozen is not None else self.select(logits.detach() + bias)
        probs = (logits + bias if self.bias_in_weights else logits).softmax(dim=1)
        w = probs.gather(1, idx)
        w = w / w.sum(dim=1, keepdim=True)
        counts = np.bincount(idx.flatten().cpu().numpy(), minlength=E)
        share = counts.astype(np.float32) / np.float32(idx.numel())  # f32, as moe::selection_share
        if self.training and self.balance and self.frozen is None and self.mode == "batched":
            self.update_balance(share)
        self.aux_loss = None
        if self.aux and self.training:
            f = torch.from_numpy(share).to(probs)
            self.aux_loss = (probs.mean(0) * f).sum() * (self.aux_coefficient() * E)
        if self.mode == "batched":
            out = torch.zeros_like(x)
            for e in range(E):
                rows, slots = (idx == e).nonzero(as_tuple=True)  # sample order, as cuttle's dispatch
                if rows.numel() == 0:
                    continue  # not run: no gradient for its parameters
                y = self.experts[e](x[rows])
                out = out.index_add(0, rows, y * w[rows, slots].view(-1, 1, 1, 1))
        elif self.mode == "per_sample":
            out = torch.cat([sum(self.experts[int(idx[b, s])](x[b:b + 1]) * w[b, s] for s in range(self.k))
                             for b in range(B)], 0)
        else:
            full = probs if self.mode == "dense_soft" else torch.zeros_like(probs).scatter_add(1, idx, w)
            out = sum(self.experts[e](x) * full[:, e].view(B, 1, 1, 1) for e in range(E))
        self.last_indices, self.last_weights, self.last_logits = idx, w, logits
        return out


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(7)
    experts = [EXPERTS[name](C) for name in POOL]
    for i, m in enumerate(experts):
        randomize_norms(m, torch.Generator().manual_seed(300 + i))
    moe = SparseMoETwin(C, experts, K)
    with torch.no_grad():
        moe.bias.copy_(torch.tensor([0.4, -0.3, 0.0, 0.2, -0.1]))
    save_file(contiguous(moe.state_dict()), f"{out}/moe_weights.safetensors", metadata={"format": "pt"})

    moe = moe.double()
    x = torch.randn(B, C, 7, 9, dtype=torch.float64) * 2.0
    r = torch.randn(B, C, 7, 9, dtype=torch.float64)
    g = {"x": x, "r": r}
    moe.eval()
    with torch.no_grad():
        g["y_eval"], g["idx_eval"] = moe(x), moe.last_indices
    moe.train()
    xg = x.clone().requires_grad_(True)
    y = moe(xg)
    idx = moe.last_indices
    (y * r).sum().backward()
    g["y_train"], g["idx_train"], g["grad.x"] = y, idx, xg.grad
    for n, p in moe.named_parameters():
        if p.grad is not None:
            g["grad." + n] = p.grad
    for n, b in moe.named_buffers():
        g["after." + n] = b
    save_file(contiguous(g), f"{out}/moe_golden.safetensors")
    print("routing eval", idx.tolist(), "ok")


if __name__ == "__main__":
    main()
