"""History retention: whole daily partitions dropped, the rest deleted by age.

``settings.HISTORY_RETENTION_DAYS`` (default 30) bounds everything that is history:
transition and event-occurrence partitions are dropped whole (no row-by-row DELETE, no
bloat, no vacuum debt), and the small unpartitioned tables are trimmed by age: Event
versions, endpoint observations, observation gaps, and pods deleted before the cutoff (with
their termination and startup records; their transitions are already gone with the partitions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction

from lifecycle_dash.ingest import partitions
from lifecycle_dash.ingest.models import (
    EndpointObservation,
    ObservationGap,
    Pod,
    PodEvent,
    StartupRecord,
    TerminationRecord,
)

__all__ = ["RetentionResult", "history_drop_expired"]


@dataclass(frozen=True, slots=True)
class RetentionResult:
    cutoff: datetime
    dropped_partitions: tuple[str, ...]
    deleted_rows: dict[str, int]


def history_drop_expired(*, now: datetime, retention_days: int) -> RetentionResult:
    """Drop every partition entirely older than ``now - retention_days``; trim the rest."""
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    cutoff = now - timedelta(days=retention_days)
    # A partition holds [day, day + 1): droppable once its end is at or before the cutoff.
    expired = [
        p for p in partitions.list_partitions() if p.day + timedelta(days=1) <= cutoff.date()
    ]
    dropped: list[str] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for info in expired:
            cursor.execute(f'DROP TABLE IF EXISTS "{info.name}"')
            dropped.append(info.name)
    partitions.forget_known_days()
    deleted: dict[str, int] = {}
    gone_pods = Pod.objects.filter(deleted_at__lt=cutoff)
    deleted["termination_records"] = TerminationRecord.objects.filter(
        pod_uid__in=gone_pods.values("uid")
    ).delete()[0]
    deleted["startup_records"] = StartupRecord.objects.filter(
        pod_uid__in=gone_pods.values("uid")
    ).delete()[0]
    deleted["pods"] = gone_pods.delete()[0]
    deleted["pod_events"] = PodEvent.objects.filter(last_received_at__lt=cutoff).delete()[0]
    deleted["endpoint_observations"] = EndpointObservation.objects.filter(
        observed_at__lt=cutoff
    ).delete()[0]
    deleted["observation_gaps"] = ObservationGap.objects.filter(ended_at__lt=cutoff).delete()[0]
    return RetentionResult(cutoff=cutoff, dropped_partitions=tuple(dropped), deleted_rows=deleted)
