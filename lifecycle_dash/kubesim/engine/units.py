"""Parsing of the small value languages used in specs and annotations."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_QUANTITY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
_FACTORS = {
    "": 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "Ki": 1024.0,
    "Mi": 1024.0**2,
    "Gi": 1024.0**3,
    "Ti": 1024.0**4,
}


def parse_duration(value: str | int | float) -> float:
    """``30``, ``30s``, ``1.5s``, ``500ms``, ``2m``, ``1h`` -> seconds."""
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"not a duration: {value!r} (use e.g. 30, 30s, 500ms, 2m)")
    number = float(match.group(1))
    unit = match.group(2) or "s"
    return number * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[unit]


def parse_quantity(value: str | int | float) -> float:
    """A Kubernetes resource quantity (``500m``, ``2``, ``256Mi``) as a float."""
    if isinstance(value, int | float):
        return float(value)
    match = _QUANTITY.match(value)
    if not match or match.group(2) not in _FACTORS:
        raise ValueError(f"not a quantity: {value!r}")
    return float(match.group(1)) * _FACTORS[match.group(2)]


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration.String()`` for whole seconds: ``10s``, ``1m20s``, ``5m0s``."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"
