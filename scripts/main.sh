#!/usr/bin/env bash
# The main job on a fresh machine: install, build, train camoxpert-tiny with train_cod on the built-in
# synthetic data (CUDA when present, else the CPU), then segment a few freshly generated images with
# infer_cod and say where everything is. Arguments go to train_cod (e.g. --steps 100 for a quick look).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install_deps.sh
./scripts/build.sh
run="runs/main-$(date +%Y%m%d-%H%M%S)"
./build/bin/train_cod --out "$run" "$@"
# A few scenes the model never saw (the synthetic test split, 320x240: any size works), as a COD10K-style
# tree with masks, so infer_cod also prints their metrics.
./build/bin/export_synthetic --out "$run/demo-data" --train 0 --test 8 --height 240 --width 320 > /dev/null
./build/bin/infer_cod --checkpoint "$run" --input "$run/demo-data" --output "$run/demo-predictions" --overlay
echo
echo "run directory:     $run  (report.html, metrics.json, log.jsonl, checkpoint_best/, checkpoint_last/)"
echo "demo predictions:  $run/demo-predictions  (probability PNGs; overlay/ shows the objects found)"
