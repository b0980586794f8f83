#!/usr/bin/env bash
# Dev-only: runs several camoxpert-tiny recipes side by side on a many-core machine, each pinned to
# its own pair of cores (the 2-core budget train_cod's defaults are tuned for), and prints each run's
# validation S-measure over time. Usage: tools/tiny_recipe_sweep.sh BUILD_DIR OUT_DIR SECONDS
set -uo pipefail
build=${1:-build}; out=${2:-sweep}; limit=${3:-560}
mkdir -p "$out"
run() {  # name cores args...
  local name=$1 cores=$2; shift 2
  (OMP_NUM_THREADS=2 timeout "$limit" taskset -c "$cores" "$build/bin/train_cod" --device cpu --workers 1 --quiet \
     --out "$out/$name" "$@" > "$out/$name.txt" 2>&1; echo "exit $?" >> "$out/$name.txt") &
}
common=(--set train.val_size=200)
run b8-lr1e-3      0,1   "${common[@]}" --steps 600 --batch-size 8 --lr 1e-3 --set train.warmup_steps=60 --set train.synthetic_size=800
run b8-lr2e-3      2,3   "${common[@]}" --steps 600 --batch-size 8 --lr 2e-3 --set train.warmup_steps=60 --set train.synthetic_size=800
run b4-lr1e-3      4,5   "${common[@]}" --steps 1200 --batch-size 4 --lr 1e-3 --set train.warmup_steps=120 --set train.synthetic_size=400
run b8-h16-lr2e-3  6,7   "${common[@]}" --steps 600 --batch-size 8 --lr 2e-3 --set head_width=16 --set train.warmup_steps=60 --set train.synthetic_size=800
run b8-lr4e-3      8,9   "${common[@]}" --steps 600 --batch-size 8 --lr 4e-3 --set train.warmup_steps=60 --set train.synthetic_size=800
run b16-lr2e-3     10,11 "${common[@]}" --steps 300 --batch-size 16 --lr 2e-3 --set train.warmup_steps=30 --set train.synthetic_size=1600
run b8-lr2e-3-ema  12,13 "${common[@]}" --steps 600 --batch-size 8 --lr 2e-3 --set train.warmup_steps=60 --set train.synthetic_size=800 --set train.ema=true --set train.ema_decay=0.99
wait
for f in "$out"/*/log.jsonl; do
  echo "== $(basename "$(dirname "$f")")"
  python3 - "$f" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    try: e = json.loads(line)
    except Exception: continue
    if e.get("kind") == "validation":
        m = e["metrics"]
        print(f"  step {e['step']:5d}  t {e.get('elapsed_s', 0):6.0f}s  S {m['sm']:.4f}  meanE {m['mean_em']:.4f}  wF {m['wfm']:.4f}  MAE {m['mae']:.4f}  IoU {m['iou']:.4f}")
    elif e.get("kind") == "step" and e["step"] % 100 == 0:
        print(f"  step {e['step']:5d}  t {e.get('elapsed_s', 0):6.0f}s  loss {e['loss']:.4f}  {e['images_per_s']:.1f} img/s")
PY
done
