"""preserve: fast neural style transfer where every loss term is a preservation plugin."""

from .plugin import LossContext, Needs, Plugin, PluginCard
from .recipe import Recipe, RecipeError, RecipeOutput
from .registry import (
    UnknownNameError,
    create,
    create_encoder,
    list_encoders,
    list_plugins,
    plugin_card,
    register,
    register_encoder,
)

__version__ = "0.1.0"

__all__ = [
    "LossContext",
    "Needs",
    "Plugin",
    "PluginCard",
    "Recipe",
    "RecipeError",
    "RecipeOutput",
    "UnknownNameError",
    "create",
    "create_encoder",
    "list_encoders",
    "list_plugins",
    "plugin_card",
    "register",
    "register_encoder",
    "__version__",
]
