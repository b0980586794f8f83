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

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
from golden_experts import EXPERTS, contiguous, randomize_norms  # noqa: E402
from safetensors_lite import save_file  # noqa: E402

C, B, K = 10, 4, 2
POOL = ["CODTexture", "CODFrequency", "CODEdge", "ContrastEnhancement", "CODHybrid"]


class SparseMoETwin(nn.Module):
    def __init__(self, dim, experts, k):
        super().__init__()
        self.k = k
        self.register_buffer("bias", torch.zeros(len(experts)))
        self.register_buffer("usage_ema", torch.full((len(experts),), 1.0 / len(experts)))
        self.router = nn.Linear(dim, len(experts))
        self.experts = nn.ModuleList(experts)

    def forward(self, x):
        E = len(self.experts)
        logits = self.router(x.mean(dim=(2, 3))).clamp(-10.0, 10.0)
        idx = torch.topk(logits.detach() + self.bias.to(logits.dtype), self.k, dim=1).indices
        probs = logits.softmax(dim=1)
        w = probs.gather(1, idx)
        w = w / w.sum(dim=1, keepdim=True)
        if self.training:  # loss-free balancing, after selection
            usage = torch.bincount(idx.flatten(), minlength=E).to(self.usage_ema.dtype) / idx.numel()
            self.usage_ema.mul_(0.9).add_(0.1 * usage)
            self.bias.sub_(0.01 * (self.usage_ema - 1.0 / E)).clamp_(-5.0, 5.0)
        out = torch.zeros_like(x)
        for e in range(E):
            rows, slots = (idx == e).nonzero(as_tuple=True)  # sample order, as cuttle's dispatch
            if rows.numel() == 0:
                continue
            y = self.experts[e](x[rows])
            out = out.index_add(0, rows, y * w[rows, slots].view(-1, 1, 1, 1))
        return out, idx


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
        g["y_eval"], g["idx_eval"] = moe(x)
    moe.train()
    xg = x.clone().requires_grad_(True)
    y, idx = moe(xg)
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
