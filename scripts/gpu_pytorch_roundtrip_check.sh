#!/usr/bin/env bash
# Runs on the GPU machine (PyTorch there): weights move between cuttle and PyTorch and segment alike.
#   cuttle -> PyTorch: train_cod trains camoxpert-pvt-b2 briefly on synthetic scenes; infer_cod and the
#     PyTorch twin (tools/pytorch_roundtrip.py predict) segment fresh scenes from that checkpoint, and
#     their 8-bit maps are compared.
#   PyTorch -> cuttle: the twin fine-tunes the checkpoint a few AdamW steps and writes its state as
#     safetensors; the twin and infer_cod segment the same scenes from that file, compared again, and
#     infer_cod's maps must have moved from the trained checkpoint's (it read the new file).
# Both sides run full f32 (train.tf32=false, so infer_cod runs the checkpoint without TF32 too), and
# the scenes are converted to PNG so both decoders see the same pixels.
#   scripts/gpu_pytorch_roundtrip_check.sh [build-dir]     (EPOCHS, SCENES, VAL, IMAGES override the sizes)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-cuda}
b=$build/bin
run=runs/roundtrip
rm -rf "$run" "$run"-*
start=$(date +%s)
"$b/train_cod" --config camoxpert-pvt-b2 --out "$run" --epochs "${EPOCHS:-2}" --quiet \
  --set train.synthetic_size="${SCENES:-256}" --set train.val_size="${VAL:-32}" --set train.warmup_epochs=1 \
  --set train.freeze_backbone_epochs=1 --set train.tf32=false
echo "trained in $(( $(date +%s) - start )) s"
# Not the model's 352x352: both resizes (to the model's input and back to the image) are compared too.
"$b/export_synthetic" --out "$run-data" --train 0 --test "${IMAGES:-16}" --seed 11 --height 300 --width 416 > /dev/null
python3 - "$run-data/Test" "$run-png" <<'PY'
import os, sys
from PIL import Image
src, dst = sys.argv[1], sys.argv[2]
for sub, out in (("Image", "images"), ("GT_Object", "masks")):
    os.makedirs(os.path.join(dst, out), exist_ok=True)
    for n in sorted(os.listdir(os.path.join(src, sub))):
        Image.open(os.path.join(src, sub, n)).save(os.path.join(dst, out, os.path.splitext(n)[0] + ".png"))
PY
images="$run-png/images"
rt="python3 tools/pytorch_roundtrip.py"

echo "=== cuttle -> PyTorch"
"$b/infer_cod" --checkpoint "$run" --input "$images" --output "$run-pred-cuttle" | tail -2
$rt predict --weights "$run/checkpoint_best" --images "$images" --out "$run-pred-torch"
$rt compare "$run-pred-cuttle" "$run-pred-torch"

echo "=== PyTorch -> cuttle"
$rt finetune --weights "$run/checkpoint_best" --images "$images" --masks "$run-png/masks" --out "$run-twin.safetensors"
$rt predict --weights "$run-twin.safetensors" --config "$run/config.json" --images "$images" --out "$run-pred-twin"
"$b/infer_cod" --checkpoint "$run-twin.safetensors" --config "$run/config.json" --input "$images" \
  --output "$run-pred-cuttle-twin" | tail -2
$rt compare "$run-pred-twin" "$run-pred-cuttle-twin"
# infer_cod really read the new file: its maps moved past the tolerance from the trained checkpoint's
# (compare exits 3 for "differ"; 0 would mean the same weights, anything else an error).
status=0
$rt compare "$run-pred-cuttle" "$run-pred-cuttle-twin" > "$run-changed.txt" 2>&1 || status=$?
if [ "$status" -ne 3 ]; then
  cat "$run-changed.txt"
  echo "FAILED: infer_cod's maps from the fine-tuned weights do not differ from the trained checkpoint's (compare exit $status)"
  exit 1
fi
echo "fine-tuning in PyTorch changed infer_cod's maps: $(tail -2 "$run-changed.txt" | head -1)"
