"""The supervisor (Celery beat, every ~10 s): every active stream has a slice running or queued.

For each enabled cluster it makes sure the three streams exist (pods, events,
endpointslices), then, for each stream whose lease is free or expired (a slice ended without
a successor, a worker was killed, a queued message was lost), reserves the lease with a
conditional update and enqueues one slice carrying that reservation. The reservation is the
dedupe: a beat that finds it in place enqueues nothing, so beats never pile up slices, and
two supervisors racing cannot both win the update.

Streams of clusters that answered 401/403 (or whose configuration is unusable) are left alone
until the cluster's status changes (editing the cluster resets it to "pending") or a cool-down
passes, so a revoked token does not turn into a retry storm against the API server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings

from lifecycle_dash.ingest import leases, slices
from lifecycle_dash.ingest.models import Cluster, Resource, WatchStream

log = logging.getLogger(__name__)

AUTH_COOLDOWN_SECONDS = 3600.0


def streams_ensure() -> int:
    """Create the missing streams of enabled clusters; returns how many were created."""
    wanted = [
        WatchStream(cluster_id=cluster_id, resource=resource)
        for cluster_id in Cluster.objects.filter(enabled=True).values_list("pk", flat=True)
        for resource in Resource.values
    ]
    existing = set(
        WatchStream.objects.filter(cluster__enabled=True).values_list("cluster_id", "resource")
    )
    missing = [s for s in wanted if (s.cluster_id, s.resource) not in existing]
    if missing:
        WatchStream.objects.bulk_create(missing, ignore_conflicts=True)
    return len(missing)


def streams_supervise(
    *,
    enqueue: Callable[[int, str, dict[str, Any]], None],
    options: dict[str, Any] | None = None,
) -> list[int]:
    """Enqueue a slice for every stream that has none; returns the stream ids enqueued."""
    streams_ensure()
    cooldown = float(getattr(settings, "WATCH_AUTH_COOLDOWN_SECONDS", AUTH_COOLDOWN_SECONDS))
    candidates = list(
        WatchStream.objects.filter(leases.is_free(), cluster__enabled=True)
        .exclude(slices.blocked_clusters_q(cooldown_seconds=cooldown))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    started: list[int] = []
    for stream_id in candidates:
        reservation = leases.new_reservation()
        if not leases.lease_reserve(
            stream_id=stream_id,
            reservation=reservation,
            seconds=float((options or {}).get("reservation_seconds") or leases.RESERVATION_SECONDS),
        ):
            continue  # another supervisor or a slice got there first
        try:
            enqueue(stream_id, reservation, dict(options or {}))
        except Exception:
            log.exception("supervisor: could not enqueue a slice of stream %s", stream_id)
            leases.lease_release(stream_id=stream_id, owner=reservation)
            continue
        started.append(stream_id)
    if started:
        log.info("supervisor: enqueued slices for streams %s", started)
    return started
