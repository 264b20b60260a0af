"""What ``preserve stylize --face-zoom`` costs: time per photo with and without it, on the default stylize path.

    python benchmarks/face_zoom.py [--sizes 512 1024] [--target 64] [--every 5]
    python benchmarks/face_zoom.py --stats-sides 2048 1024 768 --sizes 512 --every 2 \
        --out benchmarks/results/face_zoom_stats.json
    python benchmarks/face_zoom.py --scores docs/images/face_zoom_scores.jpg --sizes 512 \
        --out benchmarks/results/face_zoom_scores.json

Takes every ``--every``-th held-out photo of ``preserve data build runs/zoo-data`` (people and other
subjects alike), scales its longer side to each size and times, in one process, the shipped ``-faces``
model (the_scream) in bf16 where the CPU has it: the network alone, and the network followed by face zoom
(MTCNN detection, the zoomed statistics pass and the face regions). Reports per size the median time of
each, the median and largest ratio, the median time of detection (every photo) and of the rest (the photos
with faces to zoom), and how many photos had faces to zoom and at what zoom. Writes
``benchmarks/results/face_zoom.json``.

``--stats-sides`` measures the statistics pass instead, on the photos with faces to zoom, in three styles:
for each longer side the zoomed image's statistics are measured at (``FaceZoom.stats_side``), the time of
face zoom (detection aside) and the mean absolute difference, inside the faces' masks, from the whole photo
stylized at that zoom and scaled back, which is what face zoom stands in for.

``--scores PICTURE`` looks at the detector's confidence instead, on the photos ``preserve data build`` puts
in the train and tune splits (never the evaluation photos): every detection narrower than ``--target`` px
with a score of at least 0.8 goes into the JSON, and those scoring under 0.995 into a picture, as crops
sorted by score and labelled with it, to be judged by eye: which of them are faces.
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

from preserve.facezoom import FaceZoom, face_mask, zoom_faces
from preserve.imageio import find_images, fit_size, load_image, resize
from preserve.stylize import for_inference, load_model, stylize_tensor
from preserve.styles import STYLE_DIR

ROOT = Path(__file__).resolve().parents[1]


def at_side(path: Path, size: int) -> torch.Tensor:
    """A photo as ``(3, H, W)`` with its longer side exactly ``size`` px."""
    img = load_image(path, max_side=size).rgb
    return resize(img, fit_size(tuple(img.shape[-2:]), size))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--target", type=float, default=64.0)
    parser.add_argument("--every", type=int, default=5)
    parser.add_argument("--stats-sides", type=int, nargs="+", help="compare these statistics-pass sides")
    parser.add_argument("--styles", nargs="+", default=["the_scream", "starry_night", "composition_viii"],
                        help="the styles of --stats-sides")
    parser.add_argument("--scores", type=Path, metavar="PICTURE", help="the detections' scores, judged by eye")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "face_zoom.json")
    args = parser.parse_args()
    if args.stats_sides:
        return stats_sides(args)
    if args.scores:
        return scores(args)
    photos = sorted((ROOT / "runs" / "zoo-data" / "eval").iterdir())[::args.every]
    net = for_inference(load_model(STYLE_DIR / "paintings-faces.pt").set_style("the_scream"))
    zoom = FaceZoom(target=args.target)
    report: dict[str, Any] = {"command": "python benchmarks/face_zoom.py " + " ".join(sys.argv[1:]),
                              "machine": machine(), "threads": torch.get_num_threads(), "photos": len(photos),
                              "target": args.target, "sizes": {}}
    for size in args.sizes:
        plain_s, zoom_s, zooms, detect_s, regions_s = [], [], [], [], []
        zoom.faces(torch.rand(3, 64, 64))  # loads the detector outside the timings
        for path in photos:
            img = at_side(path, size)
            stylize_tensor(net, img)  # warm-up for this shape
            t0 = time.perf_counter()
            out = stylize_tensor(net, img)
            t1 = time.perf_counter()
            boxes = zoom.faces(img)  # what zoom(net, img, out) does, with the boxes kept for the report
            t_detect = time.perf_counter()
            zoom_faces(net, img, out, boxes, zoom.zoom_for(boxes))
            t2 = time.perf_counter()
            plain_s.append(t1 - t0)
            zoom_s.append(t2 - t0)
            detect_s.append(t_detect - t1)
            if len(boxes):
                regions_s.append(t2 - t_detect)
            if len(boxes):
                zooms.append(zoom.zoom_for(boxes))
        ratios = [z / p for z, p in zip(zoom_s, plain_s)]
        report["sizes"][size] = {"stylize_s_median": statistics.median(plain_s),
                                 "with_zoom_s_median": statistics.median(zoom_s),
                                 "ratio_median": statistics.median(ratios), "ratio_max": max(ratios),
                                 "detect_s_median": statistics.median(detect_s),
                                 "statistics_and_regions_s_median": statistics.median(regions_s) if regions_s else None,
                                 "photos_zoomed": len(zooms), "zoom_median": statistics.median(zooms) if zooms else None,
                                 "zoom_max": max(zooms, default=None)}
        print(size, report["sizes"][size], flush=True)
    write_result(args.out, report)
    return 0


def stats_sides(args: argparse.Namespace) -> int:
    """Time and faithfulness of face zoom per statistics-pass side (module docstring)."""
    photos = sorted((ROOT / "runs" / "zoo-data" / "eval").iterdir())[::args.every]
    model = load_model(STYLE_DIR / "paintings-faces.pt")
    nets = {style: for_inference(model).set_style(style) for style in args.styles}
    zoom = FaceZoom(target=args.target)
    report: dict[str, Any] = {"command": "python benchmarks/face_zoom.py " + " ".join(sys.argv[1:]),
                              "machine": machine(), "threads": torch.get_num_threads(), "target": args.target,
                              "styles": args.styles, "sizes": {}}
    for size in args.sizes:
        cases = []
        for path in photos:
            img = at_side(path, size)
            boxes = zoom.faces(img)
            if len(boxes) == 0:
                continue
            z = zoom.zoom_for(boxes)
            h, w = img.shape[-2:]
            core = face_mask(boxes, h, w)[0] > 0.999
            for style, net in nets.items():
                base = stylize_tensor(net, img)
                whole = resize(stylize_tensor(net, resize(img, (round(h * z), round(w * z)))), (h, w))
                case = {"photo": path.name, "style": style, "zoom": round(z, 3), "sides": {}}
                for side in args.stats_sides:
                    t0 = time.perf_counter()
                    out = zoom_faces(net, img, base, boxes, z, stats_side=side)
                    case["sides"][side] = {"s": time.perf_counter() - t0,
                                           "error": float((out - whole)[:, core].abs().mean())}
                cases.append(case)
                print(size, path.name, style, case["zoom"], {k: {m: round(v, 4) for m, v in d.items()}
                                                             for k, d in case["sides"].items()}, flush=True)
        first = args.stats_sides[0]
        report["sizes"][size] = {
            "cases": len(cases),
            "sides": {side: {"error_median": statistics.median(c["sides"][side]["error"] for c in cases),
                             "error_max": max(c["sides"][side]["error"] for c in cases),
                             f"time_ratio_to_{first}_median": statistics.median(
                                 c["sides"][side]["s"] / c["sides"][first]["s"] for c in cases),
                             f"time_ratio_to_{first}_min": min(c["sides"][side]["s"] / c["sides"][first]["s"]
                                                              for c in cases)}
                      for side in args.stats_sides},
            "at_zoom_4": {side: {"error_median": statistics.median(c["sides"][side]["error"] for c in cases
                                                                   if c["zoom"] >= 3.99),
                                 "s_median": statistics.median(c["sides"][side]["s"] for c in cases
                                                               if c["zoom"] >= 3.99)}
                          for side in args.stats_sides} if any(c["zoom"] >= 3.99 for c in cases) else None,
            "per_case": cases}
    write_result(args.out, report)
    return 0


def scores(args: argparse.Namespace, low: float = 0.8, shown_below: float = 0.995) -> int:
    """The detector's scores for the small detections on the train and tune photos (module docstring)."""
    from preserve.faces.mtcnn import MTCNN
    from preserve.visual import save_grid

    size = args.sizes[0]
    detector = MTCNN(min_face_size=FaceZoom().min_face_size)
    found: list[dict[str, Any]] = []
    crops: list[tuple[float, torch.Tensor, str]] = []
    data = ROOT / "runs" / "zoo-data"
    for path in find_images([data / "train", data / "tune"]):
        img = at_side(path, size)
        det = detector.detect(img[None])[0]
        for box, score in zip(det.boxes.tolist(), det.scores.tolist()):
            width = box[2] - box[0]
            if score < low or width >= args.target:
                continue
            found.append({"photo": path.name, "score": round(score, 4), "width": round(width, 1)})
            if score < shown_below:
                x1, y1, x2, y2 = (int(v) for v in box)
                crop = resize(img[:, max(0, y1):max(y1 + 1, y2), max(0, x1):max(x1 + 1, x2)], (96, 96))
                crops.append((score, crop, f"{score:.3f}"))
    crops.sort(key=lambda c: c[0])
    per_row = 10
    rows = [[c[1] for c in crops[i:i + per_row]] for i in range(0, len(crops), per_row)]
    labels = [f"{crops[i][2]}-{crops[min(i + per_row, len(crops)) - 1][2]}" for i in range(0, len(crops), per_row)]
    save_grid(rows, args.scores, row_labels=labels, cell=96)
    bands = [(0.8, 0.9), (0.9, 0.95), (0.95, 0.97), (0.97, 0.99), (0.99, 1.01)]
    write_result(args.out, {"command": "python benchmarks/face_zoom.py " + " ".join(sys.argv[1:]),
                            "machine": machine(), "size": size, "target": args.target,
                            "detections_per_score_band": {f"{lo}-{min(hi, 1.0)}": sum(lo <= d["score"] < hi
                                                                                       for d in found)
                                                          for lo, hi in bands},
                            "detections": found})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
