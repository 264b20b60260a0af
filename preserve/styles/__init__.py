"""Reference style models that ship inside the package: ``preserve stylize --style NAME INPUT``.

Each style is two files in this folder: ``NAME.pt`` (a model file in half precision, read by
:func:`preserve.stylize.load_model` with ``weights_only=True``) and ``NAME.md`` (its model card: recipe,
data, steps, machine, evaluation numbers and the painting's licence). ``benchmarks/reference_models.py``
trains them and ``docs/make_results.py`` evaluates them and writes the cards.
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


def list_styles(pattern: str = "*") -> list[str]:
    """Names of the shipped style models, sorted, filtered by a shell-style pattern."""
    names = sorted(p.stem for p in STYLE_DIR.glob("*.pt"))
    return [n for n in names if fnmatch.fnmatch(n, pattern)]


def style_path(name: str) -> Path:
    """The model file of a shipped style; unknown names are reported with close matches."""
    path = STYLE_DIR / f"{name}.pt"
    if os.sep in name or "/" in name or not path.is_file():
        names = list_styles()
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise UnknownNameError(f"unknown style {name!r}.{hint} Shipped styles: {', '.join(names) or 'none'}. "
                               "A trained model file is given with --model instead.")
    return path


def style_card(name: str) -> str:
    """The model card (markdown) of a shipped style."""
    card = style_path(name).with_suffix(".md")
    return card.read_text(encoding="utf-8") if card.is_file() else f"# {name}\n\n(no model card)\n"


def style_summary(name: str) -> str:
    """The first line of the card after its title: one sentence on what the model is."""
    lines = [ln.strip() for ln in style_card(name).splitlines() if ln.strip() and not ln.startswith("#")]
    return lines[0] if lines else ""


def ship_model(model_file: str | os.PathLike[str], out: str | os.PathLike[str], *,
               dtype: torch.dtype = torch.float16, info: dict[str, Any] | None = None) -> Path:
    """Write a compact copy of a trained ``model.pt``: weights in ``dtype``, recipe paths cut to file
    names (so no path of the training machine ships), and ``info`` (data, machine, branch point) added."""
    from ..atomic import atomic_torch_save

    state = torch.load(model_file, map_location="cpu", weights_only=True)
    if "state_dict" not in state:
        raise ValueError(f"{model_file}: not a final model file (model.pt)")
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
