"""What every benchmark records about the machine it ran on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from preserve.machine import describe as machine  # noqa: F401 - every benchmark names its machine this way


def write_result(path: str | Path, result: dict[str, Any]) -> Path:
    """Write a benchmark's JSON result (making its folder) and print it."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return out
