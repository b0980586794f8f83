#!/usr/bin/env bash
# Runs on the GPU machine against a CUDA build folder (default build-cuda/): the gpu suite with the
# default settings, then the MoE rows (batched and dense_soft at batch 16, uniform routing) and the
# whole model's training step at batch 16 with the slot worker threads on (the default) and off
# (CUTTLE_FORWARD_THREADS=0 CUTTLE_BACKWARD_THREADS=0), alternating, ROUNDS times (default 2).
# With TORCH=1 the PyTorch twin's step (tools/bench_cod_torch.py, batch 16) runs after each round of
# the whole model, so its ratio comes from the same minutes. With TRAINED=1 it then records a trained model's routing (scripts/record_routing.sh, EPOCHS=4
# SCENES=512 IMAGES=32, about 105 s on an H100) and runs the same MoE rows under it.
# Carry build-cuda/bin, build-cuda/lib and .carry (see scripts/device_session.sh), or let
# device_session.sh build there.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-cuda}
b=$build/bin
export CUTTLE_TEST_DIR="$PWD/tests"
off="CUTTLE_FORWARD_THREADS=0 CUTTLE_BACKWARD_THREADS=0"
nvidia-smi --query-gpu=name --format=csv,noheader || true
echo "kernel $(uname -r)"
"$b/cuttle_tests" -ts=gpu 2>&1 | grep -E "ERROR|FAILED|test cases|assertions|Status" | head -30
rows() {  # label, environment, extra bench_moe arguments
  echo "=== MoE rows, threads $1"
  env $2 "$b/bench_moe" --device cuda --tf32 off --warmup 3 --reps 11 "${@:3}" 2>/dev/null | grep "^| s\|^| orig"
}
uniform_rows=(--only "batched (uniform) [16,|dense_soft (uniform) [16,")
model() {  # label, environment
  echo "=== whole model, threads $1"
  env $2 "$b/bench_cod" --device cuda --batch 16 --reps 10 2>/dev/null | grep "^|" | tail -2
}
for round in $(seq 1 "${ROUNDS:-2}"); do
  rows default X=1 "${uniform_rows[@]}"
  rows off "$off" "${uniform_rows[@]}"
done
for round in $(seq 1 "${ROUNDS:-2}"); do
  model default X=1
  model off "$off"
  if [ "${TORCH:-0}" = 1 ]; then
    echo "=== whole model, PyTorch twin"
    python3 tools/bench_cod_torch.py --batch 16 --reps 10 2>/dev/null | grep "^|" | tail -2
  fi
done
[ "${TRAINED:-0}" = 1 ] || exit 0
routing=runs/routing-pvt-b2.safetensors
start=$(date +%s)
EPOCHS=4 SCENES=512 IMAGES=32 scripts/record_routing.sh "$build" "$routing" 2>&1 | tail -3
echo "recorded in $(( $(date +%s) - start )) s"
# On the device machine $OUT comes back: keep the recording (a few KB) for later runs and commits.
if [ -n "${OUT:-}" ]; then cp "$routing" "$OUT/"; fi
trained_rows=(--routing-file "$routing" --only "batched (trained)|dense_soft (trained)")
for round in $(seq 1 "${ROUNDS:-2}"); do
  rows "default, trained routing" X=1 "${trained_rows[@]}"
  rows "off, trained routing" "$off" "${trained_rows[@]}"
done
