"""Celery tasks of the watch pipeline (routed to queue "watch" by CELERY_TASK_ROUTES).

Tasks are interfaces: ids in, the services do the work (``slices``, ``supervisor``).
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import worker_shutting_down

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


# A warm shutdown (SIGTERM) lets the running task finish; this is the only hook that tells a
# long-running slice to end now (flush, commit, hand over) instead of when its deadline comes.
@worker_shutting_down.connect
def _stop_slices(sig: str = "", how: str = "", **_: Any) -> None:
    slices.stop_running_slices(f"worker {how.lower() or 'warm'} shutdown ({sig})")
