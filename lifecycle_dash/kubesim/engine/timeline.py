"""A deterministic discrete-event queue on top of the simulated clock.

Every simulated action (a container exiting, a probe failing, a controller reconciling) is an
entry ``(sim_time, seq, callback)`` in one heap, served by a single asyncio timer armed for the
earliest entry. While a callback runs, ``now()`` is the entry's *scheduled* simulated time, not
the clock's reading: the loop may fire late (a busy machine, a high ``speed``), but what the
engine writes and records stays the same for the same seed, which is what makes the ground
truth reproducible. Outside callbacks (a store notification caused by an API client) ``now()``
is the clock's time.

Ties are broken by insertion order, and insertion order is itself produced by callbacks run in
heap order, so a run is a pure function of the seed and of what API clients do.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from lifecycle_dash.kubesim.clock import SimClock

log = logging.getLogger(__name__)

# Real seconds of work per loop turn before the queue lets other coroutines run.
SLICE = 0.02


class Timer:
    __slots__ = ("callback", "cancelled", "late", "seq", "when")

    def __init__(
        self, when: datetime, seq: int, callback: Callable[[], None], late: bool = False
    ) -> None:
        self.when = when
        self.seq = seq
        self.callback = callback
        self.cancelled = False
        self.late = late

    def cancel(self) -> None:
        self.cancelled = True

    def __lt__(self, other: Timer) -> bool:
        return (self.when, self.late, self.seq) < (other.when, other.late, other.seq)


class Timeline:
    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self._heap: list[Timer] = []
        self._seq = 0
        self._current: datetime | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._armed_for: datetime | None = None
        self._running = False
        self.origin = clock.now()

    @property
    def pending(self) -> int:
        return len(self._heap)

    def now(self) -> datetime:
        return self._current if self._current is not None else self.clock.now()

    @contextmanager
    def instant(self) -> Iterator[None]:
        """Hold ``now()`` still while reacting to something outside the queue (an API call),
        so that one reaction sees one instant, as a queued callback does."""
        if self._current is not None:
            yield
            return
        self._current = self.clock.now()
        try:
            yield
        finally:
            self._current = None
            self._arm()

    def start(self, origin: datetime | None = None) -> None:
        self.origin = origin or self.clock.now()
        self._running = True
        self._arm()

    def stop(self) -> None:
        self._running = False
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._heap.clear()

    def at(self, when: datetime, callback: Callable[[], None], *, late: bool = False) -> Timer:
        """Run ``callback`` at ``when``; ``late`` entries run after every ordinary entry of
        the same instant (how status writes of one instant are coalesced)."""
        self._seq += 1
        timer = Timer(when, self._seq, callback, late)
        heapq.heappush(self._heap, timer)
        if self._running and self._current is None:
            self._arm()
        return timer

    def after(self, seconds: float, callback: Callable[[], None], *, late: bool = False) -> Timer:
        return self.at(self.now() + timedelta(seconds=max(0.0, seconds)), callback, late=late)

    def offset(self, moment: datetime) -> float:
        """Seconds since the simulation's origin (what the ground truth is keyed on)."""
        return (moment - self.origin).total_seconds()

    def run_due(self) -> None:
        """Run every entry due by the clock's current time, in (time, seq) order."""
        limit = self.clock.now()
        heap = self._heap
        budget_end = time.monotonic() + SLICE
        try:
            while heap and self._running:
                if time.monotonic() > budget_end:
                    # Yield to the loop (HTTP clients, watchers) and continue right after.
                    asyncio.get_running_loop().call_soon(self._continue)
                    return
                head = heap[0]
                if head.cancelled:
                    heapq.heappop(heap)
                    continue
                if head.when > limit:
                    break
                heapq.heappop(heap)
                self._current = head.when
                try:
                    head.callback()
                except Exception:
                    # One broken behaviour must not stop the whole cluster.
                    log.exception("simulation step failed")
        finally:
            self._current = None
        self._arm()

    def _continue(self) -> None:
        if self._running:
            self.run_due()

    def _arm(self) -> None:
        if not self._running:
            return
        heap = self._heap
        while heap and heap[0].cancelled:
            heapq.heappop(heap)
        if not heap:
            return
        when = heap[0].when
        if self._handle is not None and self._armed_for is not None and self._armed_for <= when:
            return
        if self._handle is not None:
            self._handle.cancel()
        self._armed_for = when
        self._handle = self.clock.call_at(when, self._fire)

    def _fire(self) -> None:
        self._handle = None
        self._armed_for = None
        self.run_due()
