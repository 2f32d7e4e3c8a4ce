"""Per-stream health for /healthz and the status page: lag, throughput, last error, lease."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lifecycle_dash.ingest.leases import RESERVATION_PREFIX
from lifecycle_dash.ingest.models import Cluster, WatchStream

# A stream whose newest event is older than this is "idle" (fine on a quiet cluster, but worth
# a look); one without a live lease is "down".
IDLE_AFTER_SECONDS = 300.0


def stream_health(*, now: datetime | None = None) -> list[dict[str, Any]]:
    """One dict per stream of an enabled cluster, in cluster/resource order (one query).

    ``status``: "ok", "idle" (no event for a while), "queued" (a slice is waiting for a
    worker), "down" (no live lease) or the cluster's blocking status ("unauthorized",
    "forbidden", "error").
    """
    now = now or datetime.now(UTC)
    report: list[dict[str, Any]] = []
    streams = (
        WatchStream.objects.filter(cluster__enabled=True)
        .select_related("cluster")
        .order_by("cluster__name", "resource")
    )
    for stream in streams:
        cluster = stream.cluster
        leased = (
            bool(stream.lease_owner)
            and stream.lease_expires_at is not None
            and stream.lease_expires_at > now
        )
        queued = leased and stream.lease_owner.startswith(RESERVATION_PREFIX)
        lag = (now - stream.last_event_at).total_seconds() if stream.last_event_at else None
        if cluster.status in (
            Cluster.Status.UNAUTHORIZED,
            Cluster.Status.FORBIDDEN,
            Cluster.Status.ERROR,
        ):
            status = str(cluster.status)
        elif not leased:
            status = "down"
        elif queued:
            status = "queued"
        elif lag is None or lag > IDLE_AFTER_SECONDS:
            status = "idle"
        else:
            status = "ok"
        report.append(
            {
                "cluster": cluster.name,
                "resource": stream.resource,
                "status": status,
                "cluster_status": str(cluster.status),
                "cluster_message": cluster.status_message,
                "worker": "" if queued or not leased else stream.lease_owner,
                "events_per_second": stream.events_per_second,
                "events_total": stream.events_total,
                "lag_seconds": None if lag is None else round(lag, 3),
                "resource_version": stream.resource_version,
                "relists_total": stream.relists_total,
                "bad_input": stream.bad_input,
                "last_error": stream.last_error,
                "last_error_at": (
                    stream.last_error_at.isoformat() if stream.last_error_at else None
                ),
            }
        )
    return report
