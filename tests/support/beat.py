"""The stream supervisor on a timer in a thread, as celery beat runs it in production."""

from __future__ import annotations

import threading
from typing import Any

from lifecycle_dash.ingest import supervisor, tasks

# Short slices so the successor hand-over happens within a test, too.
TEST_SLICE_OPTIONS: dict[str, Any] = {"slice_seconds": 20.0, "read_timeout": 5.0}


class Beat:
    def __init__(self, interval: float, *, options: dict[str, Any] = TEST_SLICE_OPTIONS) -> None:
        self.interval = interval
        self.options = options
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from django.db import connection

        try:
            while not self._stop.is_set():
                supervisor.streams_supervise(enqueue=tasks._enqueue_slice, options=self.options)
                self._stop.wait(self.interval)
        finally:
            connection.close()

    def __enter__(self) -> Beat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join(10)
