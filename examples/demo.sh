#!/usr/bin/env bash
# The embedded-defaults demo: train a small style network on the photos and the
# painting that ship in examples/data, then stylize the photos and write a
# before/after grid to runs/demo/grid.png.
#
# DEMO_STEPS (default 450) sets the training length. Interrupted (Ctrl-C), the
# run keeps its checkpoint and the grid is still written from it; continue with
#   preserve train --resume --out runs/demo
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-runs/demo}"
steps="${DEMO_STEPS:-450}"
preserve train \
  --data "$here/data/photos" \
  --recipe "$here/recipes/demo.yaml" \
  --image-size 128 --batch-size 4 --steps "$steps" \
  --preview "$here/data/photos/astronaut.jpg" "$here/data/photos/colosseum.jpg" "$here/data/photos/dog.jpg" \
  --preview-every 100 --checkpoint-every 50 --overwrite \
  --out "$out"
status=$?
model="$out/model.pt"
if [ "$status" -ne 0 ]; then
  model="$out/checkpoints/last.pt"
  if [ ! -f "$model" ]; then
    echo "demo: training stopped before its first checkpoint; nothing to show" >&2
    exit "$status"
  fi
  echo "demo: training stopped (exit $status); writing the grid from the last checkpoint, $model" >&2
fi
preserve stylize --model "$model" --size 320 --out "$out/stylized" --grid "$out/grid.png" \
  "$here/data/photos/astronaut.jpg" "$here/data/photos/grace_hopper.jpg" "$here/data/photos/colosseum.jpg" \
  "$here/data/photos/dog.jpg" "$here/data/photos/red_panda.jpg" "$here/data/photos/mont_st_michel.jpg" || exit $?
echo "before/after grid: $out/grid.png  (loss log: $out/metrics.jsonl, previews: $out/previews/)"
exit "$status"
