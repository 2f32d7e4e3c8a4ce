"""Health of the services the product depends on (filled in below)."""

from __future__ import annotations

from typing import Any


def health_report() -> dict[str, Any]:
    return {"status": "ok"}
