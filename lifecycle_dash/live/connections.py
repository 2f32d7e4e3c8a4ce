"""Open WebSocket connections per consumer kind, a per-process gauge for /metrics."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any

log = logging.getLogger(__name__)

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


class CountedConsumer:
    """Mixin counting a consumer's connection from ``count_open`` to its end, whatever ends it.

    daphne cancels an application instance that is still busy when its handshake times out
    or when it outlives ``--application-close-timeout`` after the client left (a connect stuck
    behind a slow database, say); ``disconnect()`` then never runs. Without this, every such
    instance stayed in the gauge and registered with the process's hub (which would keep
    handing batches to a reader that is gone, and keep receiving for it). Here the consumer's
    own ``disconnect()`` runs once in either case.
    """

    kind: str = ""
    counted: bool = False
    _disconnected: bool = False

    def count_open(self) -> None:
        websocket_opened(self.kind)
        self.counted = True

    def count_closed(self) -> None:
        if self.counted:
            self.counted = False
            websocket_closed(self.kind)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        self._disconnected = True
        await super().websocket_disconnect(message)  # type: ignore[misc]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)  # type: ignore[misc]
        finally:
            if not self._disconnected:
                self._disconnected = True
                try:
                    await self.disconnect(1006)  # type: ignore[attr-defined]
                except Exception:
                    log.exception("cleaning up a cancelled %s connection failed", self.kind)
                finally:
                    self.count_closed()
