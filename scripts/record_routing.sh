#!/usr/bin/env bash
# Records a trained camoxpert-pvt-b2's routing for bench_moe --routing-file (issue: the MoE benchmark
# "under a trained model's routing"): trains the model with train_cod on the built-in synthetic scenes
# (no dataset needed; EPOCHS epochs of SCENES scenes, backbone frozen for the first epoch), then runs
# infer_cod --routing-out over IMAGES fresh synthetic test scenes and writes the experts every MoE chose
# for every image to OUT (models/routing_record.h). Meant for the GPU machine (a few minutes there);
# on a CPU it takes hours.
#   scripts/record_routing.sh [build-dir] [out.safetensors]
#   EPOCHS=6 SCENES=1024 IMAGES=64 scripts/record_routing.sh build-cuda runs/routing-pvt-b2.safetensors
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-cuda}
out=${2:-runs/routing-pvt-b2.safetensors}
epochs=${EPOCHS:-6}
scenes=${SCENES:-1024}
images=${IMAGES:-64}
run="runs/routing-pvt-b2-train"
rm -rf "$run" "$run-data" "$run-pred"
"$build/bin/train_cod" --config camoxpert-pvt-b2 --out "$run" --epochs "$epochs" --quiet \
  --set train.synthetic_size="$scenes" --set train.val_size=64 \
  --set train.warmup_epochs=1 --set train.freeze_backbone_epochs=1
"$build/bin/export_synthetic" --out "$run-data" --train 0 --test "$images" --seed 7 > /dev/null
"$build/bin/infer_cod" --checkpoint "$run" --input "$run-data" --output "$run-pred" --routing-out "$out"
