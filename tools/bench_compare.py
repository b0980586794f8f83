#!/usr/bin/env python3
"""Joins the TSV rows of `bench_ops --list model --tsv` (cuttle) and tools/bench_ops_torch.py --tsv
(PyTorch) on (op, input, pass) and prints one markdown table: both medians, the ratio cuttle/PyTorch
(< 1: cuttle faster), and for memory-bound ops each side's effective bandwidth as a percentage of its
own measured device-to-device copy. Standard library only; a missing PyTorch file gives n/a columns.
Also joins apps/bench_moe's rows (tools/bench_moe_torch.py): with no copy row on either side the
bandwidth columns are left out, and a peak_mib column adds each side's peak device memory.
"""
import csv
import sys


def load(path):
    rows = {}
    if not path:
        return rows, []
    try:
        with open(path, newline="") as f:
            order = []
            for r in csv.DictReader(f, delimiter="\t"):
                key = (r["op"], r["shape"], r["pass"])
                rows[key] = r
                order.append(key)
            return rows, order
    except OSError as e:
        print(f"bench_compare: {e}", file=sys.stderr)
        return {}, []


def ms(r):
    try:
        return float(r["median_ms"]) if r else None
    except ValueError:
        return None


def copy_gbs(rows):
    for (op, _, _), r in rows.items():
        if op.startswith("copy") and ms(r):
            return float(r["bytes"]) / (ms(r) * 1e-3) / 1e9
    return None


def pct(r, ref):
    m = ms(r)
    if not m or not ref or not r or float(r["bytes"]) <= 0:
        return "-"
    return f"{100 * float(r['bytes']) / (m * 1e-3) / 1e9 / ref:.0f}%"


def main():
    if len(sys.argv) < 2:
        print("usage: bench_compare.py CUTTLE.tsv [TORCH.tsv]", file=sys.stderr)
        return 2
    cut, order = load(sys.argv[1])
    tor, torder = load(sys.argv[2] if len(sys.argv) > 2 else "")
    cref, tref = copy_gbs(cut), copy_gbs(tor)
    bw = bool(cref or tref)
    mem = any("peak_mib" in r for r in list(cut.values()) + list(tor.values()))
    gb = lambda v: f"{v:.0f} GB/s" if v else "n/a"
    if bw:
        print(f"copy bandwidth (device to device): cuttle {gb(cref)}, PyTorch {gb(tref)}")
        print()
    head = ["op", "input", "pass", "cuttle ms", "PyTorch ms", "cuttle/PyTorch"]
    head += ["cuttle % copy bw", "PyTorch % copy bw"] if bw else []
    head += ["cuttle peak MiB", "PyTorch peak MiB"] if mem else []
    print("| " + " | ".join(head) + " |")
    print("|---|---|---|" + "---:|" * (len(head) - 3))
    for key in order + [k for k in torder if k not in cut]:
        c, t = cut.get(key), tor.get(key)
        cm, tm = ms(c), ms(t)
        ratio = f"{cm / tm:.2f}" if cm and tm else "n/a"
        fmt = lambda v: f"{v:.3f}" if v else "n/a"
        cells = [*key, fmt(cm), fmt(tm), ratio]
        cells += [pct(c, cref), pct(t, tref)] if bw else []
        cells += [(r or {}).get("peak_mib") or "-" for r in (c, t)] if mem else []
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
