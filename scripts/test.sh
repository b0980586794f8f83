#!/usr/bin/env bash
# Installs, builds the CPU-only configuration and runs every test (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install_deps.sh
start=$(date +%s)
CUTTLE_CUDA=OFF ./scripts/build.sh
echo "test.sh: build took $(( $(date +%s) - start )) s"
start=$(date +%s)
# Tests run side by side, each with its own OpenMP team, so the cores are oversubscribed: with
# OpenMP's default spin-waiting one test's idle threads burn the time slices another test needs
# (gradchecks went from ~2 s to ~25 s). Passive waiting yields the core instead.
OMP_WAIT_POLICY=passive ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 900
echo "test.sh: tests took $(( $(date +%s) - start )) s"
