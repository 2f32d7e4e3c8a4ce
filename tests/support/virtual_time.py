"""An event loop whose time jumps to its next timer instead of waiting for it.

A scenario played in-process at 100x real speed depended on the machine: starved of CPU (a
busy neighbour), its timers ran late, simulated time had moved on meanwhile, and the played
history came out different (a rollout too late for its SIGKILL to fall in the window). On
this loop, code without real I/O runs the same however long each step takes.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class _Skipping(selectors.DefaultSelector):
    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        if timeout is None:  # nothing scheduled: only real I/O (another thread) can wake us
            return list(super().select(None))
        ready = list(super().select(0))
        if not ready and timeout > 0:
            self._loop.virtual_now += timeout
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self.virtual_now = 0.0
        super().__init__(selector=_Skipping(self))

    def time(self) -> float:
        return self.virtual_now


def run_in_virtual_time(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on a ``VirtualTimeLoop``: sleeps and timers cost no real time."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(main)
    finally:
        loop.close()
