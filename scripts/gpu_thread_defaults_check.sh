#!/usr/bin/env bash
# Runs on the GPU machine against a CUDA build folder (default build-cuda/): the gpu suite with the
# default settings, then the MoE rows (batched and dense_soft at batch 16, uniform routing) and the
# whole model's training step at batch 16 with the slot worker threads on (the default) and off
# (CUTTLE_FORWARD_THREADS=0 CUTTLE_BACKWARD_THREADS=0), alternating, ROUNDS times (default 2).
# Carry build-cuda/bin/{cuttle_tests,bench_moe,bench_cod}, build-cuda/lib and .carry (see
# scripts/device_session.sh), or let device_session.sh build there.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-cuda}
b=$build/bin
export CUTTLE_TEST_DIR="$PWD/tests"
off="CUTTLE_FORWARD_THREADS=0 CUTTLE_BACKWARD_THREADS=0"
nvidia-smi --query-gpu=name --format=csv,noheader || true
echo "kernel $(uname -r)"
"$b/cuttle_tests" -ts=gpu 2>&1 | grep -E "ERROR|FAILED|test cases|assertions|Status" | head -30
rows() {  # label, environment
  echo "=== MoE rows, threads $1"
  env $2 "$b/bench_moe" --device cuda --tf32 off --warmup 3 --reps 11 \
    --only "batched (uniform) [16,|dense_soft (uniform) [16," 2>/dev/null | grep "^| s\|^| orig"
}
model() {  # label, environment
  echo "=== whole model, threads $1"
  env $2 "$b/bench_cod" --device cuda --batch 16 --reps 10 2>/dev/null | grep "^|" | tail -2
}
for round in $(seq 1 "${ROUNDS:-2}"); do
  rows default X=1
  rows off "$off"
done
for round in $(seq 1 "${ROUNDS:-2}"); do
  model default X=1
  model off "$off"
done
