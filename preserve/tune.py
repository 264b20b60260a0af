"""``preserve tune``: choose a term's weight by measurement, not by hand (the paper's future work 5.3.1).

A trained run is branched at one checkpoint into one short run per candidate weight of a term (the face
term by default), plus a baseline branch without that term, all for the same steps on the same batches.
Every branch is then evaluated on held-out photos that are **not** the evaluation set (``preserve data
build`` writes them to ``tune/``): the share of faces each independent judge finds better kept than by the
baseline, and the style ratio against the baseline's. The report holds the Pareto front of those two
numbers and the lightest weight that reaches the goal (by default: at least 97 % of faces better kept by
every judge, at no more than 1.10 times the baseline's style ratio). Each branch's colour shift inside the
face boxes (mean ΔE*ab, as ``preserve evaluate`` reports it) is kept beside them, for colour terms such as
``face_tone``.

Everything lands in the output folder (``branch-*`` run folders, ``eval/``, ``tune.json``); an interrupted
tune resumes the branches where they stopped.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .atomic import atomic_write_text
from .rundir import RunDir
from .train import Trainer, load_config, read_checkpoint


@dataclass
class TuneConfig:
    """What :func:`tune` searches and how it judges; saved in ``tune.json``."""

    run: str
    out: str
    photos: list[str]
    weights: list[float]
    steps: int = 50
    term: str = "face"
    styles: list[str] | None = None  # multi-style networks: the styles to judge (default: all)
    size: int = 384
    judges: list[str] = field(default_factory=lambda: ["facenet", "insightface"])
    goal_share: float = 0.97
    goal_style: float = 1.10
    device: str = "auto"
    progress: bool = True


def weight_tag(weight: float) -> str:
    """The folder name part of a weight: ``30000`` for 3e4, ``none`` for 0 (the baseline without the term)."""
    return "none" if weight == 0 else f"{weight:g}"


def _branch_recipe(recipe: dict[str, Any], term: str, weight: float) -> dict[str, Any]:
    recipe = json.loads(json.dumps(recipe))
    if weight == 0:
        recipe.pop(term, None)
        return recipe
    spec = recipe.get(term)
    recipe[term] = dict(spec, weight=weight) if isinstance(spec, dict) else {"weight": weight}
    return recipe


def _style_images(recipe: dict[str, Any], names: list[str]) -> dict[str, str]:
    """The style image of each style name, from the run's recipe (``style.image``: one path or a list)."""
    images = recipe.get("style", {}).get("image") if isinstance(recipe.get("style"), dict) else None
    images = [images] if isinstance(images, str) else list(images or [])
    if len(images) != len(names):
        raise ValueError(f"the run's recipe names {len(images)} style image(s) for {len(names)} style(s)")
    return dict(zip(names, images))


def _face_delta_e(per_style: dict[str, dict[str, Any]], name: str, styles: list[str]) -> float | None:
    """A branch's colour shift inside face boxes (mean ΔE*ab over faces, then over styles); None without faces."""
    shifts = [per_style[s]["models"][name]["face_colour"]["delta_e_mean"] for s in styles
              if "face_colour" in per_style[s]["models"][name]]
    return statistics.mean(shifts) if shifts else None


def pareto_front(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The points no other point beats on both ``share`` (higher is better) and ``style`` (lower is better)."""
    def beaten(p: dict[str, Any]) -> bool:
        return any(q is not p and q["share"] >= p["share"] and q["style"] <= p["style"]
                   and (q["share"] > p["share"] or q["style"] < p["style"]) for q in points)
    return sorted((p for p in points if not beaten(p)), key=lambda p: p["weight"])


def tune(config: TuneConfig) -> dict[str, Any]:
    """Branch, train, evaluate and report (see the module docstring); returns what ``tune.json`` holds."""
    from .evaluate import evaluate, prepare_photos
    from .recipe import Recipe

    if not config.weights or any(w <= 0 for w in config.weights):
        raise ValueError("give one or more positive candidate weights (--weights 1e4 3e4 1e5)")
    if config.steps < 1:
        raise ValueError(f"--steps must be at least 1, got {config.steps}")
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    source = RunDir(config.run).checkpoint
    branch_point = out / "branch-point.pt"
    if not branch_point.is_file():  # a copy: the source run may go on training while branches read it
        if not source.is_file():
            raise FileNotFoundError(f"--run {config.run}: no checkpoint at {source}")
        shutil.copyfile(source, branch_point)
    start = int(read_checkpoint(branch_point, "--run")["step"])
    run_config = load_config(config.run)
    names = Recipe.from_dict(run_config.recipe).style_names()
    styles = config.styles or names
    unknown = sorted(set(styles) - set(names))
    if unknown:
        raise ValueError(f"unknown style(s) {', '.join(unknown)}; the run's styles: {', '.join(names)}")
    images = _style_images(run_config.recipe, names)

    models: dict[float, Path] = {}
    for weight in [0.0, *sorted(config.weights)]:
        folder = out / f"branch-{weight_tag(weight)}"
        models[weight] = folder / "model.pt"
        if models[weight].is_file():
            continue
        resume = (folder / "checkpoints" / "last.pt").is_file()
        branch = dataclasses.replace(run_config, out=str(folder), init=str(branch_point), steps=start + config.steps,
                                     recipe=_branch_recipe(run_config.recipe, config.term, weight),
                                     preview_images=[], keep_every=None, progress=config.progress,
                                     checkpoint_every=max(10, config.steps // 4))
        Trainer(branch, resume=resume, device=config.device).fit()

    prepared = prepare_photos(config.photos, size=config.size, judges=config.judges)
    per_style: dict[str, dict[str, Any]] = {}
    for style in styles:
        per_style[style] = evaluate([str(models[w]) for w in models], [], out / "eval" / style,
                                    style=images[style], style_name=style if len(names) > 1 else None,
                                    prepared=prepared, latency=False)
    baseline = "branch-none"
    points = []
    for weight in sorted(config.weights):
        name = f"branch-{weight_tag(weight)}"
        shares = {j: statistics.mean(per_style[s]["models"][name][j].get(f"improved_share_vs_{baseline}", 0.0)
                                     for s in styles) for j in config.judges}
        style_rel = statistics.mean(per_style[s]["models"][name]["style_ratio"]
                                    / per_style[s]["models"][baseline]["style_ratio"] for s in styles)
        points.append({"weight": weight, "share": min(shares.values()), "shares": shares, "style": style_rel,
                       "face_delta_e": _face_delta_e(per_style, name, styles),
                       "meets_goal": min(shares.values()) >= config.goal_share and style_rel <= config.goal_style})
    reaching = [p for p in points if p["meets_goal"]]
    report = {"config": dataclasses.asdict(config), "branch_step": start, "steps": config.steps,
              "faces": per_style[styles[0]]["faces"], "styles": styles, "points": points,
              "baseline_face_delta_e": _face_delta_e(per_style, baseline, styles),
              "pareto_front": [p["weight"] for p in pareto_front(points)],
              "chosen": min(p["weight"] for p in reaching) if reaching else None}
    atomic_write_text(out / "tune.json", json.dumps(report, indent=2))
    return report
