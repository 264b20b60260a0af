"""``python -m preserve``: the same as the ``preserve`` command."""
from .cli import main

raise SystemExit(main())
