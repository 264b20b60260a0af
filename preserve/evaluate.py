"""Face-preservation evaluation: how recognisable faces stay under each model, judged by two embedders.

For every photo and every model, the photo is stylized; faces are detected on
the original (MTCNN); for each face the identity distance (squared L2 of
normalised embeddings) between the original crop and the stylized crop is
measured with the embedder used in training **and** with an independent one,
so no model is judged only by the network it was trained against. Each
model's style and content loss on the same photos is reported too.

Outputs in the output folder: ``faces.csv`` and ``faces.json`` (one row per
face and model), ``summary.json`` (per model: mean and median distances with
bootstrap 95 % intervals; against the first model, the share of faces whose
distance improved), ``histogram.png`` (per-face differences against the first
model, like the paper's Fig. 11) and ``gallery.png`` (crops side by side).

With a style image, each model's content loss and *style ratio* are reported
too: the mean style loss of its stylized photos divided by the mean style
loss of the unstylized photos, with the same style term and style image
(0: the painting's Gram statistics reached exactly; 1: no closer than the
photo). ``latency_512_ms`` is each model's time for one 512 x 512 image on
the default stylize path.
"""

from __future__ import annotations

import csv
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import torch
from PIL import Image, ImageDraw

from .atomic import atomic_write_text
from .faces.embedders import EMBEDDERS
from .faces.mtcnn import MTCNN
from .imageio import ImageReadError, find_images, fit_size, load_image, resize
from .recipe import Recipe
from .stylize import for_inference, load_model, stylize_tensor
from .visual import save_grid


def bootstrap_ci(values: Sequence[float], stat=statistics.mean, n: int = 1000, seed: int = 0) -> tuple[float, float]:
    """A 95 % percentile bootstrap interval of ``stat`` over ``values``."""
    if len(values) < 2:
        v = stat(values) if values else float("nan")
        return v, v
    rng = random.Random(seed)
    samples = sorted(stat(rng.choices(values, k=len(values))) for _ in range(n))
    return samples[int(0.025 * n)], samples[int(0.975 * n) - 1]


def _model_file(model: str | os.PathLike[str]) -> Path:
    """A model file, or the file of a shipped style given by name."""
    path = Path(model)
    if path.is_file():
        return path
    from .styles import list_styles, style_path

    if str(model) in list_styles():
        return style_path(str(model))
    raise FileNotFoundError(f"model file not found: {path} (and no shipped style has that name)")


def evaluate(models: Sequence[str | os.PathLike[str]], photos: Sequence[str | os.PathLike[str]],
             out: str | os.PathLike[str], *, style: str | None = None, size: int = 384,
             judges: Sequence[str] = ("sface", "facenet"), min_score: float = 0.95) -> dict[str, Any]:
    """Run the evaluation and write its files; returns the summary."""
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [_model_file(m) for m in models]
    nets = {f.parent.name if f.name == "model.pt" else f.stem: load_model(f) for f in files}
    if len(nets) < len(files):
        raise ValueError(f"two models would share a name in the report: {[str(f) for f in files]}")
    names = list(nets)
    embedders = {j: EMBEDDERS.create(j) for j in judges}
    detector = MTCNN()
    loss_recipe = Recipe(content=1.0, style={"image": style, "size": 512}) if style else None
    rows: list[dict[str, Any]] = []
    losses: dict[str, dict[str, list[float]]] = {n: {"content": [], "style": []} for n in names}
    gallery: list[list[torch.Tensor]] = []
    photo_style: list[float] = []  # the style loss of each unstylized photo, the style ratio's denominator
    unreadable: dict[str, str] = {}
    photo_files = find_images(list(photos))
    for path in photo_files:
        try:
            img = load_image(path, max_side=size).rgb
        except ImageReadError as exc:
            unreadable[str(path)] = str(exc)
            print(f"preserve: skipping unreadable photo {exc}", file=sys.stderr)
            continue
        img = resize(img, fit_size(tuple(img.shape[-2:]), size))
        det = detector.detect(img[None])[0]
        keep = det.scores >= min_score
        boxes, marks = det.boxes[keep], det.landmarks[keep]
        outs = {n: stylize_tensor(net, img) for n, net in nets.items()}
        if loss_recipe is not None:
            with torch.no_grad():
                photo_style.append(float(loss_recipe(img[None], img[None]).raw["style"][0]))
                for n, o in outs.items():
                    r = loss_recipe(o[None], img[None])
                    losses[n]["content"].append(float(r.raw["content"][0]))
                    losses[n]["style"].append(float(r.raw["style"][0]))
        if len(boxes) == 0:
            continue
        index = torch.zeros(len(boxes), dtype=torch.long)
        with torch.no_grad():
            refs = {j: e.crop_and_embed(img[None], index, boxes, marks) for j, e in embedders.items()}
            dists = {(n, j): (e.crop_and_embed(outs[n][None], index, boxes, marks) - refs[j]).pow(2).sum(1)
                     for n in names for j, e in embedders.items()}
        for k in range(len(boxes)):
            row = {"photo": str(path), "face": k, "box": [round(v, 1) for v in boxes[k].tolist()]}
            for (n, j), d in dists.items():
                row[f"{n}/{j}"] = float(d[k])
            rows.append(row)
            if len(gallery) < 8:
                x1, y1, x2, y2 = [int(v) for v in boxes[k].tolist()]
                pad = (x2 - x1) // 4
                y1, x1 = max(0, y1 - pad), max(0, x1 - pad)
                gallery.append([t[:, y1:y2 + pad, x1:x2 + pad] for t in [img, *outs.values()]])
    summary = _summarise(rows, names, list(judges), losses)
    for n, net in nets.items():
        entry = summary["models"][n]
        if photo_style and losses[n]["style"]:
            entry["style_ratio"] = style_ratio(losses[n]["style"], photo_style)
        entry["latency_512_ms"] = latency_ms(net, 512)
    if photo_style:
        summary["photo_style_loss_mean"] = statistics.mean(photo_style)
    summary["photos"] = len(photo_files) - len(unreadable)
    summary["unreadable_photos"] = unreadable
    _write(out_dir, rows, summary, names, list(judges), gallery)
    return summary


def style_ratio(stylized: Sequence[float], photos: Sequence[float]) -> float:
    """The mean style loss of the stylized photos over that of the same photos unstylized."""
    return statistics.mean(stylized) / statistics.mean(photos)


def latency_ms(net: torch.nn.Module, side: int, repeats: int = 3) -> float:
    """Median milliseconds for one ``side`` x ``side`` image on the default stylize path (bf16 where native)."""
    fast = for_inference(net)
    x = torch.rand(1, 3, side, side)
    stylize_tensor(fast, x)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        stylize_tensor(fast, x)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _summarise(rows: list[dict[str, Any]], names: list[str], judges: list[str],
               losses: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    summary: dict[str, Any] = {"faces": len(rows), "models": {}}
    for n in names:
        entry: dict[str, Any] = {}
        for j in judges:
            vals = [r[f"{n}/{j}"] for r in rows]
            entry[j] = {"mean": statistics.mean(vals) if vals else None,
                        "mean_ci95": bootstrap_ci(vals) if vals else None,
                        "median": statistics.median(vals) if vals else None,
                        "median_ci95": bootstrap_ci(vals, statistics.median) if vals else None}
            if n != names[0] and vals:
                base = [r[f"{names[0]}/{j}"] for r in rows]
                better = [float(v < b) for v, b in zip(vals, base)]
                entry[j]["improved_share_vs_" + names[0]] = statistics.mean(better)
                entry[j]["improved_share_ci95"] = bootstrap_ci(better)
        for key in ("content", "style"):
            if losses[n][key]:
                entry[f"{key}_loss_mean"] = statistics.mean(losses[n][key])
        summary["models"][n] = entry
    return summary


def _write(out: Path, rows: list[dict[str, Any]], summary: dict[str, Any], names: list[str], judges: list[str],
           gallery: list[list[torch.Tensor]]) -> None:
    atomic_write_text(out / "faces.json", json.dumps(rows, indent=1))
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    fields = ["photo", "face", "box"] + [f"{n}/{j}" for n in names for j in judges]
    with open(out / "faces.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    if gallery:
        save_grid(gallery, out / "gallery.png", col_labels=["original", *names], cell=128)
    if len(names) > 1 and rows:
        _histogram([r[f"{names[1]}/{judges[-1]}"] - r[f"{names[0]}/{judges[-1]}"] for r in rows],
                   out / "histogram.png", f"{names[1]} - {names[0]} ({judges[-1]} distance); < 0: better kept")


def _histogram(diffs: list[float], path: Path, title: str, bins: int = 20) -> None:
    lo, hi = min(diffs + [0.0]), max(diffs + [0.0])
    width = (hi - lo) / bins or 1.0
    counts = [0] * bins
    for d in diffs:
        counts[min(bins - 1, int((d - lo) / width))] += 1
    w, h, left, bottom = 640, 320, 40, 40
    img = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(img)
    top = max(counts) or 1
    bar = (w - 2 * left) / bins
    for i, c in enumerate(counts):
        x0 = left + i * bar
        y0 = h - bottom - (h - 2 * bottom) * c / top
        colour = (44, 160, 44) if lo + (i + 0.5) * width < 0 else (214, 39, 40)
        draw.rectangle([x0 + 1, y0, x0 + bar - 1, h - bottom], fill=colour)
    zero = left + (0 - lo) / (hi - lo or 1) * (w - 2 * left)
    draw.line([(zero, 20), (zero, h - bottom)], fill="black")
    draw.text((left, 5), title, fill="black")
    draw.text((left, h - bottom + 8), f"{lo:.3g}", fill="black")
    draw.text((w - left - 40, h - bottom + 8), f"{hi:.3g}", fill="black")
    img.save(path)
