#!/usr/bin/env bash
# Branch wip/unverified-gpu only: one GPU-machine call that checks and measures what this branch adds
# and was never run on a GPU (the per-channel broadcast kernel, the tiled transposing copy, convolutions
# through cuDNN's graph API). Run against a CUDA build of the branch carried to the GPU machine:
#   scripts/gpu_wip_check.sh [build-cuda]
# Prints the gpu tests' summary, the sanitizer result, and the op and whole-model tables with and
# without --cudnn-graph next to PyTorch.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-cuda}
out=${GPU_WIP_OUT:-$build/gpu_wip}
mkdir -p "$out"
export CUTTLE_TEST_DIR="$PWD/tests"
"$build/bin/cuttle_tests" -ts=gpu 2>&1 | grep -E "ERROR|FAILED|test cases|assertions|Status" | head -40
if command -v compute-sanitizer >/dev/null; then
  compute-sanitizer --tool memcheck --report-api-errors no --error-exitcode 1 "$build/bin/cuttle_tests" -ts=gpu \
    -tc='sanitize:*' > "$out/sanitize.txt" 2>&1
  echo "sanitizer exit $?: $(grep -E 'ERROR SUMMARY' "$out/sanitize.txt")"
fi
"$build/bin/bench_ops" --device cuda --tsv "$out/ops_legacy.tsv" > /dev/null 2>&1
"$build/bin/bench_ops" --device cuda --cudnn-graph --tsv "$out/ops_graph.tsv" > /dev/null 2>&1
python3 tools/bench_ops_torch.py --tsv "$out/ops_torch.tsv" > /dev/null 2>&1
echo "== ops, legacy cuDNN API vs PyTorch =="
python3 tools/bench_compare.py "$out/ops_legacy.tsv" "$out/ops_torch.tsv"
echo "== ops, cuDNN graph API vs PyTorch =="
python3 tools/bench_compare.py "$out/ops_graph.tsv" "$out/ops_torch.tsv" | grep -E "conv|copy|broadcast|transpose"
for mode in legacy graph; do
  flag=""; [ "$mode" = graph ] && flag="--cudnn-graph"
  "$build/bin/bench_cod" --device cuda --batch 16 $flag --tsv "$out/cod_$mode.tsv" 2>&1 | grep -E "first|^\| (train|infer)" | sed "s/^/$mode /"
done
python3 tools/bench_cod_torch.py --batch 16 --cuttle "$out/cod_legacy.tsv" 2>&1 | grep -E "first|^\| (train|infer)" | sed "s/^/torch /"
