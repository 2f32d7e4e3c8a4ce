"""A kubesim scenario played in-process, in virtual time, with every change it made.

The engine's tests, the termination and diagnosis ground-truth tests and the review pages'
expected history all start from here: one player, so each gets the same history however busy
the machine is (``virtual_time``).
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from lifecycle_dash.kubesim.clock import SimClock
from lifecycle_dash.kubesim.engine import Simulation
from lifecycle_dash.kubesim.store import Store
from tests.support.virtual_time import run_in_virtual_time


@dataclass
class Play:
    sim: Simulation
    store: Store
    # Its time stands still at the play's end (the loop whose time it reads is closed).
    clock: SimClock
    # (observed at, event type, kind, a copy of the object) for every change, in order.
    received: list[tuple[datetime, str, str, dict[str, Any]]]


def play(
    scenario: str,
    seconds: float,
    *,
    seed: int = 1,
    start: datetime | None = None,
    truth_path: Path | None = None,
    **options: Any,
) -> Play:
    """Play ``seconds`` of simulated time from ``start`` (default: now).

    Timers fire at their exact simulated instant however busy the machine is: played against
    real time, a 150 ms stall of a loaded CI host moved a served SIGKILL by 3 s.
    """
    return run_in_virtual_time(_play(scenario, seconds, seed, start, truth_path, options))


async def _play(
    scenario: str,
    seconds: float,
    seed: int,
    start: datetime | None,
    truth_path: Path | None,
    options: dict[str, Any],
) -> Play:
    clock = SimClock(start=start, monotonic=asyncio.get_running_loop().time)
    store = Store(clock)
    sim = Simulation(store, clock, scenario=scenario, seed=seed, truth_path=truth_path, **options)
    received: list[tuple[datetime, str, str, dict[str, Any]]] = []
    store.subscribe(lambda t, k, o: received.append((clock.now(), t, k, copy.deepcopy(o))))
    await sim.start()
    await asyncio.sleep(seconds)
    await sim.stop()
    return Play(sim, store, clock, received)
