"""What many test files share: paths of the real photos and paintings in examples/data, and a small recipe.

(Fixtures stay in conftest.py; plain helpers live here and are imported by name, as pystiche's tests do.)
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT / "examples" / "data" / "photos"
STYLES = ROOT / "examples" / "data" / "styles"
STARRY_NIGHT = STYLES / "starry_night.jpg"


def small_recipe(size: int = 128) -> dict:
    """The default recipe with the style image scaled down, so tests run in seconds."""
    from preserve.recipe import default_recipe

    recipe = default_recipe(str(STARRY_NIGHT))
    recipe["style"]["size"] = size
    return recipe
