"""Named registries for plugins and encoders, filled from Python entry points.

A :class:`Registry` maps names to factories (classes or callables). It is
filled lazily: the first lookup reads the entry-point group once, and every
entry point is loaded on its own, so a package whose import fails is recorded
with its error (see :meth:`Registry.failures`) and never hides the others.
Built-in plugins are registered through the same entry-point group as
third-party ones; the core never imports a plugin by name.
"""

from __future__ import annotations

import difflib
import fnmatch
import threading
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Callable, Generic, Iterator, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError):
    """Raised when a name is not registered; the message lists close matches."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class RegistrationError(ValueError):
    """Raised when a name is registered twice without ``override=True``."""


@dataclass(frozen=True)
class LoadFailure:
    """An entry point that could not be imported, kept for reporting."""

    name: str
    value: str
    error: str


@dataclass(frozen=True)
class _Entry(Generic[T]):
    factory: T
    source: str  # "entry point <dist>" or "register()"


class Registry(Generic[T]):
    """A name -> factory table backed by one entry-point group."""

    def __init__(self, group: str, kind: str) -> None:
        self.group = group
        self.kind = kind
        self._entries: dict[str, _Entry[T]] = {}
        self._failures: dict[str, LoadFailure] = {}
        self._loaded = False
        self._lock = threading.RLock()

    # -- discovery -----------------------------------------------------------
    def _discover(self) -> None:
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            for ep in entry_points(group=self.group):
                self._load_entry_point(ep)

    def _load_entry_point(self, ep: EntryPoint) -> None:
        if ep.name in self._entries:
            return  # an in-process registration wins over a later discovery
        try:
            factory = ep.load()
        except Exception as exc:  # noqa: BLE001 - any import error is reported, not raised
            self._failures[ep.name] = LoadFailure(ep.name, ep.value, f"{type(exc).__name__}: {exc}")
            return
        dist = getattr(getattr(ep, "dist", None), "name", None) or "unknown distribution"
        self._entries[ep.name] = _Entry(factory, f"entry point ({dist})")

    # -- registration --------------------------------------------------------
    def register(
        self, name: str | None = None, *, override: bool = False
    ) -> Callable[[T], T]:
        """Decorator registering a factory in this process under ``name``.

        ``name`` defaults to the factory's ``card.name`` or ``__name__``.
        Registering a taken name raises :class:`RegistrationError` unless
        ``override=True``.
        """

        def decorate(factory: T) -> T:
            key = name or _default_name(factory)
            self.add(key, factory, override=override)
            return factory

        return decorate

    def add(self, name: str, factory: T, *, override: bool = False) -> None:
        self._discover()
        with self._lock:
            if name in self._entries and not override:
                raise RegistrationError(
                    f"{self.kind} {name!r} is already registered by {self._entries[name].source}; "
                    "pass override=True to replace it"
                )
            self._entries[name] = _Entry(factory, "register()")
            self._failures.pop(name, None)

    def remove(self, name: str) -> None:
        """Unregister ``name`` (mostly for tests)."""
        self._discover()
        with self._lock:
            self._entries.pop(name, None)

    # -- lookup --------------------------------------------------------------
    def names(self, pattern: str | list[str] = "*") -> list[str]:
        """Sorted registered names matching one or several fnmatch patterns."""
        self._discover()
        patterns = [pattern] if isinstance(pattern, str) else list(pattern)
        return sorted(n for n in self._entries if any(fnmatch.fnmatchcase(n, p) for p in patterns))

    def get(self, name: str) -> T:
        self._discover()
        entry = self._entries.get(name)
        if entry is not None:
            return entry.factory
        if name in self._failures:
            failure = self._failures[name]
            raise UnknownNameError(
                f"{self.kind} {name!r} is installed ({failure.value}) but failed to import: {failure.error}"
            )
        close = difflib.get_close_matches(name, list(self._entries), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise UnknownNameError(
            f"unknown {self.kind} {name!r}.{hint} Available: {', '.join(sorted(self._entries)) or 'none'}."
        )

    def source(self, name: str) -> str:
        self.get(name)
        return self._entries[name].source

    def failures(self) -> list[LoadFailure]:
        self._discover()
        return list(self._failures.values())

    def create(self, name: str, **options: Any) -> Any:
        factory: Any = self.get(name)
        return factory(**options)

    def __contains__(self, name: object) -> bool:
        self._discover()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


def _default_name(factory: Any) -> str:
    card = getattr(factory, "card", None)
    if card is not None and getattr(card, "name", None):
        return card.name
    return factory.__name__


PLUGINS: Registry[Any] = Registry("preserve.plugins", "plugin")
ENCODERS: Registry[Any] = Registry("preserve.encoders", "encoder")
EMBEDDERS: Registry[Any] = Registry("preserve.face_embedders", "face embedder")
"""Face embedders (``name -> (**options) -> FaceEmbedder``) for the face and target plugins."""
DETECTORS: Registry[Any] = Registry("preserve.detectors", "detector")
"""Detector factories (``name -> (**options) -> Detector``) for the ``target`` plugin; ``mtcnn`` is built in."""
NETWORKS: Registry[Any] = Registry("preserve.networks", "network")
"""Style-network classes (``name -> class``); a model file records its network's name and options."""
SEGMENTERS: Registry[Any] = Registry("preserve.segmenters", "segmenter")
"""Named mask makers (``name -> (**options) -> MaskFn``) for the mask plugin's ``mask_fn: NAME``."""

#: Every registry, by the name ``preserve plugins --kind`` uses.
REGISTRIES: dict[str, Registry[Any]] = {"plugins": PLUGINS, "encoders": ENCODERS, "networks": NETWORKS,
                                        "embedders": EMBEDDERS, "detectors": DETECTORS, "segmenters": SEGMENTERS}


def register(name: str | None = None, *, override: bool = False) -> Callable[[T], T]:
    """Register a plugin class in this process: ``@preserve.register()``."""
    return PLUGINS.register(name, override=override)


def register_encoder(name: str | None = None, *, override: bool = False) -> Callable[[T], T]:
    """Register an encoder factory in this process."""
    return ENCODERS.register(name, override=override)


def list_plugins(pattern: str | list[str] = "*") -> list[str]:
    """Names of the available plugins matching fnmatch pattern(s), like timm's ``list_models``."""
    return PLUGINS.names(pattern)


def list_encoders(pattern: str | list[str] = "*") -> list[str]:
    return ENCODERS.names(pattern)


def create(name: str, **options: Any) -> Any:
    """Instantiate the plugin ``name`` with its options."""
    return PLUGINS.create(name, **options)


def create_encoder(name: str, **options: Any) -> Any:
    """Instantiate the encoder (loss network) ``name``."""
    return ENCODERS.create(name, **options)


def plugin_card(name: str) -> Any:
    """The :class:`~preserve.plugin.PluginCard` of a registered plugin."""
    factory = PLUGINS.get(name)
    card = getattr(factory, "card", None)
    if card is None:
        raise TypeError(f"plugin {name!r} ({factory!r}) has no card")
    return card
