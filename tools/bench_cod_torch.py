#!/usr/bin/env python3
"""Dev-only: the PyTorch peer of build/bin/bench_cod. Times the PyTorch twin of CamoXpert
(tools/camoxpert_torch.py: the same config, expert pool, routing rules and loss) the way bench_cod times
cuttle: a whole training step (forward, loss, loss read, backward, gradient clipping, AdamW, zero_grad)
in train mode and inference (eval mode, no_grad, sigmoid of the final map), per batch size; median wall
time of the timed calls with the device drained around each, images/s and peak memory
(torch.cuda.max_memory_allocated). Eager PyTorch, cudnn.benchmark as --cudnn-benchmark (off by default, as
PyTorch's; with it on, every new expert batch size the routing produces triggers a search), TF32 as
--tf32.

  python3 tools/bench_cod_torch.py [--config camoxpert-pvt-b2] [--batch 16 1] [--tsv torch.tsv]
                                   [--cuttle cuttle.tsv]   # also print the comparison with bench_cod's rows
"""
import argparse
import csv
import math
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from camoxpert_torch import CamoXpertTwin, camoxpert_loss, config_path, load_config, make_adamw  # noqa: E402


def make_batch(batch, size, device):
    """Random images and one ellipse per mask, as bench_cod's make_batch (the values need not match)."""
    g = torch.Generator().manual_seed(7)
    images = torch.randn(batch, 3, size, size, generator=g)
    y = torch.arange(size, dtype=torch.float64).view(1, size, 1)
    x = torch.arange(size, dtype=torch.float64).view(1, 1, size)
    b = torch.arange(batch, dtype=torch.float64).view(batch, 1, 1)
    cy, cx, ry, rx = size * (0.4 + 0.02 * (b % 5)), size * 0.5, size * 0.25, size * 0.3
    masks = (((y - cy) ** 2 / ry ** 2 + (x - cx) ** 2 / rx ** 2) <= 1).float().unsqueeze(1)
    return images.to(device), masks.to(device)


def drain(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_calls(fn, warmup, reps, device):
    for _ in range(warmup):
        fn()
    drain(device)
    ms = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        drain(device)
        ms.append((time.perf_counter() - t0) * 1e3)
    return sorted(ms)


def peak_mib(device):
    return torch.cuda.max_memory_allocated(device) / 2 ** 20 if device.type == "cuda" else 0.0


def reset_peak(device):
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def bench(cfg, batches, device, warmup, reps, skip_train, skip_infer):
    rows = []
    size = cfg["image_size"]
    for batch in batches:
        torch.manual_seed(cfg["train"]["seed"])
        model = CamoXpertTwin(cfg).to(device)
        print(f"parameters {sum(p.numel() for p in model.parameters())}")
        images, masks = make_batch(batch, size, device)
        clip = cfg["train"]["clip"] if cfg["train"]["clip"] > 0 else math.inf
        if not skip_train:
            opt = make_adamw(model, cfg["train"])
            model.train()

            def step():
                out = model(images)
                loss = camoxpert_loss(out, masks, cfg["loss"])
                loss["total"].item()  # train_cod reads the loss every step
                loss["total"].backward()
                torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.grad is not None], clip)
                opt.step()
                opt.zero_grad(set_to_none=True)

            t0 = time.perf_counter()
            step()  # allocates the optimizer moments, outside the peak below (as bench_cod)
            drain(device)
            print(f"first training step (batch {batch}): {(time.perf_counter() - t0) * 1e3:.0f} ms")
            reset_peak(device)
            ms = time_calls(step, warmup, reps, device)
            rows.append(("train", batch, statistics.median(ms), ms[0], peak_mib(device)))
            del opt
        if not skip_infer:
            model.eval()

            def infer():
                with torch.no_grad():
                    torch.sigmoid(model(images)["logits"])

            reset_peak(device)
            ms = time_calls(infer, warmup, reps, device)
            rows.append(("infer", batch, statistics.median(ms), ms[0], peak_mib(device)))
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return rows


def read_tsv(path):
    with open(path) as f:
        return {(r["pass"], int(r["batch"])): r for r in csv.DictReader(f, delimiter="\t")}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="camoxpert-pvt-b2")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--batch", type=int, nargs="+", default=[16, 1])
    ap.add_argument("--image-size", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--tf32", choices=["on", "off"], default="on")
    ap.add_argument("--mode", help="MoE mode override (batched, per_sample, dense_soft)")
    ap.add_argument("--skip-train", action="store_true")
    ap.add_argument("--skip-infer", action="store_true")
    ap.add_argument("--tsv", help="write the rows here")
    ap.add_argument("--cuttle", help="bench_cod's --tsv file: print both side by side")
    ap.add_argument("--cudnn-benchmark", choices=["on", "off"], default="off",
                    help="torch.backends.cudnn.benchmark (match bench_cod --cudnn-benchmark)")
    a = ap.parse_args()
    cfg = load_config(config_path(a.config))
    if a.image_size:
        cfg["image_size"] = a.image_size
    if a.mode:
        cfg["moe"]["mode"] = a.mode
    device = torch.device(a.device)
    tf32 = a.tf32 == "on"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = a.cudnn_benchmark == "on"
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"bench_cod_torch: {cfg['name']}, {cfg['image_size']}x{cfg['image_size']}, MoE {cfg['moe']['mode']} "
          f"top-{cfg['moe']['top_k']}, {name}, PyTorch {torch.__version__}, f32{' with TF32' if tf32 else ''}; "
          f"{a.warmup} warm-up + {a.reps} timed calls, median")
    rows = bench(cfg, a.batch, device, a.warmup, a.reps, a.skip_train, a.skip_infer)
    print("\n| pass | batch | median ms | min ms | images/s | peak MiB |\n|---|---:|---:|---:|---:|---:|")
    for p, b, med, mn, peak in rows:
        print(f"| {p} | {b} | {med:.2f} | {mn:.2f} | {b / (med * 1e-3):.1f} | {peak:.0f} |")
    if a.tsv:
        with open(a.tsv, "w") as f:
            f.write("pass\tbatch\tmedian_ms\tmin_ms\tpeak_mib\n")
            for r in rows:
                f.write("\t".join(str(v) for v in r) + "\n")
    if a.cuttle:
        ours = read_tsv(a.cuttle)
        print("\n== whole model: cuttle vs PyTorch (median ms; speed-up > 1: cuttle faster) ==")
        print("| pass | batch | cuttle ms | PyTorch ms | speed-up | cuttle img/s | PyTorch img/s | cuttle peak MiB "
              "| PyTorch peak MiB |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for p, b, med, _, peak in rows:
            c = ours.get((p, b))
            if c is None:
                continue
            cm, cp = float(c["median_ms"]), float(c["peak_mib"])
            print(f"| {p} | {b} | {cm:.2f} | {med:.2f} | {med / cm:.2f} | {b / (cm * 1e-3):.1f} | "
                  f"{b / (med * 1e-3):.1f} | {cp:.0f} | {peak:.0f} |")


if __name__ == "__main__":
    main()
