#!/usr/bin/env bash
# The embedded-defaults demo: train a small style network on the photos and the
# painting that ship in examples/data (a few minutes on 2 CPU cores), then
# stylize the photos and write a before/after grid to runs/demo/grid.png.
set -euo pipefail
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
preserve stylize --model "$out/model.pt" --size 320 --out "$out/stylized" --grid "$out/grid.png" \
  "$here/data/photos/astronaut.jpg" "$here/data/photos/grace_hopper.jpg" "$here/data/photos/colosseum.jpg" \
  "$here/data/photos/dog.jpg" "$here/data/photos/red_panda.jpg" "$here/data/photos/mont_st_michel.jpg"
echo "before/after grid: $out/grid.png  (loss log: $out/metrics.jsonl, previews: $out/previews/)"
