#!/usr/bin/env bash
# Runs on the GPU machine against a CUDA build folder (default build-cuda/, carried or built there):
# measures the two host-cost switches (CUTTLE_CUBLASLT, CUTTLE_CHANNEL_REDUCE_ONE_LAUNCH; both on by
# default, =0 turns one off).
# The gpu tests with both on; the host probe (tools/host_cost_probe.cu: launch, event, memset,
# cublasGemmEx against cublasLtMatmul with a kept algorithm); bench_moe's host anatomy of the s2
# batched step with both off and on; then the batched and dense_soft MoE rows, alternating off and on.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-cuda}
b=$build/bin
export CUTTLE_TEST_DIR="$PWD/tests"
CUTTLE_CUBLASLT=1 CUTTLE_CHANNEL_REDUCE_ONE_LAUNCH=1 "$b/cuttle_tests" -ts=gpu 2>&1 |
  grep -E "ERROR|FAILED|test cases|assertions|Status" | head -40
if nvcc -O2 -arch=sm_90 -o /tmp/host_cost_probe tools/host_cost_probe.cu -lcublas -lcublasLt; then
  /tmp/host_cost_probe
fi
anatomy() { "$b/bench_moe" --device cuda --tf32 off --op-host-times --warmup 5 --reps 10 --only "s2 batched"; }
echo "=== host anatomy, both switches off"; CUTTLE_CUBLASLT=0 CUTTLE_CHANNEL_REDUCE_ONE_LAUNCH=0 anatomy
echo "=== host anatomy, both switches on"; CUTTLE_CUBLASLT=1 CUTTLE_CHANNEL_REDUCE_ONE_LAUNCH=1 anatomy
for round in 1 2 3; do
  for on in 0 1; do
    echo "=== MoE rows, round $round, both switches $on"
    CUTTLE_CUBLASLT=$on CUTTLE_CHANNEL_REDUCE_ONE_LAUNCH=$on "$b/bench_moe" --device cuda --tf32 off --warmup 3 \
      --reps 11 --only "batched (uniform) [16,|dense_soft (uniform) [16," | grep "^|" | grep -v -- "---"
  done
done
