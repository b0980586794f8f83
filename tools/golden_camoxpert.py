#!/usr/bin/env python3
"""Dev-only golden data for cuttle's whole-model CamoXpert test (needs PyTorch; never part of the build).

Usage: python3 tools/golden_camoxpert.py [tests/fixtures/camoxpert]
Builds the twin of tools/camoxpert_torch.py from OUT/config.json (a very small CamoXpert: SmallCNN
[4, 4, 8, 8], head width 8, the default 6 experts top-2 at every scale, 64x64 input, batch 2), with
BatchNorm affine parameters and the balancing biases randomised so that no part sits at a trivial
value, and writes to OUT:
  weights.safetensors  the state dict (f32, cuttle's names; loaded strictly by the C++ test)
  golden.safetensors   in float64 (computed from exactly the f32 weights):
    images [4,3,64,64] u8, masks [4,1,64,64] u8: the data pool; x = images / 127.5 - 1, target = masks
    batches [10,2] i64: the pool images of each training step's batch
    step 0 (train mode, the first training step): out.{logits,pred_1,p0,fg,search,u,deep.0,deep.1,deep.2},
      loss.{total,final,refine,p0,fg,search,deep,uncertainty}, weights.{s} (combination weights [2,2]),
      grad.<param> (before clipping; absent for experts nobody chose), after.<buffer> (after the forward)
    10 AdamW steps as a cuttle trainer does them (train.* of the config: WarmupCosine lr, router group at
      router_lr_scale x lr, weight decay, clip_grad_norm): losses [10], terms [10,7] (LOSS_TERMS order),
      lr [10], grad_norm [10] (before clipping), route.{s} [10,2,2] i64 (the top-k selections of every
      MoE at every step, genuinely data-dependent: not frozen), final.<param> [2] (sum, sum of squares
      after the 10 steps), final.moe.{s}.{bias,usage_ema}
    then eval mode on step 0's batch: eval.terms [8] (total, then LOSS_TERMS), eval.route.{s} [2,2]
Every selection is checked to have a margin > 1e-6 between the k-th and (k+1)-th score, so rounding
cannot flip it. tests/models/test_camoxpert_golden.cpp compares.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from camoxpert_torch import (LOSS_TERMS, CamoXpertTwin, WarmupCosine, camoxpert_loss, clip_grad_norm,  # noqa: E402
                             load_config, make_adamw, set_lr)
from golden_experts import contiguous, randomize_norms  # noqa: E402
from safetensors_lite import save_file  # noqa: E402

POOL, SIZE, STEPS = 4, 64, 10
BATCHES = [[0, 1], [2, 3], [0, 2], [1, 3], [0, 3], [1, 2], [1, 0], [3, 2], [2, 0], [3, 1]]
ROUTER_SPREAD = 1.5
MAPS = ["logits", "pred_1", "p0", "fg", "search", "u"]


def make_pool(g):
    """Smooth random textures with an ellipse wearing a shifted copy: camouflage-like, u8."""
    yy, xx = torch.meshgrid(torch.linspace(0, 1, SIZE), torch.linspace(0, 1, SIZE), indexing="ij")
    images, masks = [], []
    for _ in range(POOL):
        tex = lambda: F.interpolate(torch.rand(1, 3, 8, 8, generator=g), size=(SIZE, SIZE), mode="bilinear",
                                    align_corners=False)[0]
        cx, cy, rx, ry = (torch.rand(4, generator=g) * torch.tensor([0.5, 0.5, 0.2, 0.2]) + torch.tensor([0.25, 0.25, 0.12, 0.12]))
        m = (((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1).float()
        tone = torch.rand(3, 1, 1, generator=g)  # a per-image colour cast, so pooled features differ
        img = 0.3 * tone + 0.4 * tex() + 0.2 * torch.rand(3, SIZE, SIZE, generator=g) + m * 0.25 * tex()
        images.append((img.clamp(0, 1) * 255).round().to(torch.uint8))
        masks.append(m[None].to(torch.uint8))
    return torch.stack(images), torch.stack(masks)


@torch.no_grad()
def calibrate_routers(model, x, gen):
    """Routers that read the image: the pooled backbone features of the pool images differ little from
    their common mean, so random weights are scaled to spread the logits of those differences (std
    ROUTER_SPREAD) and the bias cancels the mean. Otherwise every image would pick the same experts."""
    model.train()
    feats = model.backbone(x)
    for m, f in zip(model.moe, feats):
        pooled = f.mean(dim=(2, 3))
        dev = pooled - pooled.mean(0, keepdim=True)
        w = torch.randn(m.router.weight.shape, generator=gen)
        w *= ROUTER_SPREAD / (dev @ w.t()).std()
        m.router.weight.copy_(w)
        m.router.bias.copy_(-(pooled.mean(0) @ w.t()))


def routing_margin(moe, logits):
    scores = torch.sort(logits.detach() + moe.bias.to(logits.dtype), dim=1, descending=True).values
    return (scores[:, moe.k - 1] - scores[:, moe.k]).min().item()


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures",
                                                                  "camoxpert")
    cfg = load_config(os.path.join(out_dir, "config.json"))
    torch.manual_seed(11)
    model = CamoXpertTwin(cfg)
    randomize_norms(model, torch.Generator().manual_seed(12))
    with torch.no_grad():
        gen = torch.Generator().manual_seed(13)
        for m in model.moe:
            m.bias.copy_(torch.rand(m.bias.shape, generator=gen) * 0.1 - 0.05)
    images, masks = make_pool(torch.Generator().manual_seed(14))
    calibrate_routers(model, images.float() / 127.5 - 1, torch.Generator().manual_seed(15))
    save_file(contiguous(model.state_dict()), os.path.join(out_dir, "weights.safetensors"), metadata={"format": "pt"})
    model = model.float().double()

    g = {"images": images, "masks": masks, "batches": torch.tensor(BATCHES, dtype=torch.int64)}
    data = lambda s: (images[BATCHES[s]].double() / 127.5 - 1, masks[BATCHES[s]].double())

    t = cfg["train"]
    sched = WarmupCosine(t["lr"], t["warmup_steps"], t["steps"], t["min_lr"])
    opt = make_adamw(model, t)
    params = list(model.parameters())
    losses, terms, lrs, norms = [], [], [], []
    routes = [[] for _ in model.moe]
    margin = float("inf")
    model.train()
    for step in range(STEPS):
        x, target = data(step)
        set_lr(opt, sched.lr(step))
        out = model(x)
        L = camoxpert_loss(out, target, cfg["loss"])
        for s, m in enumerate(model.moe):
            routes[s].append(m.last_indices.clone())
            margin = min(margin, routing_margin(m, m.last_logits))
        opt.zero_grad(set_to_none=True)
        L["total"].backward()
        if step == 0:
            for k in MAPS:
                g["out." + k] = out[k]
            for i, d in enumerate(out["deep"]):
                g[f"out.deep.{i}"] = d
            for k, v in L.items():
                g["loss." + k] = v
            for s, m in enumerate(model.moe):
                g[f"weights.{s}"] = m.last_weights
            for n, p in model.named_parameters():
                if p.grad is not None:
                    g["grad." + n] = p.grad.clone()
            for n, b in model.named_buffers():
                g["after." + n] = b.clone()
        norms.append(clip_grad_norm(params, t["clip"]) if t["clip"] > 0 else 0.0)
        opt.step()
        losses.append(L["total"].item())
        terms.append([L[k].item() for k in LOSS_TERMS])
        lrs.append(sched.lr(step))
        print(f"step {step}: loss {losses[-1]:.10f} lr {lrs[-1]:.3g} |g| {norms[-1]:.4f} routes "
              + " ".join(str(r[-1].tolist()) for r in routes))
    assert margin > 1e-6, f"a top-k selection is within {margin:.3g} of a tie: pick other seeds"
    for s, r in enumerate(routes):
        sets = {tuple(sorted(row)) for step in r for row in step.tolist()}
        print(f"moe.{s}: {len(sets)} distinct expert sets over the {STEPS} steps")
        assert len(sets) > 1, f"moe.{s} routed every sample of every step to the same experts"
        g[f"route.{s}"] = torch.stack(r)
    g["losses"] = torch.tensor(losses, dtype=torch.float64)
    g["terms"] = torch.tensor(terms, dtype=torch.float64)
    g["lr"] = torch.tensor(lrs, dtype=torch.float64)
    g["grad_norm"] = torch.tensor(norms, dtype=torch.float64)
    for n, p in model.named_parameters():
        g["final." + n] = torch.stack([p.detach().sum(), (p.detach() ** 2).sum()])
    model.eval()  # BatchNorm on the running statistics the 10 steps accumulated
    with torch.no_grad():
        x, target = data(0)
        L = camoxpert_loss(model(x), target, cfg["loss"])
    g["eval.terms"] = torch.tensor([L["total"].item()] + [L[k].item() for k in LOSS_TERMS], dtype=torch.float64)
    for s, m in enumerate(model.moe):
        g[f"eval.route.{s}"] = m.last_indices.clone()
        assert routing_margin(m, m.last_logits) > 1e-6, f"eval: moe.{s} is within 1e-6 of a tie"
    print("eval after 10 steps: loss", L["total"].item(), "routes", [m.last_indices.tolist() for m in model.moe])
    for s, m in enumerate(model.moe):
        g[f"final.moe.{s}.bias"], g[f"final.moe.{s}.usage_ema"] = m.bias.clone(), m.usage_ema.clone()
    save_file(contiguous(g), os.path.join(out_dir, "golden.safetensors"))
    print(f"min routing margin {margin:.3g}; {sum(p.numel() for p in params)} parameters; ok")


if __name__ == "__main__":
    main()
