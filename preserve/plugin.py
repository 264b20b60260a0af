"""The preservation-plugin contract.

A plugin is a ``torch.nn.Module`` that turns a :class:`LossContext` (the
stylized batch, the content batch, the shared encoder features of both and
any extra inputs) into a **per-sample** loss tensor of shape ``(B,)``.
It declares what it reads through :meth:`Plugin.needs`, so a recipe can run
the loss network once per batch for the union of all layers, and it
describes itself with a :class:`PluginCard`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping, Sequence

import torch
from torch import nn

if TYPE_CHECKING:
    from .annotations import Annotation
    from .encoders.base import Encoder


@dataclass(frozen=True)
class PluginCard:
    """What a plugin is, in the spirit of timm's pretrained configs."""

    name: str
    summary: str
    default_weight: float
    inputs: tuple[str, ...] = ()
    """Extra inputs the plugin needs beside images and features, e.g. ``("faces",)``."""
    path_options: tuple[str, ...] = ()
    """Options that name files; a recipe file resolves them against its own folder."""
    weights: str | None = None
    """Weights the plugin itself loads (not the shared encoder), or None."""
    weights_licence: str | None = None
    reference: str | None = None


def layer_spec(plugin: str, layers: str | Sequence[str],
               layer_weights: Sequence[float] | None = None) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """A plugin's ``layers`` option (one layer name or a list) and ``layer_weights`` (None: 1 for each),
    checked: at least one layer, one weight per layer. Errors name the plugin."""
    names = tuple([layers] if isinstance(layers, str) else layers)
    if not names:
        raise ValueError(f"{plugin}: 'layers' must name at least one encoder layer")
    weights = tuple(float(w) for w in layer_weights) if layer_weights is not None else (1.0,) * len(names)
    if len(weights) != len(names):
        raise ValueError(f"{plugin}: 'layer_weights' needs one number per layer ({len(names)}), got {len(weights)}")
    return names, weights


def weights_of_styles(given: Mapping[str, float] | Sequence[float], names: Sequence[str],
                      where: str) -> tuple[float, ...]:
    """One non-negative weight per style of a multi-style network, in ``names`` order, from ``{name: weight}``
    (styles not named weigh 1) or a list with one number per style. Errors start with ``where``."""
    if isinstance(given, Mapping):
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise ValueError(f"{where} names unknown style(s) {unknown}; the styles are {list(names)}")
        values = [given.get(name, 1.0) for name in names]
    else:
        values = list(given)
        if len(values) != len(names):
            raise ValueError(f"{where} needs one number per style ({len(names)}), got {len(values)}")
    try:
        weights = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise ValueError(f"{where} must be numbers, got {values}") from None
    if any(not w >= 0 for w in weights):  # 'not >=' also catches NaN
        raise ValueError(f"{where} must be non-negative, got {list(weights)}")
    return weights


@dataclass(frozen=True)
class Needs:
    """Which encoder layers a plugin reads, for the stylized and the content batch; which extra per-file
    inputs it needs; and whether it runs the style network again (``network``: see :class:`LossContext`)."""

    stylized_layers: frozenset[str] = frozenset()
    content_layers: frozenset[str] = frozenset()
    inputs: frozenset[str] = frozenset()
    network: bool = False

    def __or__(self, other: "Needs") -> "Needs":
        return Needs(
            self.stylized_layers | other.stylized_layers,
            self.content_layers | other.content_layers,
            self.inputs | other.inputs,
            self.network or other.network,
        )


@dataclass
class LossContext:
    """Everything a plugin may read for one batch.

    ``stylized`` and ``content`` are RGB in [0, 1], shape ``(B, 3, H, W)``.
    ``stylized_features`` carry gradients; ``content_features`` do not.
    ``style`` is the index of the style each image was painted in (``(B,)`` long) when the network holds
    several styles, else None.
    ``network`` is the style network as this batch ran it (each image in its own style), for plugins that
    run it again on changed inputs (their ``needs().network`` is True): ``network(x)`` takes a ``(B, 3, H,
    W)`` batch and returns the stylized batch, with gradients to the network's weights. It is None where
    no network is being trained (optimisation mode, ``recipe explain`` without a model).
    """

    stylized: torch.Tensor
    content: torch.Tensor
    stylized_features: Mapping[str, torch.Tensor] = field(default_factory=dict)
    content_features: Mapping[str, torch.Tensor] = field(default_factory=dict)
    inputs: Mapping[str, Any] = field(default_factory=dict)
    style: torch.Tensor | None = None
    network: Callable[[torch.Tensor], torch.Tensor] | None = None

    @property
    def batch_size(self) -> int:
        return self.stylized.shape[0]


class Plugin(nn.Module):
    """Base class of every preservation plugin.

    Subclasses set ``card`` and implement :meth:`needs` and :meth:`forward`.
    ``setup`` is called once with the recipe's encoder before the first batch;
    it is where cached targets (style Grams, say) are computed.
    """

    card: ClassVar[PluginCard]

    def needs(self) -> Needs:
        return Needs()

    def setup(self, encoder: "Encoder") -> None:  # noqa: B027 - optional hook
        """Compute anything that depends on the encoder and not on the batch."""

    def annotate(self, files: Sequence[str], roots: Sequence[str] | None = None,
                 progress: bool = True) -> Mapping[str, "Annotation"] | None:
        """Per-file data for the extra input this plugin needs (``card.inputs``), computed once per dataset.

        Called before training with every content file; returns one
        :class:`~preserve.annotations.Annotation` per file path, which the data
        pipeline moves through each crop and flip and collates per batch.
        Plugins that need no extra input return None.
        """
        return None

    def stats(self) -> dict[str, float]:
        """Counters from the last call of :meth:`forward` (how many faces were used, say), for the logs."""
        return {}

    def styles(self) -> list[str] | None:
        """Names of the styles this plugin holds targets for, for a plugin that defines styles (the style
        plugin), else None. Several names make the network a multi-style one, and ``ctx.style`` then says
        which style each image was painted in."""
        return None

    def forward(self, ctx: LossContext) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Options of this instance, for logs and ``recipe explain``."""
        return {}

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.describe().items())
