"""Judge candidate ``-faces`` runs against the shipped models, before one of them is shipped.

    python benchmarks/face_candidates.py --runs faces-small faces-small-1e5 --every 2 --size 384
    python benchmarks/face_candidates.py --size 512 --out benchmarks/results/zoo_faces_512.json  # shipped only
    python benchmarks/face_candidates.py --face-zoom 64 --out benchmarks/results/zoo_face_zoom.json
    python benchmarks/face_candidates.py --split tune --every 1 --face-zoom 96 --out OUT.json  # choose on tune

Evaluates, on the same held-out photos and settings as ``docs/make_results.py``: the shipped plain model
(``preserve/styles/paintings.pt``, the baseline every share is counted against), the shipped ``-faces``
model, and the final model of each ``benchmarks/model_zoo.py --run`` given, converted to half precision as
it would ship. Per style and model: the share of faces each judge finds kept better than by the plain
model, in all and per face-size group (``preserve.evaluate.FACE_SIZES``: the faces the shipped model
lost are the small ones), the style ratio over the plain model's, the face colour shift, and each model's
mean identity distance per judge. With ``--face-zoom PX`` every model, plain included, stylizes as
``preserve stylize --face-zoom PX`` does (``preserve.facezoom``). Writes
``benchmarks/results/zoo_face_candidates.json``; nothing under docs/ or preserve/ changes.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from preserve.evaluate import evaluate, prepare_photos
from preserve.styles import STYLE_DIR, ship_model

sys.path.insert(0, str(Path(__file__).resolve().parent))
import model_zoo  # noqa: E402 - the zoo's run folders and styles
from common import machine, write_result  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
JUDGES = ("sface", "facenet", "insightface")
INDEPENDENT = ("facenet", "insightface")
MIN_GROUP = 5  # faces a skin-tone group needs to count, as in docs/make_results.py


def worst(styles: dict[str, Any], name: str) -> dict[str, Any]:
    """Model ``name``'s worst style for each measure: lowest shares kept better, highest style ratios and
    the largest face colour shift over the plain model's."""
    entries = [styles[s][name] for s in styles]
    sizes = {size for s in styles for size in styles[s]["face_sizes"]}
    return {**{j: min(e["kept_better"][j] for e in entries) for j in INDEPENDENT},
            "by_face_size": {size: {j: min(e["kept_better_by_face_size"][size][j] for e in entries
                                           if size in e["kept_better_by_face_size"]) for j in INDEPENDENT}
                             for size in sorted(sizes)},
            "skin_tone": min((v for e in entries for v in e["worst_skin_tone"].values() if v is not None),
                             default=None),
            "style_ratio": max(e["style_ratio"] for e in entries),
            "style_ratio_over_plain": max(e["style_ratio_over_plain"] for e in entries),
            "delta_e_minus_plain": max(styles[s][name]["face_delta_e"] - styles[s]["plain"]["face_delta_e"]
                                       for s in styles)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", nargs="*", default=[], choices=list(model_zoo.RUNS_OF),
                        help="zoo runs to judge beside the shipped models (none: the shipped models alone)")
    parser.add_argument("--split", choices=["eval", "tune"], default="eval",
                        help="the held-out photos of 'preserve data build' to judge on: eval (as docs/results.md) "
                             "or tune (to choose a setting without looking at the evaluation photos)")
    parser.add_argument("--every", type=int, default=2)
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--styles", nargs="+", default=model_zoo.STYLES)
    parser.add_argument("--face-zoom", type=float, metavar="PX",
                        help="stylize every model with small faces zoomed to PX wide (preserve.facezoom)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "zoo_face_candidates.json")
    args = parser.parse_args()
    photos = sorted(str(p) for p in (model_zoo.DATA / args.split).iterdir())[::args.every]
    with tempfile.TemporaryDirectory() as tmp:
        models = {}  # evaluate names each model by its file's stem: plain.pt, shipped.pt, RUN.pt
        for name, stem in (("plain", "paintings"), ("shipped", "paintings-faces")):
            models[name] = Path(tmp) / f"{name}.pt"
            models[name].write_bytes((STYLE_DIR / f"{stem}.pt").read_bytes())
        steps = {}
        for run in args.runs:
            folder = model_zoo.run_folder(run, 1)
            steps[run] = json.loads((folder / "metrics.jsonl").read_text().splitlines()[-1])["step"]
            models[run] = ship_model(folder / "model.pt", Path(tmp) / f"{run}.pt", info={"run": run})
        prepared = prepare_photos(photos, size=args.size, judges=JUDGES)
        report: dict[str, Any] = {
            "command": "python benchmarks/face_candidates.py " + " ".join(sys.argv[1:]),
            "machine": machine(), "split": args.split, "photos": len(photos), "size": args.size,
            "face_zoom": args.face_zoom,
            "steps": steps, "styles": {}}
        for style in args.styles:
            out = Path(tmp) / style
            image = str(model_zoo.STYLE_DIR / f"{style}.jpg")
            summary = evaluate([str(p) for p in models.values()], [], out, style=image, style_name=style,
                               prepared=prepared, face_zoom=args.face_zoom)
            plain = summary["models"]["plain"]
            entry = {"faces": summary["faces"], "face_sizes": summary["face_sizes"],
                     "plain": {"style_ratio": plain["style_ratio"],
                               "face_delta_e": plain["face_colour"]["delta_e_mean"],
                               "distance": {j: plain[j]["mean"] for j in JUDGES}}}
            for name in list(models)[1:]:
                m = summary["models"][name]
                entry[name] = {"kept_better": {j: m[j]["improved_share_vs_plain"] for j in JUDGES},
                               "kept_better_by_face_size": m["by_face_size"],
                               "style_ratio": m["style_ratio"],
                               "style_ratio_over_plain": m["style_ratio"] / plain["style_ratio"],
                               "face_delta_e": m["face_colour"]["delta_e_mean"],
                               "distance": {j: m[j]["mean"] for j in JUDGES},
                               "worst_skin_tone": {j: min((g[j] for g in m["by_skin_tone"].values()
                                                           if g["faces"] >= MIN_GROUP), default=None)
                                                   for j in INDEPENDENT}}
            report["styles"][style] = entry
            print(style, json.dumps({n: {j: round(entry[n]["kept_better"][j], 3) for j in INDEPENDENT}
                                     | {"sr/plain": round(entry[n]["style_ratio_over_plain"], 3)}
                                     for n in list(models)[1:]}), flush=True)
    report["worst"] = {name: worst(report["styles"], name) for name in list(models)[1:]}
    write_result(args.out, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
