"""A loss recipe: a weighted sum of preservation plugins over one shared encoder.

Built from Python::

    Recipe(content=1.0, style=dict(weight=30.0, image="starry.jpg"), tv=10.0)

or from a YAML/TOML file with the same keys (see ``examples/recipes``). The
key ``encoder`` names the loss network (default ``vgg19``); every other key
is a term: a number (its weight), a mapping with ``weight`` and the plugin's
options, or ``null``/``false`` to leave a term out. A term is looked up as the
plugin of its own name unless it says ``plugin: NAME``, so one plugin can
appear twice (``style_fine: {plugin: style, layers: [relu1_2]}``). With a
multi-style network, ``weight_per_style: {style name: factor}`` multiplies a
term's weight for the images of the named styles (others keep 1), so one term
can count more or less in some styles: ``face: {weight: 3e4, weight_per_style:
{the_scream: 0.5}}``.
"""

from __future__ import annotations

import copy
import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch
from torch import nn

from .encoders.base import Encoder
from .plugin import LossContext, Needs, Plugin, weights_of_styles
from .registry import create_encoder, PLUGINS

RESERVED_KEYS = frozenset({"encoder"})


class RecipeError(ValueError):
    """A recipe file or mapping that cannot be used; the message says where and why."""


class RecipeWarning(UserWarning):
    """A recipe that works but probably not as meant (a negative weight, say)."""


@dataclass(frozen=True)
class TermSpec:
    """One term of a recipe, before it is built."""

    name: str
    plugin: str
    weight: float
    options: Mapping[str, Any] = field(default_factory=dict)
    weight_per_style: Mapping[str, float] | None = None


@dataclass
class RecipeOutput:
    """The total loss and its parts.

    ``terms`` are the weighted per-sample contributions (what adds up to the
    total); ``raw`` the same before weighting. ``total`` is the batch mean.
    """

    total: torch.Tensor
    terms: dict[str, torch.Tensor]
    raw: dict[str, torch.Tensor]
    stats: dict[str, float] = field(default_factory=dict)

    def means(self) -> dict[str, float]:
        return {k: float(v.detach().mean()) for k, v in self.terms.items()}


def parse_terms(spec: Mapping[str, Any], base_dir: str | os.PathLike[str] | None = None) -> list[TermSpec]:
    """Turn recipe keys into :class:`TermSpec` objects, resolving file options against ``base_dir``."""
    terms = []
    for name, value in spec.items():
        if name in RESERVED_KEYS:
            continue
        if value is None or value is False:
            continue
        if isinstance(value, bool):
            value = {}
        if isinstance(value, str):
            value = _number(value, f"term {name!r}")  # YAML 1.1 reads 3.0e4 (no exponent sign) as a string
        if isinstance(value, (int, float)):
            value = {"weight": float(value)}
        if not isinstance(value, Mapping):
            raise RecipeError(f"term {name!r}: expected a weight or a mapping of options, got {value!r}")
        options = dict(value)
        plugin = str(options.pop("plugin", name))
        try:
            card = getattr(PLUGINS.get(plugin), "card", None)
        except KeyError as exc:
            raise RecipeError(f"term {name!r}: {exc}") from None
        weight = options.pop("weight", card.default_weight if card else 1.0)
        per_style = options.pop("weight_per_style", None)
        if per_style is not None and not isinstance(per_style, Mapping):
            raise RecipeError(f"term {name!r}: 'weight_per_style' is a mapping of style names to factors, "
                              f"got {per_style!r}")
        try:
            weight = float(weight)
        except (TypeError, ValueError):
            raise RecipeError(f"term {name!r}: weight must be a number, got {weight!r}") from None
        if not math.isfinite(weight):
            raise RecipeError(f"term {name!r}: weight must be finite, got {weight}")
        if weight < 0:
            warnings.warn(f"term {name!r} has a negative weight ({weight:g}): training will push its loss up, "
                          "not down", RecipeWarning, stacklevel=2)
        if base_dir is not None:
            options = _resolve_paths(options, getattr(card, "path_options", ()), Path(base_dir))
        terms.append(TermSpec(name, plugin, weight, options, dict(per_style) if per_style else None))
    if not terms:
        raise RecipeError("a recipe needs at least one term")
    return terms


def _number(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise RecipeError(f"{where}: expected a weight or a mapping of options, got {text!r}") from None


def _resolve_paths(options: dict[str, Any], path_options: tuple[str, ...], base: Path) -> dict[str, Any]:
    def fix(v: Any) -> Any:
        if isinstance(v, str) and not os.path.isabs(v):
            return str((base / v).resolve())
        if isinstance(v, (list, tuple)):
            return [fix(x) for x in v]
        return v

    return {k: fix(v) if k in path_options else v for k, v in options.items()}


def load_recipe_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML (``.yaml``/``.yml``), TOML (``.toml``) or JSON recipe into a mapping."""
    p = Path(path)
    if not p.is_file():
        raise RecipeError(f"recipe file not found: {p}")
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        elif p.suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # noqa: BLE001 - any parser error becomes one clear message
        raise RecipeError(f"{p}: not a valid {p.suffix.lstrip('.') or 'YAML'} recipe: {exc}") from None
    if not isinstance(data, Mapping):
        raise RecipeError(f"{p}: a recipe is a mapping of term names to weights or options, got {type(data).__name__}")
    return dict(data)


class Recipe(nn.Module):
    """Weighted plugins plus the frozen encoder they share.

    Calling the recipe on a stylized batch and its content batch runs the
    encoder once on each (stylized with grad, content without) for the union
    of the layers the plugins declared, then every plugin on the shared
    features, and returns a :class:`RecipeOutput`.
    """

    def __init__(
        self,
        encoder: str | Mapping[str, Any] | Encoder = "vgg19",
        *,
        base_dir: str | os.PathLike[str] | None = None,
        **terms: Any,
    ) -> None:
        super().__init__()
        spec: dict[str, Any] = {"encoder": encoder if not isinstance(encoder, Encoder) else encoder.name, **terms}
        self._spec = _jsonable(spec)
        self.term_specs = parse_terms(terms, base_dir)
        self.encoder = _build_encoder(encoder)
        self.plugins = nn.ModuleDict()
        self.weights: dict[str, float] = {}
        for term in self.term_specs:
            try:
                plugin = PLUGINS.create(term.plugin, **term.options)
            except (TypeError, ValueError, OSError) as exc:  # bad options, a missing or unreadable file
                raise RecipeError(f"term {term.name!r} (plugin {term.plugin!r}): {exc}") from None
            if not isinstance(plugin, Plugin):
                raise RecipeError(f"plugin {term.plugin!r} did not build a preserve.Plugin (got {type(plugin).__name__})")
            self.plugins[term.name] = plugin
            self.weights[term.name] = term.weight
        self.needs = Needs()
        for plugin in self.plugins.values():
            self.needs = self.needs | plugin.needs()
        self.encoder.check_layers(self.needs.stylized_layers | self.needs.content_layers)
        for plugin in self.plugins.values():
            plugin.setup(self.encoder)
        self.weight_per_style: dict[str, torch.Tensor] = {}  # term -> (S,) factors, indexed by each image's style
        for term in self.term_specs:
            if term.weight_per_style:
                self.weight_per_style[term.name] = self._factors(term)

    def _factors(self, term: TermSpec) -> torch.Tensor:
        names = self.style_names()
        if len(names) < 2:
            raise RecipeError(f"term {term.name!r}: 'weight_per_style' weighs the styles of a multi-style network; "
                              f"this recipe holds one style ({names[0]!r})")
        try:
            return torch.tensor(weights_of_styles(term.weight_per_style, names, f"term {term.name!r}: "
                                                  "'weight_per_style'"))
        except ValueError as exc:
            raise RecipeError(str(exc)) from None

    # -- construction --------------------------------------------------------
    @classmethod
    def from_file(cls, path: str | os.PathLike[str], **overrides: Any) -> "Recipe":
        """Build from a YAML/TOML/JSON file; relative file options resolve against its folder."""
        data = load_recipe_file(path)
        data.update(overrides)
        return cls.from_dict(data, base_dir=Path(path).resolve().parent)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base_dir: str | os.PathLike[str] | None = None) -> "Recipe":
        data = dict(data)
        encoder = data.pop("encoder", "vgg19")
        return cls(encoder, base_dir=base_dir, **data)

    def to_dict(self) -> dict[str, Any]:
        """A plain mapping that rebuilds this recipe (file options made absolute)."""
        return _terms_to_dict(self._spec["encoder"], self.term_specs)

    # -- evaluation ----------------------------------------------------------
    def forward(
        self,
        stylized: torch.Tensor,
        content: torch.Tensor,
        inputs: Mapping[str, Any] | None = None,
        style: torch.Tensor | None = None,
        network: Callable[[torch.Tensor], torch.Tensor] | None = None,
        content_features: Mapping[str, torch.Tensor] | None = None,
        stylized_features: Mapping[str, torch.Tensor] | None = None,
    ) -> RecipeOutput:
        """The loss of ``stylized`` against ``content``; ``style`` (``(B,)`` long) is each image's style index
        when the network holds several styles; ``network`` is the style network as it made ``stylized``
        (for plugins that run it again, see :class:`~preserve.plugin.LossContext`). ``content_features``
        (from :meth:`encode_content` or :meth:`encode`, broadcast over the batch) skips the encoder on
        ``content``: for scoring several stylized versions of one photo, as evaluation does.
        ``stylized_features`` (from :meth:`encode`) likewise skips it on ``stylized``, so no gradient reaches
        ``stylized`` through them: for scoring an image already encoded, such as a photo against itself."""
        missing = self.needs.inputs - set(inputs or {})
        if missing:
            raise ValueError(f"the recipe's plugins need input(s) {sorted(missing)} that were not given")
        if stylized_features is None:
            stylized_features = self.encoder(stylized, self.needs.stylized_layers) if self.needs.stylized_layers else {}
        else:
            stylized_features = _given("stylized_features", stylized_features, self.needs.stylized_layers, len(stylized))
        if content_features is None:
            content_features = self.encode_content(content)
        else:
            content_features = _given("content_features", content_features, self.needs.content_layers, len(content))
        ctx = LossContext(stylized, content, stylized_features, content_features, dict(inputs or {}), style, network)
        raw: dict[str, torch.Tensor] = {}
        terms: dict[str, torch.Tensor] = {}
        for name, plugin in self.plugins.items():
            value = plugin(ctx).float()
            if value.shape != (ctx.batch_size,):
                raise RuntimeError(
                    f"plugin {name!r} returned shape {tuple(value.shape)}; plugins return one loss per sample"
                )
            raw[name] = value
            terms[name] = value * self.weights[name]
            if name in self.weight_per_style and style is not None:
                terms[name] = terms[name] * self.weight_per_style[name].to(value.device)[style.to(value.device)]
        total = torch.stack(list(terms.values())).sum(0).mean()
        stats = {f"{name}_{k}": v for name, plugin in self.plugins.items() for k, v in plugin.stats().items()}
        return RecipeOutput(total, terms, raw, stats)

    def encode_content(self, content: torch.Tensor) -> dict[str, torch.Tensor]:
        """The encoder's features of a content batch at the layers the plugins read from it (no gradient);
        pass them to :meth:`forward` as ``content_features`` to score that content more than once."""
        if not self.needs.content_layers:
            return {}
        with torch.no_grad():
            return self.encoder(content, self.needs.content_layers)

    def encode(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """The encoder's features of ``images`` at every layer the plugins read (no gradient), in one pass:
        what :meth:`forward` takes as ``content_features``, ``stylized_features`` or both."""
        layers = self.needs.stylized_layers | self.needs.content_layers
        if not layers:
            return {}
        with torch.no_grad():
            return self.encoder(images, layers)

    def style_names(self) -> list[str]:
        """The styles a network trained with this recipe holds: the names of a multi-style term's styles, or one
        name (the style term's image) for a one-style recipe. Two multi-style terms must agree."""
        lists = [names for plugin in self.plugins.values() if (names := plugin.styles())]
        several = [names for names in lists if len(names) > 1]
        if any(names != several[0] for names in several[1:]):
            raise RecipeError(f"the recipe's terms hold different styles: {several}")
        return several[0] if several else lists[0] if lists else ["style"]

    def annotate(self, files: Sequence[str], roots: Sequence[str] | None = None,
                 progress: bool = True) -> dict[str, Mapping[str, Any]]:
        """Per-file annotations for every extra input the plugins need, each computed once by one plugin."""
        out: dict[str, Mapping[str, Any]] = {}
        for name in sorted(self.needs.inputs):
            for plugin in self.plugins.values():
                if name in plugin.needs().inputs:
                    table = plugin.annotate(files, roots=roots, progress=progress)
                    if table is not None:
                        out[name] = table
                        break
            else:
                raise ValueError(f"no plugin of this recipe can provide the input {name!r}")
        return out

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={w:g}" for k, w in self.weights.items())


def normalize_recipe(data: Mapping[str, Any], base_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Check a recipe mapping and return it in full form (weights explicit, paths absolute), without building it."""
    data = dict(data)
    encoder = data.pop("encoder", "vgg19")
    return _terms_to_dict(_jsonable(encoder), parse_terms(data, base_dir))


def _terms_to_dict(encoder: Any, terms: list[TermSpec]) -> dict[str, Any]:
    out: dict[str, Any] = {"encoder": encoder}
    for term in terms:
        entry = {"weight": term.weight, **_jsonable(dict(term.options))}
        if term.weight_per_style:
            entry["weight_per_style"] = dict(term.weight_per_style)
        if term.plugin != term.name:
            entry["plugin"] = term.plugin
        out[term.name] = entry
    return out


def _build_encoder(encoder: str | Mapping[str, Any] | Encoder) -> Encoder:
    if isinstance(encoder, Encoder):
        return encoder.freeze()
    if isinstance(encoder, str):
        return create_encoder(encoder).freeze()
    if isinstance(encoder, Mapping):
        options = dict(encoder)
        name = options.pop("name", None)
        if not name:
            raise RecipeError(f"encoder mapping needs a 'name': {dict(encoder)!r}")
        return create_encoder(name, **options).freeze()
    raise RecipeError(f"encoder must be a name, a mapping or an Encoder, got {type(encoder).__name__}")


def _jsonable(value: Any) -> Any:
    """A deep copy of recipe options with tensors and paths replaced by plain values."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, torch.Tensor):
        return f"<tensor {tuple(value.shape)}>"
    return copy.deepcopy(value)


#: The embedded default recipe for the default encoder (VGG-19, Caffe weights).
#: See docs/recipes.md for how these weights relate to the paper's 1e5 / 1e10 / 1e-6.
DEFAULT_TERMS: dict[str, float] = {"content": 1.0, "style": 0.2, "tv": 3.0e4}


def default_recipe(style_image: str | list[str] | None, weights: Mapping[str, float | None] | None = None) -> dict[str, Any]:
    """The embedded default recipe (content + style + TV), with optional weight overrides."""
    weights = weights or {}
    if style_image is None:
        raise ValueError("the default recipe needs a style image (--style IMAGE)")
    terms: dict[str, Any] = {"encoder": "vgg19"}
    for name, w in DEFAULT_TERMS.items():
        terms[name] = {"weight": weights.get(name) if weights.get(name) is not None else w}
    terms["style"]["image"] = style_image
    return terms


def _check_style_image(style: str | os.PathLike[str]) -> None:
    """A style given by the user must be an image file; a shipped style's name is for stylizing, not training."""
    if Path(style).is_file():
        return
    from .styles import list_styles

    if str(style) in list_styles():
        raise FileNotFoundError(f"--style {style}: that is the name of a shipped style model, which "
                                f"'preserve stylize --style {style}' applies; training and --optimize need a style image file "
                                "(for example examples/data/styles/starry_night.jpg)")
    raise FileNotFoundError(f"--style {style}: no such style image")


def resolve_recipe(recipe: str | os.PathLike[str] | Mapping[str, Any] | None,
                   style: str | list[str] | None, weights: Mapping[str, float | None] | None = None) -> dict[str, Any]:
    """A plain recipe mapping with absolute file paths, from a file, a mapping or the defaults."""
    weights = dict(weights or {})
    style_abs: str | list[str] | None
    for s in [] if style is None else [style] if isinstance(style, (str, os.PathLike)) else style:
        _check_style_image(s)
    if style is None:
        style_abs = None
    elif isinstance(style, (list, tuple)):
        style_abs = [str(Path(s).resolve()) for s in style]
    else:
        style_abs = str(Path(style).resolve())
    if recipe is None:
        data = default_recipe(style_abs, weights)
        weights = {k: v for k, v in weights.items() if k not in data}
    else:
        if isinstance(recipe, Mapping):
            data, base = dict(recipe), Path.cwd()
        else:
            data, base = load_recipe_file(recipe), Path(recipe).resolve().parent
        data = normalize_recipe(data, base_dir=base)
        if style_abs is not None:
            term = data.get("style")
            if not isinstance(term, dict):
                raise ValueError("--style was given but the recipe has no 'style' term")
            term["image"] = style_abs
    for name, w in weights.items():
        if w is None:
            continue
        entry = data.get(name)
        if isinstance(entry, dict):
            entry["weight"] = float(w)
        else:
            data[name] = {"weight": float(w)}
    return data


def _given(what: str, features: Mapping[str, torch.Tensor], layers: frozenset[str], batch: int) -> dict[str, torch.Tensor]:
    """Features handed to :meth:`Recipe.forward`: the layers it needs, each broadcast to the batch."""
    absent = layers - set(features)
    if absent:
        raise ValueError(f"{what} lacks layer(s) {sorted(absent)} the recipe's plugins need")
    return {k: features[k].expand(batch, *features[k].shape[1:]) for k in layers}
