"""Simulated time for the whole simulator.

One ``SimClock`` is shared by the API server (timestamps in objects) and the scenario engine
(timers). Simulated time starts at ``start`` (default: real now) and advances ``speed`` times as
fast as the monotonic real clock, so ``--speed 10`` plays a scenario ten times faster while every
timestamp written into objects stays consistent with the simulated clock.

``advance()`` jumps simulated time forward without waiting; it exists for tests and for
fast-forwarding quiet periods. Timers scheduled before a jump keep their real-time deadline.
``monotonic`` is the real clock read; a test playing a scenario on an event loop whose time
jumps from timer to timer passes that loop's ``time`` and gets the same play however busy the
machine is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any


class SimClock:
    def __init__(
        self,
        *,
        speed: float = 1.0,
        start: datetime | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        if start is not None and start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.speed = speed
        self._monotonic = monotonic
        self._real_origin = monotonic()
        self._sim_origin = (start or datetime.now(UTC)).astimezone(UTC)
        self._offset = 0.0

    def now(self) -> datetime:
        elapsed = (self._monotonic() - self._real_origin) * self.speed + self._offset
        return self._sim_origin + timedelta(seconds=elapsed)

    def advance(self, sim_seconds: float) -> None:
        self._offset += sim_seconds

    def loop_delay(self, sim_seconds: float) -> float:
        """Real seconds to wait for ``sim_seconds`` of simulated time (never negative)."""
        return max(0.0, sim_seconds / self.speed)

    def call_later(
        self, sim_seconds: float, callback: Callable[..., Any], *args: Any
    ) -> asyncio.TimerHandle:
        loop = asyncio.get_running_loop()
        return loop.call_later(self.loop_delay(sim_seconds), callback, *args)

    def call_at(
        self, sim_time: datetime, callback: Callable[..., Any], *args: Any
    ) -> asyncio.TimerHandle:
        return self.call_later((sim_time - self.now()).total_seconds(), callback, *args)

    async def sleep(self, sim_seconds: float) -> None:
        await asyncio.sleep(self.loop_delay(sim_seconds))


def format_time(moment: datetime) -> str:
    """``metav1.Time``: RFC 3339, whole seconds, ``Z`` (sub-second part truncated)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_micro_time(moment: datetime) -> str:
    """``metav1.MicroTime``: RFC 3339 with exactly six fractional digits, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str) -> datetime:
    """Parse a ``metav1.Time`` or ``MicroTime`` string into an aware UTC datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
