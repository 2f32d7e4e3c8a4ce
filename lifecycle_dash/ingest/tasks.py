"""Celery tasks of the watch pipeline (routed to queue "watch" by CELERY_TASK_ROUTES).

Tasks are interfaces: ids in, the services do the work (``slices``, ``supervisor``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

from billiard.process import current_process
from celery import shared_task
from celery.signals import worker_ready, worker_shutting_down

from lifecycle_dash.ingest import slices, supervisor


def _enqueue_slice(stream_id: int, reservation: str, options: dict[str, Any]) -> None:
    watch_slice.apply_async(
        args=(stream_id,), kwargs={"reservation": reservation, "options": options}
    )


@shared_task(name="lifecycle_dash.ingest.tasks.watch_slice", acks_late=True, ignore_result=True)
def watch_slice(
    stream_id: int, reservation: str = "", options: dict[str, Any] | None = None
) -> str:
    """Watch one stream for a bounded time, then enqueue the successor slice."""
    with _sigterm_stops_slice():
        return slices.slice_run(
            stream_id=stream_id,
            reservation=reservation,
            options=slices.SliceOptions.from_dict(options),
            enqueue=_enqueue_slice,
        )


@shared_task(name="lifecycle_dash.ingest.tasks.supervise_streams", ignore_result=True)
def supervise_streams(options: dict[str, Any] | None = None) -> list[int]:
    """Beat: make sure every active stream has a slice running or queued."""
    return supervisor.streams_supervise(enqueue=_enqueue_slice, options=options)


# A warm shutdown (SIGTERM) lets running tasks finish; a slice would then run to its deadline
# (minutes) and outlive the container's stop grace period. These hooks end slices at once:
# flush, commit, hand over. Celery offers no other way to tell a running task to wind down.
#
# solo/threads pools: slices run in the worker's main process, where the signal arrives.
# prefork: the main process forwards SIGTERM to its pool children, where a handler installed
# for the duration of each slice stops it.
_pool: Any = None


@worker_ready.connect
def _remember_pool(sender: Any = None, **_: Any) -> None:
    global _pool
    _pool = getattr(sender, "pool", None)


def _pool_children() -> list[int]:
    processes = getattr(getattr(_pool, "_pool", None), "_pool", None) or []
    return [pid for pid in (getattr(p, "pid", None) for p in processes) if pid]


@worker_shutting_down.connect
def _stop_slices(sig: str = "", how: str = "", **_: Any) -> None:
    slices.stop_running_slices(f"worker {how.lower() or 'warm'} shutdown ({sig})")
    if how == "Warm":
        for pid in _pool_children():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    slices.stop_running_slices("worker warm shutdown (SIGTERM)")


@contextlib.contextmanager
def _sigterm_stops_slice() -> Iterator[None]:
    """In a prefork child, SIGTERM ends the running slice cleanly (and a second one does not
    cut its hand-over short); billiard's own handler is back as soon as the slice returns."""
    if current_process().name == "MainProcess" or (
        threading.current_thread() is not threading.main_thread()
    ):
        yield  # solo/threads: worker_shutting_down reaches the slice
        return
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
