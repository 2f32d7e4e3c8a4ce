"""A processor that remembers what it was handed and what was committed, for watch-layer tests.

It stands in for the storage engineer's processor only where a test is about the watch loop
itself (what reaches the processor, in which order, with which checkpoint); it keeps the
same contract: events become durable at ``flush``, the checkpoint commits with them, a relist
reconciles deletions at ``end_relist``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Database:
    """What survives a slice: committed events, state and the checkpoint."""

    checkpoint: str | None = None
    committed: list[tuple[str, str, str]] = field(default_factory=list)  # (type, uid, rv)
    state: dict[str, str] = field(default_factory=dict)  # uid -> rv
    relists: list[tuple[str, str]] = field(default_factory=list)  # (reason, list rv)
    bad_lines: list[bytes] = field(default_factory=list)
    flushes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def after(self, list_rv: str) -> list[tuple[str, str, str]]:
        """Committed watch events (not relist ADDEDs) after the relist at ``list_rv``."""
        return [c for c in self.committed if c[0] != "LISTED" and int(c[2]) > int(list_rv)]


class RecordingProcessor:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._pending: list[tuple[str, str, str]] = []
        self._listing: set[str] | None = None
        self._relist_reason = ""
        self._list_rv = ""

    def handle(
        self, *, event_type: str, obj: dict[str, Any], raw_size: int, received_at: datetime
    ) -> None:
        meta = obj["metadata"]
        kind = "LISTED" if self._listing is not None else event_type
        if self._listing is not None:
            self._listing.add(meta["uid"])
        self._pending.append((kind, meta["uid"], meta["resourceVersion"]))

    def bad_line(self, *, error: str, raw_prefix: bytes, received_at: datetime) -> None:
        with self.db.lock:
            self.db.bad_lines.append(raw_prefix)

    def begin_relist(self, *, started_at: datetime, reason: str) -> None:
        self._listing = set()
        self._relist_reason = reason

    def end_relist(self, *, list_resource_version: str, finished_at: datetime) -> None:
        self._pending.append(("END_RELIST", "", list_resource_version))
        self._list_rv = list_resource_version

    def pending(self) -> int:
        return len(self._pending)

    def prepare(self) -> None:
        pass

    def flush(self, *, resource_version: str | None, complete_at: datetime | None = None) -> None:
        self.take_batch(resource_version=resource_version, complete_at=complete_at)()

    def take_batch(
        self, *, resource_version: str | None, complete_at: datetime | None = None
    ) -> Callable[[], None]:
        pending, self._pending = self._pending, []
        listing, reason = self._listing, self._relist_reason
        if any(kind == "END_RELIST" for kind, _, _ in pending):
            self._listing = None

        def write() -> None:
            with self.db.lock:
                for kind, uid, rv in pending:
                    if kind == "END_RELIST":
                        assert listing is not None
                        for gone in set(self.db.state) - listing:
                            del self.db.state[gone]
                        self.db.relists.append((reason, rv))
                        continue
                    self.db.committed.append((kind, uid, rv))
                    if kind == "DELETED":
                        self.db.state.pop(uid, None)
                    else:
                        self.db.state[uid] = rv
                if resource_version is not None:
                    self.db.checkpoint = resource_version
                self.db.flushes += 1

        return write

    def discard_uncommitted(self) -> None:
        self._pending.clear()


class MemoryContext:
    """``watching.StreamContext`` without a database: no lease, errors kept in a list."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.errors: list[str] = []
        self.heartbeats = 0

    def load(self) -> tuple[RecordingProcessor, str | None]:
        return RecordingProcessor(self.db), self.db.checkpoint

    def heartbeat(self, stats: Any) -> None:
        self.heartbeats += 1

    def record_error(self, message: str) -> None:
        self.errors.append(message)
