#!/usr/bin/env python3
"""Dev-only: sums an ncu CSV (ncu --csv --metrics gpu__time_duration.sum <app>) by kernel name and prints
the kernels that took the most device time: calls, total ms, mean us, share. --steps divides the totals
by the number of profiled steps.

  ncu --csv --metrics gpu__time_duration.sum build-cuda/bin/bench_moe ... > prof.csv
  python3 tools/ncu_top_kernels.py prof.csv --steps 2 --top 25
"""
import argparse
import collections
import csv
import io

SCALE_TO_MS = {"ns": 1e-6, "nsecond": 1e-6, "us": 1e-3, "usecond": 1e-3, "ms": 1.0, "msecond": 1.0}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv")
    ap.add_argument("--steps", type=float, default=1.0)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--width", type=int, default=90, help="kernel names are cut to this many characters")
    a = ap.parse_args()
    text = open(a.csv, errors="replace").read()
    start = text.find('"ID"')  # ncu prints its own log lines before the table
    rows = csv.DictReader(io.StringIO(text[start:] if start >= 0 else text))
    total = collections.defaultdict(float)
    calls = collections.Counter()
    for r in rows:
        if r.get("Metric Name") != "gpu__time_duration.sum":
            continue
        try:
            v = float(r["Metric Value"].replace(",", ""))
        except ValueError:
            continue
        name = r["Kernel Name"]
        total[name] += v * SCALE_TO_MS.get(r.get("Metric Unit", "ns"), 1e-6)
        calls[name] += 1
    all_ms = sum(total.values())
    print(f"{sum(calls.values()) / a.steps:.0f} kernels, {all_ms / a.steps:.3f} ms of kernel time per step")
    print("calls/step\tms/step\tmean us\tshare\tkernel")
    for name, ms in sorted(total.items(), key=lambda kv: -kv[1])[: a.top]:
        n = calls[name]
        print(f"{n / a.steps:.0f}\t{ms / a.steps:.3f}\t{1e3 * ms / n:.1f}\t{100 * ms / all_ms:.1f}%\t{name[: a.width]}")


if __name__ == "__main__":
    main()
