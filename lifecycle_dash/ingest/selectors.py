"""Reads of the ingest tables for the watch side and the web/live modules."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from lifecycle_dash.ingest.models import (
    Cluster,
    EventOccurrence,
    ObservationGap,
    Pod,
    StartupRecord,
    TerminationRecord,
    Transition,
    WatchStream,
)

__all__ = [
    "cluster_get",
    "clusters_enabled",
    "gaps_overlapping",
    "pod_get",
    "pod_occurrences",
    "pod_startup",
    "pod_termination",
    "pod_transitions",
    "stream_get",
    "streams_of_enabled_clusters",
]


def clusters_enabled() -> QuerySet[Cluster]:
    return Cluster.objects.filter(enabled=True)


def cluster_get(*, name: str) -> Cluster | None:
    return Cluster.objects.filter(name=name).first()


def stream_get(*, stream_id: int) -> WatchStream:
    """The stream with its cluster (``processor_for`` needs both)."""
    return WatchStream.objects.select_related("cluster").get(pk=stream_id)


def streams_of_enabled_clusters() -> QuerySet[WatchStream]:
    return WatchStream.objects.select_related("cluster").filter(cluster__enabled=True)


def pod_get(*, uid: str) -> Pod | None:
    return Pod.objects.select_related("cluster").filter(uid=uid).first()


def pod_transitions(
    *, pod_uid: str, since: datetime | None = None, until: datetime | None = None
) -> QuerySet[Transition]:
    """A pod's transitions in time order (index ingest_transition_timeline)."""
    rows = Transition.objects.filter(pod_uid=pod_uid)
    if since is not None:
        rows = rows.filter(at__gte=since)
    if until is not None:
        rows = rows.filter(at__lt=until)
    return rows.order_by("at", "id")


def pod_occurrences(*, pod_uid: str) -> QuerySet[EventOccurrence]:
    """A pod's Event occurrences in time order (index ingest_eventoccurrence_timeline)."""
    return EventOccurrence.objects.filter(pod_uid=pod_uid).order_by("sort_at", "ordinal")


def pod_termination(*, pod_uid: str) -> TerminationRecord | None:
    return TerminationRecord.objects.filter(pod_uid=pod_uid).first()


def pod_startup(*, pod_uid: str) -> StartupRecord | None:
    return StartupRecord.objects.filter(pod_uid=pod_uid).first()


def gaps_overlapping(
    *, cluster_id: int, start: datetime, end: datetime
) -> QuerySet[ObservationGap]:
    """Periods a stream of this cluster saw nothing, overlapping [start, end)."""
    return ObservationGap.objects.filter(
        cluster_id=cluster_id, started_at__lt=end, ended_at__gt=start
    ).order_by("started_at")
