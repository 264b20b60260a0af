"""Face-preservation evaluation: how recognisable faces stay under each model, judged by several embedders.

For every photo and every model, the photo is stylized; faces are detected on
the original (MTCNN); for each face the identity distance (squared L2 of
normalised embeddings) between the original crop and the stylized crop is
measured with the embedder used in training (SFace) **and** with two independent
ones (FaceNet and ArcFace), so no model is judged only by the network it was
trained against. Each face's skin tone (ITA, :mod:`preserve.skin`) is measured
on the photo, and the face numbers are also given per skin-tone group and per
face-size group (box width, :data:`FACE_SIZES`); the colour shift inside each
face (hue, chroma, ΔE) is reported per model. Each model's style and content
loss on the same photos is reported too.

Outputs in the output folder: ``faces.csv`` and ``faces.json`` (one row per
face and model), ``summary.json`` (per model: mean and median distances with
bootstrap 95 % intervals; against the first model, the share of faces whose
distance improved), ``histogram.png`` (per-face differences against the first
model, like the paper's Fig. 11, judged by the last judge), ``distances.png``
(per judge, each face's distance under the first model against the second's,
the diagonal marked) and ``gallery.png`` (crops side by side).

With a style image, each model's content loss and *style ratio* are reported
too: the mean style loss of its stylized photos divided by the mean style
loss of the unstylized photos, with the same style term and style image
(0: the painting's Gram statistics reached exactly; 1: no closer than the
photo). ``photos.csv`` then gives each photo's losses: its face count, the
photo's own style loss and each model's content and style loss, so a ratio can
be taken over any subset (photos with faces, say). ``latency_512_ms`` is each
model's time for one 512 x 512 image on the default stylize path. With ``face_zoom``, every model stylizes with
:class:`~preserve.facezoom.FaceZoom` (small faces zoomed), as ``preserve
stylize --face-zoom`` does.
"""

from __future__ import annotations

import csv
import json
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch

from .atomic import atomic_write_text
from .faces.embedders import EMBEDDERS
from .facezoom import FaceZoom
from .faces.mtcnn import MTCNN
from .imageio import ImageReadError, find_images, fit_size, load_image, resize
from .plots import plot_distances, plot_histogram
from .recipe import Recipe
from .skin import ITA_GROUPS, central_region, colour_shift, ita, ita_group, mean_lab
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


def load_named_model(model: str | os.PathLike[str], style_name: str | None) -> tuple[str, torch.nn.Module]:
    """A model's name in the report and its network: a model file (named by its run folder or file stem),
    or a shipped style by name (painting that style)."""
    path = Path(model)
    if path.is_file():
        return path.parent.name if path.name == "model.pt" else path.stem, _with_style(load_model(path), style_name)
    from .styles import list_styles, load_style

    if str(model) in list_styles():
        return str(model), load_style(str(model))
    raise FileNotFoundError(f"model file not found: {path} (and no shipped style has that name)")


DEFAULT_JUDGES = ("sface", "facenet", "insightface")
# Face-size groups by box width in the evaluated photo (upper limit, name). Faces under 32 px at 384 px are
# near or under the face terms' 24 px minimum in 256 px training crops, so they get little identity loss.
FACE_SIZES = ((32.0, "under 32 px"), (64.0, "32-64 px"), (float("inf"), "64 px and over"))


@dataclass
class PreparedPhotos:
    """Photos loaded, faces detected and embedded once, for several :func:`evaluate` calls (one per style)."""

    size: int
    judges: tuple[str, ...]
    embedders: dict[str, Any]
    items: list[dict[str, Any]] = field(default_factory=list)  # path, img, boxes, marks, refs, skin
    files: int = 0
    unreadable: dict[str, str] = field(default_factory=dict)


def prepare_photos(photos: Sequence[str | os.PathLike[str]], *, size: int = 384,
                   judges: Sequence[str] = DEFAULT_JUDGES, min_score: float = 0.95) -> PreparedPhotos:
    """Load each photo (longer side ``size``), detect its faces (MTCNN, score >= ``min_score``), embed them
    with every judge, and measure each face's skin tone (ITA) on the original pixels."""
    embedders = {j: EMBEDDERS.create(j) for j in judges}
    detector = MTCNN()
    prepared = PreparedPhotos(size, tuple(judges), embedders)
    photo_files = find_images(list(photos))
    prepared.files = len(photo_files)
    for path in photo_files:
        try:
            img = load_image(path, max_side=size).rgb
        except ImageReadError as exc:
            prepared.unreadable[str(path)] = str(exc)
            print(f"preserve: skipping unreadable photo {exc}", file=sys.stderr)
            continue
        img = resize(img, fit_size(tuple(img.shape[-2:]), size))
        det = detector.detect(img[None])[0]
        keep = det.scores >= min_score
        boxes, marks = det.boxes[keep], det.landmarks[keep]
        refs, skin = {}, []
        if len(boxes):
            index = torch.zeros(len(boxes), dtype=torch.long)
            with torch.no_grad():
                refs = {j: e.crop_and_embed(img[None], index, boxes, marks) for j, e in embedders.items()}
            for box in boxes:
                region = central_region(box, tuple(img.shape[-2:]))
                lab = mean_lab(img, region)
                skin.append({"region": region, "lab": lab, "ita": ita(lab)})
        prepared.items.append({"path": path, "img": img, "boxes": boxes, "marks": marks, "refs": refs,
                               "skin": skin})
    return prepared


def evaluate(models: Sequence[str | os.PathLike[str]], photos: Sequence[str | os.PathLike[str]],
             out: str | os.PathLike[str], *, style: str | None = None, size: int = 384,
             judges: Sequence[str] = DEFAULT_JUDGES, min_score: float = 0.95, style_name: str | None = None,
             prepared: PreparedPhotos | None = None, face_zoom: FaceZoom | float | None = None,
             latency: bool = True) -> dict[str, Any]:
    """Run the evaluation and write its files; returns the summary.

    ``style_name`` picks the style of multi-style models (one-style models ignore it). ``prepared`` (from
    :func:`prepare_photos`, same photos, size and judges) skips loading, detecting and embedding again.
    ``face_zoom`` (a :class:`~preserve.facezoom.FaceZoom` or its target width in pixels) stylizes every
    model's photos with small faces zoomed. ``latency=False`` skips timing each model at 512 px.
    """
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    nets = dict(load_named_model(m, style_name) for m in models)
    if len(nets) < len(models):
        raise ValueError(f"two models would share a name in the report: {[str(m) for m in models]}")
    names = list(nets)
    if prepared is None:
        prepared = prepare_photos(photos, size=size, judges=judges, min_score=min_score)
    judges = list(prepared.judges)
    zoom = FaceZoom.of(face_zoom)
    loss_recipe = Recipe(content=1.0, style={"image": style, "size": 512}) if style else None
    rows: list[dict[str, Any]] = []
    losses: dict[str, dict[str, list[float]]] = {n: {"content": [], "style": []} for n in names}
    gallery: list[list[torch.Tensor]] = []
    photo_style: list[float] = []  # the style loss of each unstylized photo, the style ratio's denominator
    per_photo: list[dict[str, Any]] = []  # photos.csv: each photo's losses
    for item in prepared.items:
        img, boxes, marks = item["img"], item["boxes"], item["marks"]
        outs = {n: stylize_tensor(net, img) for n, net in nets.items()}
        if zoom is not None:
            outs = {n: zoom(nets[n], img, o) for n, o in outs.items()}
        if loss_recipe is not None:
            with torch.no_grad():  # the photo's features once, for its own style loss and every model's
                features = loss_recipe.encode(img[None])
                photo = loss_recipe(img[None], img[None], content_features=features, stylized_features=features)
                photo_style.append(float(photo.raw["style"][0]))
                per_photo.append({"photo": str(item["path"]), "faces": len(boxes), "photo/style": photo_style[-1]})
                for n, o in outs.items():
                    r = loss_recipe(o[None], img[None], content_features=features)
                    losses[n]["content"].append(float(r.raw["content"][0]))
                    losses[n]["style"].append(float(r.raw["style"][0]))
                    per_photo[-1].update({f"{n}/content": losses[n]["content"][-1],
                                          f"{n}/style": losses[n]["style"][-1]})
        if len(boxes) == 0:
            continue
        index = torch.zeros(len(boxes), dtype=torch.long)
        with torch.no_grad():
            dists = {(n, j): (e.crop_and_embed(outs[n][None], index, boxes, marks) - item["refs"][j]).pow(2).sum(1)
                     for n in names for j, e in prepared.embedders.items()}
        for k in range(len(boxes)):
            skin = item["skin"][k]
            row = {"photo": str(item["path"]), "face": k, "box": [round(v, 1) for v in boxes[k].tolist()],
                   "ita": round(skin["ita"], 2), "skin_tone": ita_group(skin["ita"]),
                   "size": face_size_group(boxes[k].tolist())}
            for (n, j), d in dists.items():
                row[f"{n}/{j}"] = float(d[k])
            for n in names:
                for key, value in colour_shift(skin["lab"], mean_lab(outs[n], skin["region"])).items():
                    row[f"{n}/{key}"] = value
            rows.append(row)
            if len(gallery) < 8:
                x1, y1, x2, y2 = [int(v) for v in boxes[k].tolist()]
                pad = (x2 - x1) // 4
                y1, x1 = max(0, y1 - pad), max(0, x1 - pad)
                gallery.append([t[:, y1:y2 + pad, x1:x2 + pad] for t in [img, *outs.values()]])
    summary = _summarise(rows, names, judges, losses)
    for n, net in nets.items():
        entry = summary["models"][n]
        if photo_style and losses[n]["style"]:
            entry["style_ratio"] = style_ratio(losses[n]["style"], photo_style)
        if latency:
            entry["latency_512_ms"] = latency_ms(net, 512)
    if photo_style:
        summary["photo_style_loss_mean"] = statistics.mean(photo_style)
    if style_name is not None:
        summary["style_name"] = style_name
    if zoom is not None:
        summary["face_zoom"] = {"target": zoom.target, "max_zoom": zoom.max_zoom}
    summary["photos"] = prepared.files - len(prepared.unreadable)
    summary["unreadable_photos"] = prepared.unreadable
    _write(out_dir, rows, summary, names, judges, gallery)
    if per_photo:
        _write_csv(out_dir / "photos.csv", per_photo)
    return summary


def _with_style(net: torch.nn.Module, style_name: str | None) -> torch.nn.Module:
    """``net`` painting ``style_name`` if it holds several styles; one-style networks are left as they are."""
    if style_name is None or not hasattr(net, "set_style"):
        return net
    return net.set_style(style_name)


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
        if rows:
            entry["face_colour"] = {f"{key}_mean": statistics.mean(r[f"{n}/{key}"] for r in rows)
                                    for key in ("hue_deg", "chroma", "delta_e")}
        if n != names[0] and rows:
            entry["by_skin_tone"] = _by_group(rows, "skin_tone", [g for _, g in ITA_GROUPS], n, names[0], judges)
            entry["by_face_size"] = _by_group(rows, "size", [g for _, g in FACE_SIZES], n, names[0], judges)
        for key in ("content", "style"):
            if losses[n][key]:
                entry[f"{key}_loss_mean"] = statistics.mean(losses[n][key])
        summary["models"][n] = entry
    summary["skin_tones"] = {g: c for _, g in ITA_GROUPS if (c := sum(r["skin_tone"] == g for r in rows))}
    summary["face_sizes"] = {g: c for _, g in FACE_SIZES if (c := sum(r["size"] == g for r in rows))}
    return summary


def face_size_group(box: Sequence[float]) -> str:
    """The :data:`FACE_SIZES` group of a face box (x1, y1, x2, y2), by its width in the evaluated photo."""
    width = box[2] - box[0]
    return next(name for limit, name in FACE_SIZES if width < limit)


def _by_group(rows: list[dict[str, Any]], key: str, order: list[str], name: str, baseline: str,
              judges: list[str]) -> dict[str, Any]:
    """Per group of ``rows[key]`` (in ``order``): how many faces, and the share each judge finds better kept by
    ``name`` than ``baseline``."""
    groups: dict[str, Any] = {}
    for group in order:
        members = [r for r in rows if r[key] == group]
        if members:
            groups[group] = {"faces": len(members),
                             **{j: statistics.mean(float(r[f"{name}/{j}"] < r[f"{baseline}/{j}"]) for r in members)
                                for j in judges}}
    return groups


def _write_csv(path: Path, rows: list[dict[str, Any]], fields: list[str] | None = None) -> None:
    """``rows`` as a CSV file with a header (``fields``; default: the first row's keys, in order)."""
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields or list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _write(out: Path, rows: list[dict[str, Any]], summary: dict[str, Any], names: list[str], judges: list[str],
           gallery: list[list[torch.Tensor]]) -> None:
    atomic_write_text(out / "faces.json", json.dumps(rows, indent=1))
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    fields = ["photo", "face", "box", "ita", "skin_tone", "size"] + [f"{n}/{j}" for n in names for j in judges] \
        + [f"{n}/{key}" for n in names for key in ("hue_deg", "chroma", "delta_e")]
    _write_csv(out / "faces.csv", rows, fields)
    if gallery:
        save_grid(gallery, out / "gallery.png", col_labels=["original", *names], cell=128)
    if len(names) > 1 and rows:
        plot_histogram([r[f"{names[1]}/{judges[-1]}"] - r[f"{names[0]}/{judges[-1]}"] for r in rows],
                       out / "histogram.png", model=names[1], baseline=names[0], judge=judges[-1])
        plot_distances(rows, out / "distances.png", model=names[1], baseline=names[0], judges=judges)
