"""Batches commit in a thread of their own while the watch loop reads on (``ingest.committer``).

Against the real simulator, with the recording processor: what matters here is the watch
side's contract with a write that runs elsewhere -- reading goes on during a slow commit, the
checkpoint moves only when the write is done, and a failed write loses and doubles nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from functools import partial

import pytest
from django.db import OperationalError

from lifecycle_dash.ingest import watching
from lifecycle_dash.ingest.committer import Committer
from tests.ingest.watch.recorder import Database, MemoryContext, RecordingProcessor
from tests.ingest.watch.sim import Simulator
from tests.ingest.watch.test_watch_loop import Slice, assert_exact, fast, wait_for


class GatedProcessor(RecordingProcessor):
    """The first write that carries watch events waits for ``gate`` (a slow commit)."""

    def __init__(self, db: Database, gate: threading.Event, entered: threading.Event) -> None:
        super().__init__(db)
        self.gate = gate
        self.entered = entered

    def take_batch(
        self, *, resource_version: str | None, complete_at: datetime | None = None
    ) -> Callable[[], None]:
        watched = any(kind != "LISTED" for kind, _, _ in self._pending)
        write = super().take_batch(resource_version=resource_version, complete_at=complete_at)
        if not watched or self.entered.is_set():
            return write

        def slow() -> None:
            self.entered.set()
            assert self.gate.wait(20), "the gate never opened"
            write()

        return slow


class FailingProcessor(RecordingProcessor):
    """Fails once in the database at ``stage``, the first time watch events are pending:
    the background write (before committing anything), or closing the batch (``prepare``,
    possibly beside a write in flight, or ``take_batch``), which reads the pods it needs."""

    failures = 0
    stage = "write"

    def _fails_now(self, stage: str) -> bool:
        watched = any(kind != "LISTED" for kind, _, _ in self._pending)
        return watched and stage == FailingProcessor.stage and not FailingProcessor.failures

    def _fail(self) -> None:
        FailingProcessor.failures += 1
        raise OperationalError("server closed the connection unexpectedly")

    def prepare(self) -> None:
        if self._fails_now("prepare"):
            self._fail()

    def take_batch(
        self, *, resource_version: str | None, complete_at: datetime | None = None
    ) -> Callable[[], None]:
        if self._fails_now("take_batch"):
            self._fail()
        fails = self._fails_now("write")
        write = super().take_batch(resource_version=resource_version, complete_at=complete_at)
        return self._fail if fails else write


class Context(MemoryContext):
    def __init__(self, db: Database, make: Callable[[Database], RecordingProcessor]) -> None:
        super().__init__(db)
        self.make = make
        self.loads = 0

    def load(self) -> tuple[RecordingProcessor, str | None]:
        self.loads += 1
        return self.make(self.db), self.db.checkpoint


def test_the_loop_reads_on_while_a_batch_commits_and_checkpoints_only_after(
    sim: Simulator,
) -> None:
    gate, entered = threading.Event(), threading.Event()
    processors: list[GatedProcessor] = []

    def make(db: Database) -> GatedProcessor:
        processors.append(GatedProcessor(db, gate, entered))
        return processors[-1]

    db = Database()
    running = Slice(sim, db, fast(slice_seconds=6.0), context=Context(db, make))
    sim.wait_for_watches()
    first = sim.create_pod("first")["metadata"]["uid"]
    assert entered.wait(10), "no batch reached the committer"
    checkpoint = db.checkpoint
    during = [sim.create_pod(f"during-{i}")["metadata"]["uid"] for i in range(5)]
    # The loop handled the new pods although the batch before them is still committing.
    wait_for(lambda: len(processors[-1]._pending) >= 5)
    assert db.checkpoint == checkpoint
    assert first not in db.state
    gate.set()
    result = running.join()

    assert result.outcome is watching.Outcome.DEADLINE
    assert db.checkpoint != checkpoint
    assert {first, *during} <= set(db.state)
    assert_exact(sim, db)


def test_an_idle_committer_takes_a_change_at_once_not_after_the_flush_interval(
    sim: Simulator,
) -> None:
    """Group commit: a quiet stream commits each change within milliseconds (the live
    dashboard's latency starts here); only a busy committer lets a batch grow."""
    db = Database()
    # Nothing would arrive to wake the loop: the tick alone must bring the batch out.
    running = Slice(sim, db, fast(slice_seconds=8.0, flush_interval=10.0, flush_linger=0.02))
    sim.wait_for_watches()
    for i in range(3):
        uid = sim.create_pod(f"quiet-{i}")["metadata"]["uid"]
        wait_for(lambda uid=uid: uid in db.state, timeout=5.0)  # far below the 10 s interval
    running.stop.set()
    running.join()
    assert_exact(sim, db)


def test_writes_run_one_at_a_time_in_order_and_failures_come_back() -> None:
    committer = Committer()
    order: list[int] = []
    try:

        def write(n: int) -> int:
            order.append(n)
            return n

        for n in range(5):
            committer.submit(partial(write, n))
            assert committer.in_flight
            assert committer.result() == n
        assert order == [0, 1, 2, 3, 4]
        assert not committer.in_flight

        committer.submit(lambda: 1 / 0)
        with pytest.raises(RuntimeError, match="not taken"):
            committer.submit(lambda: None)
        with pytest.raises(ZeroDivisionError):
            committer.result()
        assert committer.result() is None  # nothing in flight
    finally:
        committer.close()


@pytest.mark.parametrize("stage", ["write", "prepare", "take_batch"])
def test_a_batch_that_fails_in_the_database_is_replayed_from_the_committed_checkpoint(
    sim: Simulator, stage: str
) -> None:
    """A background write that fails, or a batch that fails to close (closing reads the
    pods it needs, possibly beside a write in flight): nothing lost, nothing doubled."""
    FailingProcessor.failures = 0
    FailingProcessor.stage = stage
    for i in range(3):
        sim.create_pod(f"before-{i}")
    db = Database()
    context = Context(db, FailingProcessor)
    running = Slice(sim, db, fast(slice_seconds=4.0), context=context)
    sim.wait_for_watches()
    for i in range(4):
        sim.create_pod(f"during-{i}")
    wait_for(lambda: FailingProcessor.failures == 1)
    for i in range(4):
        sim.create_pod(f"after-{i}")
    result = running.join()

    assert result.outcome is watching.Outcome.DEADLINE
    assert any("database" in error for error in context.errors)
    assert context.loads >= 2  # the processor was reloaded at the committed checkpoint
    assert_exact(sim, db)  # nothing missing, nothing doubled
