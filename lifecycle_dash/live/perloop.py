"""One object per running event loop, for the process-wide parts of the live module (the
hub, the dashboard rounds): daphne runs one loop; tests may run several, one after the
other, and an object bound to a finished loop must not serve the next."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["PerLoop"]

T = TypeVar("T")


class PerLoop(Generic[T]):
    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._found: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> T:
        """The running loop's object, made on first use."""
        loop = asyncio.get_running_loop()
        found = self._found.get(loop)
        if found is None:
            found = self._found[loop] = self._factory()
        return found
