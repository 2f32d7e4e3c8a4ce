"""One batch commits in a thread of its own while the watch loop reads the next.

Why: a flush is a few milliseconds of this process's CPU and then a wait on PostgreSQL
(COPY, upserts, the commit). Done inline, the watch loop stops reading for the whole wait:
on a busy machine it used a quarter of a core and still fell seconds behind a stream of
2,000 events/s, the backlog piling up in the socket. With the write in a committer thread,
parsing and snapshotting the next batch overlap with the database's work on the previous one
(the driver releases the GIL while it waits).

Order and safety: one thread, one write at a time, in submission order, so the checkpoints
commit in stream order, exactly as inline. The caller takes the previous write's outcome
(``result``) before submitting the next, so a failed write is seen before anything after it
is sent to the database. The thread has its own Django database connection, closed by
``close``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

__all__ = ["Committer"]


def _close_thread_connection() -> None:
    from django.db import connection

    with contextlib.suppress(Exception):
        connection.close()


class Committer:
    """Runs writes one at a time in a background thread; at most one in flight."""

    def __init__(self, name: str = "committer") -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._future: Future[Any] | None = None

    @property
    def in_flight(self) -> bool:
        """A write was submitted and its outcome not yet taken."""
        return self._future is not None

    def busy(self) -> bool:
        """A write is still running."""
        return self._future is not None and not self._future.done()

    def submit(self, write: Callable[[], Any]) -> None:
        if self._future is not None:
            raise RuntimeError("the previous write's outcome was not taken")
        self._future = self._executor.submit(write)

    def result(self) -> Any:
        """Wait for the write in flight and return its result or raise its exception."""
        future, self._future = self._future, None
        if future is None:
            return None
        return future.result()

    def close_connection(self) -> None:
        """Close the thread's database connection (after a failure; the next write reconnects)."""
        self._executor.submit(_close_thread_connection).result()

    def close(self) -> None:
        """Wait for the thread to finish its work, close its connection, end it.

        A write whose outcome was not taken is waited for but its outcome is dropped: only
        ``result`` acknowledges a write.
        """
        future, self._future = self._future, None
        if future is not None:
            with contextlib.suppress(BaseException):
                future.result()
        self.close_connection()
        self._executor.shutdown(wait=True)
