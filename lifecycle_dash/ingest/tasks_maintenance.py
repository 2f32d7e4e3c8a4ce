"""Beat tasks of the storage side, on the default queue (watch slices live in tasks.py).

Ids in, one service call, a small JSON-safe result. Both are idempotent, so a duplicate
delivery (acks_late, worker lost) does no harm.
"""

from __future__ import annotations

from datetime import UTC, datetime

from celery import shared_task
from django.conf import settings

from lifecycle_dash.ingest.partitions import create_partitions_ahead
from lifecycle_dash.ingest.retention import history_drop_expired


@shared_task(name="ingest.partitions_ahead")
def partitions_ahead() -> list[str]:
    """Create the daily history partitions from yesterday to a week ahead."""
    return create_partitions_ahead(today=datetime.now(UTC).date())


@shared_task(name="ingest.retention")
def retention() -> dict[str, object]:
    """Drop history older than HISTORY_RETENTION_DAYS."""
    result = history_drop_expired(
        now=datetime.now(UTC), retention_days=settings.HISTORY_RETENTION_DAYS
    )
    return {
        "cutoff": result.cutoff.isoformat(),
        "dropped_partitions": list(result.dropped_partitions),
        "deleted_rows": result.deleted_rows,
    }
