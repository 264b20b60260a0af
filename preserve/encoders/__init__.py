"""Loss networks (encoders), registered in the ``preserve.encoders`` entry-point group."""

from .base import Encoder

__all__ = ["Encoder"]
