"""What ``preserve stylize --face-zoom`` costs: time per photo with and without it, on the default stylize path.

    python benchmarks/face_zoom.py [--sizes 512 1024] [--target 64] [--every 5]

Takes every ``--every``-th held-out photo of ``preserve data build runs/zoo-data`` (people and other
subjects alike), scales its longer side to each size and times, in one process, the shipped ``-faces``
model (the_scream) in bf16 where the CPU has it: the network alone, and the network followed by face zoom
(MTCNN detection, the zoomed statistics pass and the face regions). Reports per size the median time of
each, the median and largest ratio, and how many photos had faces to zoom and at what zoom. Writes
``benchmarks/results/face_zoom.json``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from common import machine, write_result

from preserve.facezoom import FaceZoom, zoom_faces
from preserve.imageio import fit_size, load_image, resize
from preserve.stylize import for_inference, load_model, stylize_tensor
from preserve.styles import STYLE_DIR

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--target", type=float, default=64.0)
    parser.add_argument("--every", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "face_zoom.json")
    args = parser.parse_args()
    photos = sorted((ROOT / "runs" / "zoo-data" / "eval").iterdir())[::args.every]
    net = for_inference(load_model(STYLE_DIR / "paintings-faces.pt").set_style("the_scream"))
    zoom = FaceZoom(target=args.target)
    report: dict[str, Any] = {"command": "python benchmarks/face_zoom.py " + " ".join(sys.argv[1:]),
                              "machine": machine(), "threads": torch.get_num_threads(), "photos": len(photos),
                              "target": args.target, "sizes": {}}
    for size in args.sizes:
        plain_s, zoom_s, zooms = [], [], []
        for path in photos:
            img = load_image(path, max_side=size).rgb
            img = resize(img, fit_size(tuple(img.shape[-2:]), size))
            stylize_tensor(net, img)  # warm-up for this shape
            t0 = time.perf_counter()
            out = stylize_tensor(net, img)
            t1 = time.perf_counter()
            boxes = zoom.faces(img)  # what zoom(net, img, out) does, with the boxes kept for the report
            zoom_faces(net, img, out, boxes, zoom.zoom_for(boxes))
            t2 = time.perf_counter()
            plain_s.append(t1 - t0)
            zoom_s.append(t2 - t0)
            if len(boxes):
                zooms.append(zoom.zoom_for(boxes))
        ratios = [z / p for z, p in zip(zoom_s, plain_s)]
        report["sizes"][size] = {"stylize_s_median": statistics.median(plain_s),
                                 "with_zoom_s_median": statistics.median(zoom_s),
                                 "ratio_median": statistics.median(ratios), "ratio_max": max(ratios),
                                 "photos_zoomed": len(zooms), "zoom_median": statistics.median(zooms) if zooms else None,
                                 "zoom_max": max(zooms, default=None)}
        print(size, report["sizes"][size], flush=True)
    write_result(args.out, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
