#!/usr/bin/env bash
# Runs on the GPU machine against a build folder made with -DCUTTLE_CUDA=ON (default build-cuda/,
# built on a development machine with -DCMAKE_CUDA_ARCHITECTURES=90 and carried over): device facts,
# the gpu-labelled tests, the whole suite on that build, compute-sanitizer memcheck over the
# gpu-sanitize subset, the op benchmarks of cuttle and PyTorch on the model's shapes, the MoE and
# attention benchmarks of both, the whole-model benchmark of both, the PyTorch round trip of a trained
# checkpoint, a summary, and the two benchmark comparison tables last.
# gpu-sanitize: the test cases of the doctest suite "gpu" whose names start with "sanitize:" (a test
# case has one suite, and the gpu label must stay on every GPU test): small shapes, a few minutes under
# memcheck. Run them alone with: cuttle_tests -ts=gpu -tc='sanitize:*'. API errors are not reported:
# cuDNN probes some algorithms with calls that fail by design.
# Test executables are run directly (CTest files hold the build machine's absolute paths).
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-cuda}
export CUTTLE_TEST_DIR="$PWD/tests"  # the build's compiled-in path is the development machine's
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
summary=()
run() {
  local name=$1; shift
  local start=$(date +%s)
  if "$@"; then summary+=("PASS  $name ($(( $(date +%s) - start )) s)"); else summary+=("FAIL  $name"); fi
}
run "gpu tests" "$build/bin/cuttle_tests" -ts=gpu
run "all tests on the CUDA build" "$build/bin/cuttle_tests"
if command -v compute-sanitizer >/dev/null; then
  run "compute-sanitizer memcheck (gpu-sanitize)" compute-sanitizer --tool memcheck --report-api-errors no --error-exitcode 1 "$build/bin/cuttle_tests" -ts=gpu -tc='sanitize:*'
fi
# Op benchmarks on the model's shapes (apps/bench_model_ops.h): cuttle, then the PyTorch twin in the same
# run where PyTorch is installed; the comparison table is printed last. Rows land in $bench_dir.
bench_dir=${GPU_CHECK_BENCH_DIR:-$build/gpu_check}
mkdir -p "$bench_dir"
rm -f "$bench_dir/bench_cuttle.tsv" "$bench_dir/bench_torch.tsv"
run "op benchmarks (cuttle)" "$build/bin/bench_ops" --device cuda --tsv "$bench_dir/bench_cuttle.tsv"
if python3 -c 'import torch' 2>/dev/null; then
  run "op benchmarks (PyTorch)" python3 tools/bench_ops_torch.py --tsv "$bench_dir/bench_torch.tsv"
else
  summary+=("SKIP  op benchmarks (PyTorch): python3 cannot import torch")
fi
# MoE (batched / per_sample / dense_soft, frozen uniform routing) and attention, forward+backward in training
# mode: apps/bench_moe.cpp and its PyTorch twin tools/bench_moe_torch.py, the same rows, TF32 off on both.
# ROUTING_FILE=path (scripts/record_routing.sh makes one) adds the MoE rows under that recorded routing.
rm -f "$bench_dir/moe_cuttle.tsv" "$bench_dir/moe_torch.tsv"
routing_args=()
if [ -n "${ROUTING_FILE:-}" ]; then routing_args=(--routing-file "$ROUTING_FILE"); fi
if [ -x "$build/bin/bench_moe" ]; then
  run "MoE and attention benchmarks (cuttle)" "$build/bin/bench_moe" --device cuda --tf32 off "${routing_args[@]}" --tsv "$bench_dir/moe_cuttle.tsv"
else
  summary+=("SKIP  MoE and attention benchmarks (cuttle): $build/bin/bench_moe not built")
fi
if python3 -c 'import torch' 2>/dev/null; then
  run "MoE and attention benchmarks (PyTorch)" python3 tools/bench_moe_torch.py --device cuda --tf32 off "${routing_args[@]}" --tsv "$bench_dir/moe_torch.tsv"
else
  summary+=("SKIP  MoE and attention benchmarks (PyTorch): python3 cannot import torch")
fi
# The whole model (apps/bench_cod.cpp, tools/bench_cod_torch.py): camoxpert-pvt-b2 at 352x352, training
# step and inference at batch 16 and 1, f32 with TF32 on both sides (the recipe's precision).
rm -f "$bench_dir/cod_cuttle.tsv"
if [ -x "$build/bin/bench_cod" ]; then
  run "whole-model benchmark (cuttle)" "$build/bin/bench_cod" --device cuda --tsv "$bench_dir/cod_cuttle.tsv"
fi
if python3 -c 'import torch' 2>/dev/null && [ -s "$bench_dir/cod_cuttle.tsv" ]; then
  run "whole-model benchmark (PyTorch) and comparison" python3 tools/bench_cod_torch.py --cuttle "$bench_dir/cod_cuttle.tsv"
fi
# Weights between cuttle and PyTorch: a trained checkpoint segments alike in both, both ways.
if python3 -c 'import torch, PIL' 2>/dev/null && [ -x "$build/bin/train_cod" ]; then
  run "PyTorch round trip of a trained checkpoint" scripts/gpu_pytorch_roundtrip_check.sh "$build"
else
  summary+=("SKIP  PyTorch round trip: python3 cannot import torch and PIL, or $build/bin/train_cod is missing")
fi
echo
echo "== gpu_check summary =="
printf '%s\n' "${summary[@]}"
if [ -s "$bench_dir/bench_cuttle.tsv" ]; then
  echo
  echo "== op benchmarks: cuttle vs PyTorch (median ms; ratio < 1: cuttle faster) =="
  python3 tools/bench_compare.py "$bench_dir/bench_cuttle.tsv" "$bench_dir/bench_torch.tsv"
fi
if [ -s "$bench_dir/moe_cuttle.tsv" ]; then
  echo
  echo "== MoE and attention benchmarks: cuttle vs PyTorch (forward+backward median ms; ratio < 1: cuttle faster) =="
  python3 tools/bench_compare.py "$bench_dir/moe_cuttle.tsv" "$bench_dir/moe_torch.tsv"
fi
