"""Judge candidate ``-faces`` runs against the shipped models, before one of them is shipped.

    python benchmarks/face_candidates.py --runs faces-small faces-small-1e5 --every 2 --size 384

Evaluates, on the same held-out photos and settings as ``docs/make_results.py``: the shipped plain model
(``preserve/styles/paintings.pt``, the baseline every share is counted against), the shipped ``-faces``
model, and the final model of each ``benchmarks/model_zoo.py --run`` given, converted to half precision as
it would ship. Per style and model: the share of faces each judge finds kept better than by the plain
model, split by face size (box width in the evaluated photo: the faces the shipped model lost are the
small ones), the style ratio over the plain model's, and the face colour shift. Writes
``benchmarks/results/zoo_face_candidates.json``; nothing under docs/ or preserve/ changes.
"""
from __future__ import annotations

import argparse
import json
import statistics
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
SMALL = 32.0  # box width (px, in the evaluated photo) under which a face counts as small


def shares(rows: list[dict[str, Any]], name: str, judge: str) -> dict[str, Any]:
    """Share of faces ``name`` keeps better than ``plain`` by ``judge``: all, small and large faces."""
    def share(subset: list[dict[str, Any]]) -> float | None:
        return statistics.mean(float(r[f"{name}/{judge}"] < r[f"plain/{judge}"]) for r in subset) if subset else None
    small = [r for r in rows if r["box"][2] - r["box"][0] < SMALL]
    large = [r for r in rows if r["box"][2] - r["box"][0] >= SMALL]
    return {"all": share(rows), "small": share(small), "large": share(large)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", nargs="+", required=True, choices=list(model_zoo.RUNS_OF))
    parser.add_argument("--every", type=int, default=2)
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--styles", nargs="+", default=model_zoo.STYLES)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "zoo_face_candidates.json")
    args = parser.parse_args()
    eval_dir = model_zoo.DATA / "eval"
    photos = sorted(str(p) for p in eval_dir.iterdir())[::args.every]
    with tempfile.TemporaryDirectory() as tmp:
        models = {"plain": STYLE_DIR / "paintings.pt", "shipped": STYLE_DIR / "paintings-faces.pt"}
        steps = {}
        for run in args.runs:
            folder = model_zoo.run_folder(run, 1)
            steps[run] = json.loads((folder / "metrics.jsonl").read_text().splitlines()[-1])["step"]
            models[run] = ship_model(folder / "model.pt", Path(tmp) / f"{run}.pt", info={"run": run})
        for name, path in list(models.items())[:2]:
            models[name] = Path(tmp) / f"{name}.pt"
            models[name].write_bytes(path.read_bytes())
        prepared = prepare_photos(photos, size=args.size, judges=JUDGES)
        report: dict[str, Any] = {
            "command": "python benchmarks/face_candidates.py " + " ".join(sys.argv[1:]),
            "machine": machine(), "photos": len(photos), "size": args.size, "small_face_px": SMALL,
            "steps": steps, "styles": {}}
        for style in args.styles:
            out = Path(tmp) / style
            image = str(model_zoo.STYLE_DIR / f"{style}.jpg")
            summary = evaluate([str(p) for p in models.values()], [], out, style=image, style_name=style,
                               prepared=prepared)
            rows = json.loads((out / "faces.json").read_text())
            plain = summary["models"]["plain"]
            entry = {"faces": len(rows), "small_faces": sum(r["box"][2] - r["box"][0] < SMALL for r in rows),
                     "plain": {"style_ratio": plain["style_ratio"],
                               "face_delta_e": plain["face_colour"]["delta_e_mean"]}}
            for name in list(models)[1:]:
                m = summary["models"][name]
                entry[name] = {"kept_better": {j: shares(rows, name, j) for j in JUDGES},
                               "style_ratio": m["style_ratio"],
                               "style_ratio_over_plain": m["style_ratio"] / plain["style_ratio"],
                               "face_delta_e": m["face_colour"]["delta_e_mean"],
                               "worst_skin_tone": {j: min((g[j] for g in m["by_skin_tone"].values() if g["faces"] >= 5), default=None)
                                                   for j in INDEPENDENT}}
            report["styles"][style] = entry
            print(style, json.dumps({n: {j: round(entry[n]["kept_better"][j]["all"], 3) for j in INDEPENDENT}
                                     | {"sr/plain": round(entry[n]["style_ratio_over_plain"], 3)}
                                     for n in list(models)[1:]}), flush=True)
    names = list(models)[1:]
    report["worst"] = {n: {**{j: min(report["styles"][s][n]["kept_better"][j]["all"] for s in args.styles)
                              for j in INDEPENDENT},
                           **{f"{j}_large": min((v for s in args.styles
                                                    if (v := report["styles"][s][n]["kept_better"][j]["large"])
                                                    is not None), default=None)
                              for j in INDEPENDENT},
                           "style_ratio_over_plain": max(report["styles"][s][n]["style_ratio_over_plain"]
                                                         for s in args.styles),
                           "style_ratio": max(report["styles"][s][n]["style_ratio"] for s in args.styles),
                           "skin_tone": min((v for s in args.styles
                                             for v in report["styles"][s][n]["worst_skin_tone"].values()
                                             if v is not None), default=None),
                           "delta_e_minus_plain": max(report["styles"][s][n]["face_delta_e"]
                                                      - report["styles"][s]["plain"]["face_delta_e"]
                                                      for s in args.styles)}
                       for n in names}
    write_result(args.out, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
