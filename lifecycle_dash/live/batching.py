"""Dashboard batches in rounds per process: one pod query and one render per row for all
the process's dashboards, instead of one of each per connection.

Each ``DashboardConsumer`` prefilters the ``pod.changed`` batches the process's hub
(``live.hub``) hands it on the event loop and hands
the uids that may concern its page to the process's ``Rounds``. A round takes every
connection's pending uids at once, makes ONE ``database_sync_to_async`` call that re-reads the
union in one query and renders each changed row once (``render.batch_frames``), then sends
each connection its own frame.

Why: ``database_sync_to_async`` runs every call on one thread per process; 20 dashboards each
re-reading and rendering their own batch made 20 calls in a row per ingest commit, and the
last page waited for all the others. Now the cost of a commit is one query plus a render per
changed row, shared, in a thread of its own; counts that are due are not counted inside the
round (a GROUP BY over a large cluster would hold every page's rows) but owed, and follow.

Timing: a connection's first change after a quiet spell goes out after ``GATHER_SECONDS``
(the messages of one ingest commit arrive together); under churn, each connection gets at
most one frame per ``COALESCE_SECONDS``, which bounds what each browser has to swap. Every
connection due at the same moment shares the round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Protocol

from channels.db import database_sync_to_async

from lifecycle_dash.live.perloop import PerLoop
from lifecycle_dash.live.render import PageWindow, batch_frames

__all__ = ["COALESCE_SECONDS", "GATHER_SECONDS", "Rounds", "rounds"]

log = logging.getLogger(__name__)

COALESCE_SECONDS = 0.1
GATHER_SECONDS = 0.01


class Connection(Protocol):
    window: PageWindow | None

    async def send_frame(self, frame: str) -> None: ...

    def round_done(self) -> None: ...


class Rounds:
    def __init__(self) -> None:
        self.pending: dict[Connection, set[str]] = {}
        # When each pending connection may next get a frame: GATHER_SECONDS after its first
        # pending change, and COALESCE_SECONDS after its previous frame.
        self.ready_at: dict[Connection, float] = {}
        self.last_frame: dict[Connection, float] = {}
        self.task: asyncio.Task[None] | None = None
        self.wake = asyncio.Event()

    def add(self, connection: Connection, uids: set[str]) -> None:
        if not uids:
            return
        loop = asyncio.get_running_loop()
        if connection not in self.pending:
            self.pending[connection] = set()
            last = self.last_frame.get(connection)
            ready = loop.time() + GATHER_SECONDS
            if last is not None:
                ready = max(ready, last + COALESCE_SECONDS)
            self.ready_at[connection] = ready
            self.wake.set()  # it may be due before the round now awaited
        self.pending[connection].update(uids)
        if self.task is None:
            self.task = loop.create_task(self._run())

    def waiting(self, connection: Connection) -> bool:
        return connection in self.pending

    def discard(self, connection: Connection) -> None:
        self.pending.pop(connection, None)
        self.ready_at.pop(connection, None)
        self.last_frame.pop(connection, None)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.pending:
                # Each connection keeps its own pace (the batches of one commit arrive a few
                # ms apart: a global pace would make a connection concerned only by a later
                # one wait a whole window); those due together share one round.
                delay = min(self.ready_at.values()) - loop.time()
                if delay > 0:
                    self.wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.wake.wait(), delay)
                    continue
                now = loop.time()
                due = [c for c, at in self.ready_at.items() if at <= now]
                taken = {c: self.pending.pop(c) for c in due}
                for connection in due:
                    del self.ready_at[connection]
                    self.last_frame[connection] = now
                batches = [(c, c.window, uids) for c, uids in taken.items() if c.window]
                try:
                    # Off the process's one sync thread: a round never queues behind page
                    # views, access checks or counts (rounds themselves run one at a time).
                    frames = await database_sync_to_async(_frames, thread_sensitive=False)(
                        [(window, uids) for _, window, uids in batches]
                    )
                except Exception:
                    # A failed read must not end the updates; the next round tries again.
                    log.exception("dashboard round failed")
                    continue
                for (connection, _, _), frame in zip(batches, frames, strict=True):
                    try:
                        if frame:
                            await connection.send_frame(frame)
                        connection.round_done()
                    except Exception:
                        log.exception("sending a dashboard frame failed")
        finally:
            self.task = None


def _frames(batches: list[tuple[PageWindow, set[str]]]) -> list[str]:
    return batch_frames(batches, now=datetime.now(UTC))


_rounds: PerLoop[Rounds] = PerLoop(Rounds)


def rounds() -> Rounds:
    """The rounds of the running event loop."""
    return _rounds.get()
