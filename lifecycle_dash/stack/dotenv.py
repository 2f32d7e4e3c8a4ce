"""Read KEY=VALUE files (`.env`, `var/services.env`) without overriding the real environment."""

from __future__ import annotations

import os
from pathlib import Path


def load_env_file(path: Path) -> None:
    if not path.is_file():
        return
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.removeprefix("export ").strip()
        if sep and key:
            os.environ.setdefault(key, value.strip().strip("'\""))
