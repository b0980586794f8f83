#!/usr/bin/env bash
# Dev-only, on the GPU machine: a quicker check than gpu_check.sh for weighing one change: the gpu
# tests, memcheck over the sanitize cases matching $SANITIZE (default all), then the MoE benchmark and
# the whole-model training/inference benchmark under each variant, alternating so drift hits all alike,
# and PyTorch's whole-model figures once. A variant is NAME or NAME:ENV=VALUE,...:FLAGS (flags for the
# cuttle benchmarks, spaces as '+'), e.g.
#   scripts/gpu_variants_check.sh build-cuda base nogemm:CUTTLE_GEMM_CONV=0: search4::--cudnn-plan-search+4
# Rows land in $OUT/variants (or build/variants) as <variant>_{moe,cod}_<round>.tsv. ROUTING_FILE=path
# (scripts/record_routing.sh) adds bench_moe's rows under that recorded routing; MOE_ONLY=text passes
# --only to bench_moe (e.g. "batched (uniform) [16,|dense_soft (uniform) [16,"); SKIP_TESTS=1 skips the
# tests and memcheck (a later call on an unchanged build); TORCH=0 skips PyTorch's whole-model run.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-cuda}
shift || true
variants=("${@:-base}")
dir=${OUT:-$build}/variants
mkdir -p "$dir"
export CUTTLE_TEST_DIR="$PWD/tests"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
if [ "${SKIP_TESTS:-0}" != 1 ]; then
start=$(date +%s)
"$build/bin/cuttle_tests" -ts=gpu > "$dir/gpu_tests.log" 2>&1 && echo "PASS gpu tests ($(( $(date +%s) - start )) s)" ||
  { echo "FAIL gpu tests"; grep -B2 -A12 "ERROR\|FATAL" "$dir/gpu_tests.log" | head -80; }
if command -v compute-sanitizer >/dev/null; then
  start=$(date +%s)
  compute-sanitizer --tool memcheck --report-api-errors no --error-exitcode 1 "$build/bin/cuttle_tests" -ts=gpu \
    -tc="${SANITIZE:-sanitize:*}" > "$dir/sanitize.log" 2>&1 && echo "PASS memcheck ($(( $(date +%s) - start )) s)" ||
    { echo "FAIL memcheck"; tail -40 "$dir/sanitize.log"; }
fi
fi
moe_args=()
[ -n "${ROUTING_FILE:-}" ] && moe_args=(--routing-file "$ROUTING_FILE")
[ -n "${MOE_ONLY:-}" ] && moe_args+=(--only "$MOE_ONLY")
run_variant() {  # name, env list, flags, round
  local envs=() flags=()
  [ -n "$2" ] && IFS=',' read -ra envs <<< "$2"
  [ -n "$3" ] && read -ra flags <<< "${3//+/ }"
  env "${envs[@]}" "$build/bin/bench_moe" --device cuda --tf32 off --warmup 3 --reps 11 "${flags[@]}" \
    "${moe_args[@]}" --tsv "$dir/$1_moe_$4.tsv" > "$dir/$1_moe_$4.log" 2>&1 || echo "FAIL bench_moe $1"
  env "${envs[@]}" "$build/bin/bench_cod" --device cuda "${flags[@]}" --tsv "$dir/$1_cod_$4.tsv" \
    > "$dir/$1_cod_$4.log" 2>&1 || echo "FAIL bench_cod $1"
}
for round in ${ROUNDS:-1 2}; do
  for v in "${variants[@]}"; do
    IFS=':' read -r name envs flags <<< "$v"
    run_variant "$name" "${envs:-}" "${flags:-}" "$round"
  done
done
if [ "${TORCH:-1}" = 1 ] && python3 -c 'import torch' 2>/dev/null; then
  python3 tools/bench_cod_torch.py --tsv "$dir/torch_cod.tsv" > "$dir/torch_cod.log" 2>&1 || echo "FAIL bench_cod_torch"
fi
echo
echo "== median ms per variant and round (MoE forward+backward, then the whole model) =="
python3 - "$dir" <<'PY'
import glob, os, sys, collections
d = sys.argv[1]
def rows(path):
    out, lines = {}, open(path).read().splitlines()
    head = lines[0].split("\t")
    at = head.index("median_ms")
    for line in lines[1:]:
        f = line.split("\t")
        out[" ".join(f[:at])] = float(f[at])
    return out
for kind in ("moe", "cod"):
    table = collections.OrderedDict()
    for p in sorted(glob.glob(os.path.join(d, f"*_{kind}_*.tsv"))):
        table[os.path.basename(p)[:-4]] = rows(p)
    if os.path.exists(os.path.join(d, f"torch_{kind}.tsv")):
        table["torch"] = rows(os.path.join(d, f"torch_{kind}.tsv"))
    keys = [k for k in next(iter(table.values()), {}) if "per_sample" not in k] if table else []
    print("\t".join(["row"] + list(table)))
    for k in keys:
        print("\t".join([k] + ["%.2f" % t[k] if k in t else "-" for t in table.values()]))
    print()
PY
