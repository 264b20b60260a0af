"""Style models that ship inside the package: ``preserve stylize --style NAME INPUT``.

Each model is two files in this folder: ``FILE.pt`` (a model file in half precision, read by
:func:`preserve.stylize.load_model` with ``weights_only=True``) and ``FILE.md`` (its model card: recipe,
data, steps, machine, evaluation numbers and the paintings' licences). A multi-style file ships each of its
styles by name (:func:`catalogue`). ``benchmarks/model_zoo.py`` trains them and ``docs/make_results.py``
evaluates them, ships them and writes the cards.
"""
from __future__ import annotations

import difflib
import fnmatch
import json
import os
from pathlib import Path
from typing import Any

import torch

from ..registry import UnknownNameError

STYLE_DIR = Path(__file__).resolve().parent


def _styles_in(path: Path) -> list[str]:
    """The style names a model file holds (its network config), without building the network."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    return list(json.loads(state.get("config", "{}")).get("style_names", []))


def catalogue() -> dict[str, tuple[Path, str | None]]:
    """Every shipped style name: its model file, and the style to choose in it (None: a one-style file).

    A one-style file ``NAME.pt`` ships the style ``NAME``. A multi-style file ships each of its styles by
    name; if its file name ends in ``-faces`` (the face-preserving twin), each name gets that suffix too."""
    entries: dict[str, tuple[Path, str | None]] = {}
    for path in sorted(STYLE_DIR.glob("*.pt")):
        names = _styles_in(path)
        if len(names) <= 1:
            entries[path.stem] = (path, None)
            continue
        suffix = "-faces" if path.stem.endswith("-faces") else ""
        entries.update({f"{name}{suffix}": (path, name) for name in names})
    return dict(sorted(entries.items()))


def list_styles(pattern: str = "*") -> list[str]:
    """Names of the shipped styles, sorted, filtered by a shell-style pattern."""
    return [n for n in catalogue() if fnmatch.fnmatch(n, pattern)]


def find_style(name: str) -> tuple[Path, str | None]:
    """The model file of a shipped style and the style to choose in it; unknown names are reported with
    close matches."""
    entries = catalogue()
    if name not in entries:
        names = list(entries)
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise UnknownNameError(f"unknown style {name!r}.{hint} Shipped styles: {', '.join(names) or 'none'}. "
                               "A trained model file is given with --model instead.")
    return entries[name]


def style_path(name: str) -> Path:
    """The model file that holds a shipped style (see :func:`find_style` for the style within it)."""
    return find_style(name)[0]


def load_style(name: str) -> torch.nn.Module:
    """A shipped style's network, painting that style."""
    from ..models.io import load_model

    path, style = find_style(name)
    net = load_model(path)
    return net.set_style(style) if style is not None else net


def style_card(name: str) -> str:
    """The model card (markdown) of the file that holds a shipped style."""
    card = style_path(name).with_suffix(".md")
    return card.read_text(encoding="utf-8") if card.is_file() else f"# {name}\n\n(no model card)\n"


def style_summary(name: str) -> str:
    """One line on a shipped style: the painting it was trained on, from its file's ``info``, else the card."""
    path, style = find_style(name)
    info = json.loads(torch.load(path, map_location="cpu", weights_only=True).get("info", "{}") or "{}")
    painting = info.get("paintings", {}).get(style or name)
    if painting:
        return f"{painting}{' (face-preserving)' if name.endswith('-faces') else ''}"
    lines = [ln.strip() for ln in style_card(name).splitlines() if ln.strip() and not ln.startswith("#")]
    return lines[0] if lines else ""


def ship_model(model_file: str | os.PathLike[str], out: str | os.PathLike[str], *,
               dtype: torch.dtype = torch.float16, info: dict[str, Any] | None = None) -> Path:
    """Write a compact copy of a trained ``model.pt`` (or of a training checkpoint, for a run stopped early):
    weights in ``dtype``, recipe paths cut to file names (so no path of the training machine ships), and
    ``info`` (data, machine, steps) added."""
    from ..atomic import atomic_torch_save
    from ..models.io import MODEL_FORMAT, checkpoint_weights

    state = torch.load(model_file, map_location="cpu", weights_only=True)
    if "state_dict" not in state and {"model", "network_config", "config"} <= set(state):
        run = json.loads(state["config"])
        state = {"format": MODEL_FORMAT, "network": state.get("network", "johnson"),
                 "state_dict": checkpoint_weights(state), "config": state["network_config"], "recipe": json.dumps(run.get("recipe", {})),
                 "steps": int(state["step"]), "image_size": run.get("image_size")}
    if "state_dict" not in state:
        raise ValueError(f"{model_file}: not a model file (model.pt) or a training checkpoint")
    state["state_dict"] = {k: v.to(dtype) if v.is_floating_point() else v for k, v in state["state_dict"].items()}
    state["recipe"] = json.dumps(strip_paths(json.loads(state.get("recipe", "{}"))))
    state["info"] = json.dumps(info or {})
    return atomic_torch_save(state, Path(out))


def strip_paths(value: Any) -> Any:
    """``value`` (a recipe) with every absolute path cut to its file name."""
    if isinstance(value, dict):
        return {k: strip_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_paths(v) for v in value]
    if isinstance(value, str) and os.path.isabs(value):
        return Path(value).name
    return value
