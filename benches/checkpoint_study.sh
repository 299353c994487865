#!/bin/bash
# βF_ex against training steps: the model of assets/scenes/paper_lj3d_hour.ron evaluated at
# N = 40 (ρ = 0.19) and N = 200 (ρ = 0.93) after 1 000, 2 000, 3 500 and 5 000 training
# steps, with the hour run's integration settings. The learning-rate schedule depends on the
# step only, so the model after K steps of a longer training is the one a K-step training
# gives: one training is continued (`train --resume`) from K to the next K, and a copy of the
# directory at each K is integrated. Needs a release build (cargo build --release).
# Usage: benches/checkpoint_study.sh [OUT_DIR]  (resumable; results in OUT_DIR/K/results.json)
# Results: benches/RESULTS.md ("βF_ex against training steps").
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release/nti-gpu
OUT=${1:-${TMPDIR:-/tmp}/nti-checkpoints}
mkdir -p "$OUT/train"
for K in 1000 2000 3500 5000; do
  SCENE=$OUT/steps$K.ron
  sed -e "s/^        steps: 5000,/        steps: $K,/" \
      -e 's/^        particles: \[40, 60, 80, 100, 120, 140, 160, 180, 200\],/        particles: [40, 200],/' \
      assets/scenes/paper_lj3d_hour.ron > "$SCENE"
  grep -q "steps: $K," "$SCENE" && grep -q 'particles: \[40, 200\]' "$SCENE" \
    || { echo "the scene's training.steps or integration.particles line changed: update this script" >&2; exit 1; }
  RESUME=(); [ -e "$OUT/train/model.ckpt" ] && RESUME=(--resume)
  "$BIN" train "${RESUME[@]}" "$SCENE" --out "$OUT/train"
  if [ ! -e "$OUT/$K/model.ckpt" ]; then
    rm -rf "$OUT/$K.partial"
    cp -r "$OUT/train" "$OUT/$K.partial"
    mv "$OUT/$K.partial" "$OUT/$K"
  fi
  "$BIN" integrate "$SCENE" --out "$OUT/$K"
  python3 - "$OUT/$K/results.json" "$K" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for n in ("40", "200"):
    e = r["free_energy"][n]["neural_ti"]["betaF_ex"]
    print(f"steps {sys.argv[2]}: N = {n}: betaF_ex {e['mean']:.3f} +- {e['err']:.3f}")
PY
done
