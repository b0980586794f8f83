#!/usr/bin/env bash
# The main job on a fresh machine: install, build, then run the smoke trainer (a tiny CNN trained on
# generated data on the CPU, printing its loss as it falls). Arguments go to the trainer.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install_deps.sh
./scripts/build.sh
./build/bin/smoke_train "$@"
