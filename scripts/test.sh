#!/usr/bin/env bash
# Installs, builds the CPU-only configuration and runs every test (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install_deps.sh
start=$(date +%s)
CUTTLE_CUDA=OFF ./scripts/build.sh
echo "test.sh: build took $(( $(date +%s) - start )) s"
start=$(date +%s)
ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 900
echo "test.sh: tests took $(( $(date +%s) - start )) s"
