#!/usr/bin/env bash
# Runs on the GPU machine against a CUDA build folder (default build-cuda/, carried or built there):
# how long the host takes to issue a batched MoE step, and where that time goes. Most important first
# (device time is short): the gpu tests (default settings); the batched and dense_soft MoE rows, two
# rounds of each thread setting (none; the experts' forward and backward issued by the slot workers:
# CUTTLE_FORWARD_THREADS, CUTTLE_BACKWARD_THREADS); bench_moe's host anatomy of the s2 batched step;
# the host and device time of each cuDNN engine the plan search times at s2; the host probe
# (tools/host_cost_probe.cu: launch, event, memset, cublasGemmEx against cublasLtMatmul).
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-cuda}
b=$build/bin
export CUTTLE_TEST_DIR="$PWD/tests"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
lscpu | grep -E "Model name" || true
echo "kernel $(uname -r)"  # 4.4.0 is the gVisor runtime (device KINDS.md), 6.x Firecracker
tests() { "$b/cuttle_tests" -ts=gpu "$@" 2>&1 | grep -E "ERROR|FAILED|test cases|assertions|Status" | head -40; }
# ROUNDS=1 FOCUS=1 (little device time left): the tests of the latest host-side changes first, one
# round of rows, the anatomy, then the whole gpu suite.
focus='cuda copies round-trip*,slot tables*,*variant pack*,SparseMoE experts on side streams*,SparseMoE on side streams*,sanitize: cudnn graph and legacy*,cuda matmul*,cuBLASLt*'
if [ -n "${FOCUS:-}" ]; then tests -tc="$focus"; else tests; fi
rows() {  # forward threads, backward threads, label
  echo "=== MoE rows, $3, forward threads $1, backward threads $2"
  CUTTLE_FORWARD_THREADS=$1 CUTTLE_BACKWARD_THREADS=$2 "$b/bench_moe" --device cuda --tf32 off --warmup 3 --reps 11 \
    --only "batched (uniform) [16,|dense_soft (uniform) [16," | grep "^|" | grep -v -- "---"
}
for round in $(seq 1 "${ROUNDS:-2}"); do
  rows 0 0 "round $round"
  rows 1 1 "round $round"
done
[ -n "${ALSO_BACKWARD_ONLY:-}" ] && rows 0 1 "backward only"
echo "=== host anatomy (one thread: a trace keeps the ops on the calling thread)"
"$b/bench_moe" --device cuda --tf32 off --op-host-times --warmup 5 --reps 10 --only "s2 batched"
[ -n "${FOCUS:-}" ] && { echo "=== the whole gpu suite"; tests; exit 0; }
echo "=== cuDNN engines timed at s2 (plan search 4): device and host per call"
CUTTLE_CUDNN_LOG=1 "$b/bench_moe" --device cuda --tf32 off --cudnn-plan-search 4 --warmup 1 --reps 2 \
  --only "s2 batched" 2>&1 | grep -E "engine [0-9]+: device|timed" | sed "s/cuttle cudnn plan: *//" | head -80
if nvcc -O2 -arch=sm_90 -o /tmp/host_cost_probe tools/host_cost_probe.cu -lcublas -lcublasLt; then
  /tmp/host_cost_probe
fi
