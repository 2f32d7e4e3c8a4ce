"""The in-process demo play that the review and time-travel tests compare against."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from tests.web.review_scenario import Played, play_demo

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _history(played: Played) -> list[tuple[float, str, str, str, str]]:
    return [
        (
            (at - played.start).total_seconds(),
            change,
            kind,
            obj["metadata"]["name"],
            obj["metadata"].get("resourceVersion", ""),
        )
        for at, change, kind, obj in played.received
    ]


def test_the_play_is_the_same_however_busy_the_machine_is() -> None:
    quiet = play_demo(seconds=120, start=START)

    # A second thread holding the GIL for most of the play: the old real-time play then ran
    # its timers late and came out different.
    stop = threading.Event()

    def hog() -> None:
        while not stop.is_set():
            deadline = time.perf_counter() + 0.005
            while time.perf_counter() < deadline:
                pass

    thread = threading.Thread(target=hog, daemon=True)
    thread.start()
    try:
        busy = play_demo(seconds=120, start=START)
    finally:
        stop.set()
        thread.join()

    assert len(quiet.received) > 100
    assert _history(busy) == _history(quiet)
    assert quiet.end == busy.end
