#!/usr/bin/env python3
"""PyTorch twin of `bench_ops --list model` (apps/bench_model_ops.h): the same ops, shapes and pass
names, timed the same way (warm-up, then CUDA events around each call, median of N), written to the
same TSV columns for tools/bench_compare.py. Dev-only: PyTorch is never a dependency of cuttle.

Forward passes run under no_grad (cuttle's engine ops record nothing); a backward pass is
torch.autograd.grad over the inputs and parameters of one recorded forward (retain_graph), which is
what eager training runs. TF32 is off (cuttle's default); --tf32 and --cudnn-benchmark change that.
"""
import argparse
import math
import sys

import torch
import torch.nn.functional as F


def shape_text(s):
    return "[" + ",".join(str(int(v)) for v in s) + "]"


class Pass:
    def __init__(self, op, shape, pass_name, nbytes, prepare):
        self.op, self.shape, self.pass_name, self.bytes, self.prepare = op, shape, pass_name, nbytes, prepare


def inp(shape, std, dev, seed, grad=False):
    g = torch.Generator(device="cpu").manual_seed(seed)
    t = (torch.randn(*shape, generator=g) * std).to(dev)
    return t.requires_grad_(grad)


def backward_of(fn, inputs, gy):
    """A call computing the gradients of fn(*inputs) for gy through autograd."""
    y = fn(*inputs)
    return lambda: torch.autograd.grad(y, inputs, gy, retain_graph=True)


def add_conv(out, dev, n, c, hw, o, k, dil, groups):
    pad = dil * (k - 1) // 2
    xs, ws = (n, c, hw, hw), (o, c // groups, k, k)
    op = f"conv{k}x{k} {c}->{o}" + (f" dil{dil}" if dil > 1 else "") + (f" g{groups}" if groups > 1 else "")
    f = lambda x, w, b: F.conv2d(x, w, b, padding=pad, dilation=dil, groups=groups)

    def fwd():
        x, w, b = inp(xs, 1, dev, 1), inp(ws, 0.05, dev, 2), inp((o,), 0.05, dev, 3)
        return lambda: f(x, w, b)

    def bwd():
        x, w, b = inp(xs, 1, dev, 1, True), inp(ws, 0.05, dev, 2, True), inp((o,), 0.05, dev, 3, True)
        with torch.no_grad():
            oshape = f(x, w, b).shape
        return backward_of(f, (x, w, b), inp(oshape, 1, dev, 4))

    out += [Pass(op, shape_text(xs), "forward", 0, fwd), Pass(op, shape_text(xs), "backward", 0, bwd)]


def add_bn_relu(out, dev, s):
    c, nb = s[1], s[0] * s[1] * s[2] * s[3] * 4

    def make(grad):
        x = inp(s, 1, dev, 5, grad)
        w = torch.ones(c, device=dev, requires_grad=grad)
        b = torch.zeros(c, device=dev, requires_grad=grad)
        rm, rv = torch.zeros(c, device=dev), torch.ones(c, device=dev)
        f = lambda x, w, b: F.relu(F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.1, eps=1e-5))
        return f, (x, w, b)

    def fwd():
        f, a = make(False)
        return lambda: f(*a)

    def bwd():
        f, a = make(True)
        return backward_of(f, a, inp(s, 1, dev, 6))

    op = "batch_norm+relu (train)"
    out += [Pass(op, shape_text(s), "forward", 2 * nb, fwd), Pass(op, shape_text(s), "backward", 3 * nb, bwd)]


def add_layer_norm2d(out, dev, s):
    c, nb = s[1], s[0] * s[1] * s[2] * s[3] * 4
    # timm's LayerNorm2d: permute to NHWC, layer_norm over C, permute back.
    f = lambda x, w, b: F.layer_norm(x.permute(0, 2, 3, 1), (c,), w, b, 1e-6).permute(0, 3, 1, 2)

    def make(grad):
        return (inp(s, 1, dev, 7, grad), torch.ones(c, device=dev, requires_grad=grad),
                torch.zeros(c, device=dev, requires_grad=grad))

    def fwd():
        a = make(False)
        return lambda: f(*a)

    def bwd():
        return backward_of(f, make(True), inp(s, 1, dev, 8))

    out += [Pass("layer_norm2d", shape_text(s), "forward", 2 * nb, fwd),
            Pass("layer_norm2d", shape_text(s), "backward", 3 * nb, bwd)]


def add_unary(out, dev, name, f, s):
    nb = s[0] * s[1] * s[2] * s[3] * 4

    def fwd():
        x = inp(s, 1, dev, 9)
        return lambda: f(x)

    def bwd():
        return backward_of(f, (inp(s, 1, dev, 9, True),), inp(s, 1, dev, 10))

    out += [Pass(name, shape_text(s), "forward", 2 * nb, fwd), Pass(name, shape_text(s), "backward", 3 * nb, bwd)]


def add_upsample(out, dev, s):
    os_ = (s[0], s[1], 2 * s[2], 2 * s[3])
    nb = (s[0] * s[1] * s[2] * s[3] + os_[0] * os_[1] * os_[2] * os_[3]) * 4
    f = lambda x: F.interpolate(x, size=os_[2:], mode="bilinear", align_corners=False)

    def fwd():
        x = inp(s, 1, dev, 11)
        return lambda: f(x)

    def bwd():
        return backward_of(f, (inp(s, 1, dev, 11, True),), inp(os_, 1, dev, 12))

    out += [Pass("bilinear x2", shape_text(s), "forward", nb, fwd),
            Pass("bilinear x2", shape_text(s), "backward", nb, bwd)]


def add_softmax(out, dev, s):
    nb = s[0] * s[1] * s[2] * 4
    f = lambda x: torch.softmax(x, -1)

    def fwd():
        x = inp(s, 1, dev, 13)
        return lambda: f(x)

    def bwd():
        return backward_of(f, (inp(s, 1, dev, 13, True),), inp(s, 1, dev, 14))

    out += [Pass("softmax (last axis)", shape_text(s), "forward", 2 * nb, fwd),
            Pass("softmax (last axis)", shape_text(s), "backward", 3 * nb, bwd)]


def model_passes(dev, n):
    out = []
    cs = (n, 64, 352, 352)

    def copy():
        src, dst = inp(cs, 1, dev, 15), torch.empty(cs, device=dev)
        return lambda: dst.copy_(src)

    out.append(Pass("copy (reference)", shape_text(cs), "d2d", 2 * n * 64 * 352 * 352 * 4, copy))
    add_conv(out, dev, n, 64, 88, 64, 3, 1, 1)
    add_conv(out, dev, n, 64, 176, 64, 3, 1, 1)
    add_conv(out, dev, n, 64, 352, 64, 3, 1, 1)
    add_conv(out, dev, n, 128, 176, 64, 3, 1, 1)
    add_conv(out, dev, n, 66, 352, 64, 3, 1, 1)
    add_conv(out, dev, n, 64, 88, 16, 5, 1, 1)
    add_conv(out, dev, n, 64, 88, 16, 7, 1, 1)
    for dil in (1, 2, 4, 8):
        add_conv(out, dev, n, 16, 88, 16, 3, dil, 1)
    add_conv(out, dev, n, 512, 88, 512, 3, 1, 512)
    add_conv(out, dev, n, 64, 88, 64, 5, 1, 64)
    add_conv(out, dev, n, 64, 88, 64, 1, 1, 1)
    add_conv(out, dev, n, 64, 88, 16, 1, 1, 1)
    add_conv(out, dev, n, 64, 352, 1, 1, 1, 1)
    add_bn_relu(out, dev, (n, 64, 88, 88))
    add_bn_relu(out, dev, (n, 64, 352, 352))
    add_layer_norm2d(out, dev, (n, 64, 88, 88))
    add_unary(out, dev, "gelu", lambda x: F.gelu(x), (n, 512, 88, 88))
    add_unary(out, dev, "relu", F.relu, (n, 64, 352, 352))
    adds = (n, 64, 352, 352)

    bas = (n, 512, 88, 88)

    def bias_gelu(x, b):
        return F.gelu(x + b.view(1, -1, 1, 1))

    def bias_gelu_fwd():
        x, b = inp(bas, 1, dev, 22), inp((512,), 1, dev, 23)
        return lambda: bias_gelu(x, b)

    def bias_gelu_bwd():
        return backward_of(bias_gelu, (inp(bas, 1, dev, 22, True), inp((512,), 1, dev, 23, True)), inp(bas, 1, dev, 24))

    out += [Pass("bias+gelu", shape_text(bas), "forward", 2 * math.prod(bas) * 4, bias_gelu_fwd),
            Pass("bias+gelu", shape_text(bas), "backward", 3 * math.prod(bas) * 4, bias_gelu_bwd)]

    def add():
        a, b = inp(adds, 1, dev, 16), inp(adds, 1, dev, 17)
        return lambda: torch.add(a, b)

    out.append(Pass("add", shape_text(adds), "forward", 3 * n * 64 * 352 * 352 * 4, add))
    add_upsample(out, dev, (n, 128, 88, 88))
    add_upsample(out, dev, (n, 64, 176, 176))
    add_softmax(out, dev, (n, 7744, 121))
    bcs, toks, mlps = (n, 64, 352, 352), (n, 7744, 64), (n, 512, 7744)

    def bcast_add():
        a, b = inp(bcs, 1, dev, 18), inp((1, 64, 1, 1), 1, dev, 19)
        return lambda: torch.add(a, b)

    def transpose_copy():
        a = inp(toks, 1, dev, 20)
        return lambda: a.transpose(1, 2).contiguous()

    def gelu_view():
        a = inp(mlps, 1, dev, 21)
        return lambda: F.gelu(a.transpose(1, 2))

    out.append(Pass("add (channel broadcast)", shape_text(bcs), "forward", 2 * math.prod(bcs) * 4, bcast_add))
    out.append(Pass("transpose(1,2) copy", shape_text(toks), "forward", 2 * math.prod(toks) * 4, transpose_copy))
    out.append(Pass("gelu (transposed view)", shape_text(mlps), "forward", 2 * math.prod(mlps) * 4, gelu_view))
    return out


def time_it(fn, warmup, reps, dev):
    for _ in range(warmup):
        fn()
    ms = []
    if dev.type == "cuda":
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize(dev)
        for _ in range(reps):
            start.record()
            fn()
            stop.record()
            stop.synchronize()
            ms.append(start.elapsed_time(stop))
    else:
        import time
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    return ms[len(ms) // 2], ms[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--reps", type=int, default=21)
    ap.add_argument("--tsv", default="")
    ap.add_argument("--only", default="", help='run only the rows whose "op shape pass" contains this text '
                    "(or one of several separated by '|')")
    ap.add_argument("--tf32", action="store_true", help="allow TF32 in cuDNN and cuBLAS")
    ap.add_argument("--cudnn-benchmark", action="store_true", help="torch.backends.cudnn.benchmark = True")
    a = ap.parse_args()
    dev = torch.device(a.device)
    torch.backends.cudnn.allow_tf32 = a.tf32
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.backends.cudnn.benchmark = a.cudnn_benchmark
    print(f"bench_ops_torch: torch {torch.__version__}, {dev}"
          + (f" ({torch.cuda.get_device_name(dev)}, cuDNN {torch.backends.cudnn.version()})" if dev.type == "cuda" else "")
          + f", batch {a.batch}, tf32 {a.tf32}, cudnn.benchmark {a.cudnn_benchmark}\n")
    tsv = open(a.tsv, "w") if a.tsv else None
    if tsv:
        tsv.write("op\tshape\tpass\tmedian_ms\tmin_ms\tbytes\n")
    print(f"| {'op':26} | {'input':18} | {'pass':8} | {'median ms':>9} | {'min ms':>9} | {'GB/s':>7} |")
    for p in model_passes(dev, a.batch):
        if a.only and not any(piece and piece in f"{p.op} {p.shape} {p.pass_name}" for piece in a.only.split("|")):
            continue
        med = mn = "n/a"
        gbs = "-"
        try:
            fn = p.prepare()
            if p.pass_name != "backward":
                inner = fn
                fn = lambda: _no_grad(inner)
            m, lo = time_it(fn, a.warmup, a.reps, dev)
            med, mn = f"{m:.4f}", f"{lo:.4f}"
            if p.bytes:
                gbs = f"{p.bytes / (m * 1e-3) / 1e9:.0f}"
        except RuntimeError as e:
            print(f"bench_ops_torch: {p.op} {p.shape} {p.pass_name}: n/a ({str(e)[:160]})", file=sys.stderr)
        print(f"| {p.op:26} | {p.shape:18} | {p.pass_name:8} | {med:>9} | {mn:>9} | {gbs:>7} |", flush=True)
        if tsv:
            tsv.write(f"{p.op}\t{p.shape}\t{p.pass_name}\t{med}\t{mn}\t{p.bytes}\n")
        fn = None
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    if tsv:
        tsv.close()


def _no_grad(fn):
    with torch.no_grad():
        return fn()


if __name__ == "__main__":
    main()
