#!/usr/bin/env python3
"""PyTorch twin of apps/bench_moe.cpp: the same rows (SparseMoE per scale of camoxpert-pvt-b2 in the batched,
per_sample and dense_soft modes under the same frozen "uniform" routing; the original's dim-288 shape; PVTv2
spatial-reduction attention, its core, and CODAttention), built from the golden twins (tools/golden_moe.py,
golden_experts.py, golden_attention.py) so the modules are the same, timed the same way (bench_ops_torch's
time_it: warm-up, then CUDA events around each call, median), written to the same TSV columns for
tools/bench_compare.py. Dev-only: PyTorch is never a dependency of cuttle.

Each row is one training step's forward + backward (train mode, gradients of the input and every parameter).
The attention twins call golden_attention.softmax_attention; for the rows named like cuttle's that core is
torch.nn.functional.scaled_dot_product_attention (also inside the MoE's CODAttention), and the extra rows
"..., manual core" keep softmax(QK^T)V. PyTorch < 2.1 has no SDPA with a scale: the manual core stands in
(the header says so). TF32 is set explicitly both ways (PyTorch's cuDNN default is on; cuttle's is off).
--routing-file / --routing-batch replay a recorded routing (infer_cod --routing-out) as bench_moe does.
"""
import argparse
import contextlib
import json
import os
import struct
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden_attention  # noqa: E402
from bench_ops_torch import time_it  # noqa: E402
from golden_attention import CODAttention, LinearAttention, SRAttention, cod_heads  # noqa: E402
from golden_experts import EXPERTS  # noqa: E402
from golden_moe import SparseMoETwin  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PVT_B2_HEADS, PVT_B2_SR = (1, 2, 5, 8), (8, 4, 2, 1)  # models::pvt_v2_b2()
MODES = ("batched", "per_sample", "dense_soft")
# SDPA with a `scale` argument arrived in PyTorch 2.1.
HAS_SDPA = hasattr(F, "scaled_dot_product_attention") and tuple(int(v) for v in torch.__version__.split(".")[:2]) >= (2, 1)


def sizes(cfg, batch, quick):
    """As Sizes in apps/bench_moe.cpp: dims and maps per scale, batch, the original's dim, map and batches."""
    if quick:
        return dict(dims=[16, 32, 40, 64], maps=[16, 8, 4, 2], batch=4, orig_dim=32, orig_map=4, orig_batches=[1, 2, 4])
    return dict(dims=cfg["backbone"]["dims"], maps=[cfg["image_size"] // (4 << i) for i in range(4)], batch=batch,
                orig_dim=288, orig_map=22, orig_batches=[1, 4, 8, 16])


def uniform_routing(B, k, E, seed=0):
    """uniform_routing of apps/bench_moe.cpp, step for step: slot j -> expert j % E, samples shuffled by a
    splitmix64-driven Fisher-Yates. Returns [B][k]."""
    mask, state = (1 << 64) - 1, seed

    def nxt():
        nonlocal state
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    perm = list(range(B))
    for i in range(B - 1, 0, -1):
        j = nxt() % (i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    idx = [[0] * k for _ in range(B)]
    for b in range(B):
        for s in range(k):
            idx[perm[b]][s] = (b * k + s) % E
    return idx


def routing_note(idx, B, k, E, even=True):
    """As routing_note of apps/bench_moe.cpp; idx is [B][k]."""
    counts = [sum(row.count(e) for row in idx) for e in range(E)]
    s = f"B*k = {B * k} selections over E = {E} experts, samples per expert " + " ".join(map(str, counts))
    if even and (B * k) % E:
        s += f" (B*k/E = {B * k / E:.2f} is not an integer: as even as possible)"
    return s + "; experts per sample: " + " ".join(",".join(map(str, row)) for row in idx)


def recorded_routing(path, batch_index, B, E, k):
    """As recorded_routing of apps/bench_moe.cpp: the [B][k] routing of each scale for images
    [batch_index*B, (batch_index+1)*B) of a routing record (models/routing_record.h), checked and printed."""
    import safetensors_lite
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        meta = json.loads(f.read(n)).get("__metadata__", {})
    tensors = safetensors_lite.load_file(path)
    scales = [tensors.get(f"moe.{s}.indices") for s in range(4)]
    if any(t is None for t in scales) or int(meta.get("num_experts", 0)) != E or int(meta.get("top_k", 0)) != k:
        sys.exit(f"bench_moe_torch: routing file '{path}' is not a 4-scale record of {E} experts, top-{k}")
    N = scales[0].shape[0]
    if (batch_index + 1) * B > N:
        sys.exit(f"bench_moe_torch: routing file '{path}' holds {N} images; --routing-batch {batch_index} at batch "
                 f"{B} needs {(batch_index + 1) * B}")
    info = ", ".join(f"{key} {v}" for key, v in sorted(meta.items()) if key not in ("num_experts", "top_k"))
    print(f"routing \"trained\": images {batch_index * B}..{(batch_index + 1) * B - 1} of {path} ({N} images; {info})")
    out = []
    for s, t in enumerate(scales):
        idx = t[batch_index * B:(batch_index + 1) * B].tolist()
        print(f"  s{s + 1}: {routing_note(idx, B, k, E, even=False)}")
        out.append(idx)
    return out


def sdpa_core(q, k, v, scale):
    return F.scaled_dot_product_attention(q, k, v, scale=scale)


@contextlib.contextmanager
def attention_core(fn):
    """The twins look golden_attention.softmax_attention up at call time: swapping it gives the same module
    with another core, without a second copy of its forward."""
    saved = golden_attention.softmax_attention
    golden_attention.softmax_attention = fn
    try:
        yield
    finally:
        golden_attention.softmax_attention = saved


def inp(shape, dev, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)).to(dev)


def train_step(module, call, x, gy):
    """One forward + backward with fresh gradients, as cuttle's steps."""
    def step():
        module.zero_grad(set_to_none=True)
        call(x.detach().requires_grad_(True)).backward(gy)
    return step


# ---- the timed steps (as apps/bench_moe.cpp; each builds its module and inputs, then returns the call) ----

def moe_step(cfg, dim, hw, sr, B, routing, mode, dev):
    torch.manual_seed(1)
    m = cfg["moe"]
    pool = [CODAttention(dim, sr) if t == "CODAttention" else LinearAttention(dim) if t == "Attention"
            else EXPERTS[t](dim) for t in m["experts"]]
    moe = SparseMoETwin(dim, pool, m["top_k"], mode=mode, balance=m.get("balance", True),
                        bias_in_weights=m.get("bias_in_weights", False)).to(dev).train()
    moe.freeze(torch.tensor(routing, dtype=torch.long, device=dev))
    return train_step(moe, moe, inp((B, dim, hw, hw), dev, 2), inp((B, dim, hw, hw), dev, 3))


def sra_step(dim, heads, sr, hw, B, dev):
    torch.manual_seed(4)
    att = SRAttention(dim, heads, sr).to(dev).train()
    return train_step(att, lambda x: att(x, (hw, hw)), inp((B, hw * hw, dim), dev, 5), inp((B, hw * hw, dim), dev, 6))


def core_step(B, heads, N, M, d, dev):
    q, k, v = inp((B, heads, N, d), dev, 7), inp((B, heads, M, d), dev, 8), inp((B, heads, M, d), dev, 9)
    gy = inp((B, heads, N, d), dev, 10)

    def step():
        leaves = [t.detach().requires_grad_(True) for t in (q, k, v)]
        golden_attention.softmax_attention(*leaves, d ** -0.5).backward(gy)
    return step


def cod_attention_step(dim, sr, hw, B, dev):
    torch.manual_seed(11)
    att = CODAttention(dim, sr).to(dev).train()
    return train_step(att, att, inp((B, dim, hw, hw), dev, 12), inp((B, dim, hw, hw), dev, 13))


# ---- measuring and reporting ----

def fmt(v, f="{:.4f}"):
    return f.format(v) if v else "n/a"


def row_selected(text, patterns):
    """The --only filter, as bench_moe's: empty, or text contains one of the '|'-separated pieces."""
    return not patterns or any(p and p in text for p in patterns.split("|"))


class Bench:
    def __init__(self, dev, warmup, reps, tsv_path, only=""):
        self.dev, self.warmup, self.reps, self.only = dev, warmup, reps, only
        self.tsv = open(tsv_path, "w") if tsv_path else None
        if self.tsv:
            self.tsv.write("op\tshape\tpass\tmedian_ms\tmin_ms\tbytes\tpeak_mib\n")

    def run(self, op, shape, prepare, core):
        """(median, min, peak MiB or None); n/a (None, None, None) where the step fails, the run goes on;
        False for a row --only leaves out."""
        if not row_selected(f"{op} {shape}", self.only):
            return False
        cuda = self.dev.type == "cuda"
        med = lo = peak = None
        try:
            with attention_core(core):
                if cuda:
                    torch.cuda.reset_peak_memory_stats(self.dev)
                step = prepare()
                med, lo = time_it(step, self.warmup, self.reps, self.dev)
                peak = torch.cuda.max_memory_allocated(self.dev) / 2 ** 20 if cuda else None
        except RuntimeError as e:
            print(f"bench_moe_torch: {op} {shape}: n/a ({str(e)[:200]})", file=sys.stderr)
        step = None
        if cuda:
            torch.cuda.empty_cache()
        if self.tsv:
            self.tsv.write(f"{op}\t{shape}\tfwd+bwd\t{fmt(med)}\t{fmt(lo)}\t0\t{fmt(peak, '{:.1f}') if peak else '-'}\n")
            self.tsv.flush()
        return med, lo, peak


def peak_text(p):
    return f"{p:.0f}" if p else "-"


def moe_header():
    print("| scale | dim  | map     | batch | mode       | median ms |    min ms | x batched | peak MiB |")
    print("|-------|------|---------|-------|------------|-----------|-----------|-----------|----------|")


def moe_rows(bench, cfg, scale, dim, hw, sr, B, routing, label, core):
    batched = None
    for mode in MODES:
        result = bench.run(f"SparseMoE {mode} ({label})", f"[{B},{dim},{hw},{hw}]",
                           lambda: moe_step(cfg, dim, hw, sr, B, routing, mode, bench.dev), core)
        if result is False:
            continue
        med, lo, peak = result
        batched = med if mode == "batched" else batched
        ratio = f"{med / batched:.2f}" if med and batched else "n/a"
        print(f"| {scale:5} | {dim:4} | {f'{hw}x{hw}':7} | {B:5} | {mode:10} | {fmt(med, '{:.3f}'):>9} | "
              f"{fmt(lo, '{:.3f}'):>9} | {ratio:>9} | {peak_text(peak):>8} |", flush=True)


def attention_row(bench, op, shape, prepare, core):
    result = bench.run(op, shape, prepare, core)
    if result is False:
        return
    med, lo, peak = result
    print(f"| {op:32} | {shape:30} | {fmt(med, '{:.3f}'):>9} | {fmt(lo, '{:.3f}'):>9} | {peak_text(peak):>8} |",
          flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto")
    ap.add_argument("--warmup", type=int, default=None, help="untimed calls before timing (default 5; --quick: 1)")
    ap.add_argument("--reps", type=int, default=None, help="timed calls, median reported (default 21; --quick: 3)")
    ap.add_argument("--batch", type=int, default=16, help="batch of the moe and attention lists")
    ap.add_argument("--tsv", default="", help="also write every row to this tab-separated file")
    ap.add_argument("--tf32", choices=("on", "off"), default="off", help="TF32 in cuDNN and cuBLAS (as bench_moe)")
    ap.add_argument("--quick", action="store_true", help="tiny shapes, 1 warm-up + 3 timed calls (a CPU smoke run)")
    ap.add_argument("--routing-file", default="", help="also run the moe list under this recorded routing")
    ap.add_argument("--routing-batch", type=int, default=0, help="which batch of the routing file")
    ap.add_argument("--only", default="", help='run only the rows whose "op shape" contains this text, or one of '
                    "several separated by '|' (as bench_moe --only)")
    a = ap.parse_args()
    warmup = a.warmup if a.warmup is not None else (1 if a.quick else 5)
    reps = a.reps if a.reps is not None else (3 if a.quick else 21)
    dev = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if a.device == "auto" else a.device)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = a.tf32 == "on"
    with open(os.path.join(ROOT, "models", "configs", "camoxpert-pvt-b2.json")) as f:
        cfg = json.load(f)
    s = sizes(cfg, a.batch, a.quick)
    k, E = cfg["moe"]["top_k"], len(cfg["moe"]["experts"])
    sdpa = sdpa_core if HAS_SDPA else golden_attention.softmax_attention
    manual = golden_attention.softmax_attention
    bench = Bench(dev, warmup, reps, a.tsv, a.only)

    where = f"{torch.cuda.get_device_name(dev)}, cuDNN {torch.backends.cudnn.version()}" if dev.type == "cuda" else "CPU"
    print(f"bench_moe_torch: torch {torch.__version__}, {dev} ({where}), tf32 {a.tf32}, {warmup} warm-up + {reps} "
          f"timed calls, median and min in ms, forward+backward in training mode"
          + (" (--quick: tiny shapes)" if a.quick else ""))
    print("expert pool (camoxpert-pvt-b2): " + ", ".join(cfg["moe"]["experts"]) + f"; top-{k}")
    uniform = uniform_routing(s["batch"], k, E)
    print(f"routing \"uniform\" (frozen, seeded): {routing_note(uniform, s['batch'], k, E)}")
    trained = recorded_routing(a.routing_file, a.routing_batch, s["batch"], E, k) if a.routing_file else None
    print("attention core: " + ("torch.nn.functional.scaled_dot_product_attention" if HAS_SDPA else
                                "NOTE: this PyTorch has no scaled SDPA (needs 2.1), so the rows named like cuttle's "
                                "use the manual softmax(QK^T)V core too") + "\n")

    print("== SparseMoE per scale of camoxpert-pvt-b2 ==")
    moe_header()
    for i in range(4):
        moe_rows(bench, cfg, f"s{i + 1}", s["dims"][i], s["maps"][i], cfg["moe"]["sr_ratios"][i], s["batch"], uniform,
                 "uniform", sdpa)
    if trained:
        print("\n== SparseMoE per scale of camoxpert-pvt-b2, the recorded (trained) routing ==")
        moe_header()
        for i in range(4):
            moe_rows(bench, cfg, f"s{i + 1}", s["dims"][i], s["maps"][i], cfg["moe"]["sr_ratios"][i], s["batch"],
                     trained[i], "trained", sdpa)

    sr3 = cfg["moe"]["sr_ratios"][2]  # 22x22 is the stride-16 scale
    print(f"\n== SparseMoE, the original's benchmark shape (dim {s['orig_dim']}, {s['orig_map']}x{s['orig_map']}, "
          f"sr {sr3}) ==")
    for B in s["orig_batches"]:
        print(f"routing at batch {B}: {routing_note(uniform_routing(B, k, E), B, k, E)}")
    moe_header()
    for B in s["orig_batches"]:
        moe_rows(bench, cfg, "orig", s["orig_dim"], s["orig_map"], sr3, B, uniform_routing(B, k, E), "uniform", sdpa)

    print("\n== attention: PVTv2-b2 spatial-reduction attention per stage, CODAttention per MoE scale ==")
    print(f"| {'op':32} | {'shape':30} | median ms |    min ms | peak MiB |")
    print(f"|{'-' * 34}|{'-' * 32}|-----------|-----------|----------|")
    B = s["batch"]
    for i in range(4):
        dim, hw, heads, sr = s["dims"][i], s["maps"][i], PVT_B2_HEADS[i], PVT_B2_SR[i]
        N, M, d = hw * hw, (hw // sr) ** 2, dim // heads
        shape = f"[{B},{N},{dim}] h{heads} sr{sr}"
        for op, core in (("SRA module", sdpa), ("SRA module, manual core", manual)):
            attention_row(bench, op, shape, lambda: sra_step(dim, heads, sr, hw, B, dev), core)
        shape = f"q[{B},{heads},{N},{d}] kv{M}"
        for op, core in (("attention core", sdpa), ("attention core, manual", manual)):
            attention_row(bench, op, shape, lambda: core_step(B, heads, N, M, d, dev), core)
    for i in range(4):
        dim, hw, sr = s["dims"][i], s["maps"][i], cfg["moe"]["sr_ratios"][i]
        shape = f"[{B},{dim},{hw},{hw}] h{cod_heads(dim)} sr{sr}"
        for op, core in (("CODAttention expert", sdpa), ("CODAttention expert, manual core", manual)):
            attention_row(bench, op, shape, lambda: cod_attention_step(dim, sr, hw, B, dev), core)
    return 0


if __name__ == "__main__":
    sys.exit(main())
