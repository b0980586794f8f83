#!/usr/bin/env bash
# Dev-only: runs several train_cod recipes side by side and prints each run's validation metrics over
# time. On the CPU each run is pinned to its own pair of cores (the 2-core budget train_cod's defaults
# are tuned for); on CUDA the runs share the GPU (each is host-bound at the tiny size).
# Usage: tools/recipe_sweep.sh BUILD_DIR OUT_DIR SECONDS cpu|cuda RUNS_FILE
# RUNS_FILE: one run per line, "name train_cod-arguments..." ('#' lines are comments).
set -uo pipefail
build=$1; out=$2; limit=$3; device=$4; runs=$5
mkdir -p "$out"
core=0
while read -r name args; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  read -r -a argv <<< "$args"
  if [[ "$device" == cpu ]]; then
    pin=(taskset -c "$core,$((core + 1))"); core=$((core + 2))
    env=(OMP_NUM_THREADS=2); extra=(--workers 1)
  else
    pin=(); env=(); extra=()
  fi
  (env "${env[@]}" timeout "$limit" "${pin[@]}" "$build/bin/train_cod" --device "$device" "${extra[@]}" --quiet \
     --out "$out/$name" "${argv[@]}" > "$out/$name.txt" 2>&1; echo "exit $?" >> "$out/$name.txt") &
done < "$runs"
wait
for f in "$out"/*/log.jsonl; do
  echo "== $(basename "$(dirname "$f")")  $(tail -1 "${f%/*}.txt")"
  python3 - "$f" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    try: e = json.loads(line)
    except Exception: continue
    if e.get("kind") == "validation":
        m = e["metrics"]
        print(f"  step {e['step']:5d}  t {e.get('elapsed_s', 0):6.0f}s  S {m['sm']:.4f}  meanE {m['mean_em']:.4f}  wF {m['wfm']:.4f}  MAE {m['mae']:.4f}  IoU {m['iou']:.4f}")
    elif e.get("kind") == "step" and e["step"] % 200 == 0:
        print(f"  step {e['step']:5d}  t {e.get('elapsed_s', 0):6.0f}s  loss {e['loss']:.4f}  {e['images_per_s']:.1f} img/s")
PY
done
