"""Open WebSocket connections per consumer kind, a per-process gauge for /metrics."""

from __future__ import annotations

import threading
from collections import Counter

_open: Counter[str] = Counter()
_lock = threading.Lock()


def websocket_opened(consumer: str) -> None:
    """Call when a consumer accepts a connection (`consumer`: "dashboard", "timeline")."""
    with _lock:
        _open[consumer] += 1


def websocket_closed(consumer: str) -> None:
    """Call from disconnect, for connections that websocket_opened() counted."""
    with _lock:
        if _open[consumer] > 0:
            _open[consumer] -= 1


def open_websockets() -> dict[str, int]:
    with _lock:
        return dict(_open)
