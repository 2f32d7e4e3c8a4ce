"""One watch slice: lease, connect, run the watch loop for a bounded time, hand over.

``slice_run`` is the service behind the ``watch_slice`` task:

1. take the stream's lease (free, expired, or reserved for this very task);
2. build the API client from the cluster row and a processor seeded from the database;
3. ``watching.run_stream`` until the slice's deadline, a warm shutdown (SIGTERM), a lost
   lease, or a 401/403/unusable configuration;
4. on a normal end: everything is flushed and committed; the lease becomes a reservation for
   the successor, which is enqueued after that commit. On 401/403: the cluster's status says
   so, the lease is released and no successor is enqueued (the supervisor leaves the stream
   alone until the cluster is fixed or a cool-down passes).

Slices are bounded (minutes) so that a message never outlives the broker's visibility timeout,
and so that work spreads over whichever watch workers are alive.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

from django.conf import settings
from django.db import Error as DatabaseError
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Now

from lifecycle_dash.ingest import flushstats, kube, leases, watching
from lifecycle_dash.ingest.credentials import CredentialsUnreadable
from lifecycle_dash.ingest.models import Cluster, WatchStream

log = logging.getLogger(__name__)

# Slices running in this process, stopped by a warm shutdown (see tasks.py).
_running: set[watching.StopSignal] = set()
_running_lock = threading.Lock()


def stop_running_slices(reason: str) -> int:
    """Ask every slice of this process to stop: flush, commit, hand over. Signal-safe."""
    signals = list(_running)
    for signal in signals:
        signal.set(reason)
    return len(signals)


@dataclass(slots=True)
class SliceOptions:
    """Per-call overrides of ``watching.WatchSettings`` (tests use short slices)."""

    slice_seconds: float | None = None
    server_timeout: int | None = None
    read_timeout: float | None = None
    flush_interval: float | None = None
    heartbeat_interval: float | None = None
    backoff_max: float | None = None
    # How long a queued successor keeps its reservation before the supervisor re-enqueues.
    reservation_seconds: float | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> SliceOptions:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in names and v is not None})

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def watch_settings(options: SliceOptions) -> watching.WatchSettings:
    """Defaults from settings (``WATCH_*``), then the per-call overrides."""
    result = watching.WatchSettings(
        slice_seconds=float(getattr(settings, "WATCH_SLICE_SECONDS", 300.0)),
        server_timeout=int(getattr(settings, "WATCH_SERVER_TIMEOUT_SECONDS", 240)),
        read_timeout=float(getattr(settings, "WATCH_READ_TIMEOUT_SECONDS", 90.0)),
        heartbeat_interval=leases.RENEW_EVERY_SECONDS,
    )
    for name, value in options.as_dict().items():
        if hasattr(result, name):
            setattr(result, name, value)
    return result


class SliceContext:
    """``watching.StreamContext`` over the database: processor, lease, stream statistics."""

    def __init__(self, *, stream_id: int, cluster_id: int, owner: str) -> None:
        self.stream_id = stream_id
        self.cluster_id = cluster_id
        self.owner = owner
        self._cluster_marked_ok = False

    def load(self) -> tuple[watching.StreamProcessor, str | None]:
        from lifecycle_dash.ingest.processors import processor_for

        if not leases.lease_renew(stream_id=self.stream_id, owner=self.owner):
            raise watching.LeaseLost("the lease expired while reloading")
        stream = WatchStream.objects.select_related("cluster").get(pk=self.stream_id)
        return processor_for(stream=stream), stream.resource_version or None

    def heartbeat(self, stats: watching.WatchStats) -> None:
        # Throughput, lag and relist counters are written by the processor's flush, in the
        # same transaction as the data; the heartbeat only keeps the lease.
        try:
            renewed = leases.lease_renew(stream_id=self.stream_id, owner=self.owner)
        except DatabaseError as exc:
            raise watching.StorageTrouble(f"renewing the lease: {exc}") from exc
        if not renewed:
            raise watching.LeaseLost("another worker holds the stream")
        if stats.flushes and not self._cluster_marked_ok:
            # The API answered and data committed: whatever the cluster's status said before
            # (pending, an old error), it is reachable now.
            Cluster.objects.filter(pk=self.cluster_id).exclude(status=Cluster.Status.OK).update(
                status=Cluster.Status.OK, status_message="", status_at=Now()
            )
            self._cluster_marked_ok = True

    def record_error(self, message: str) -> None:
        WatchStream.objects.filter(pk=self.stream_id, lease_owner=self.owner).update(
            last_error=message[:2000], last_error_at=Now()
        )


def _cluster_status(cluster_id: int, status: str, message: str) -> None:
    Cluster.objects.filter(pk=cluster_id).update(
        status=status, status_message=message[:2000], status_at=Now()
    )


_BLOCKING = {
    watching.Outcome.UNAUTHORIZED: Cluster.Status.UNAUTHORIZED,
    watching.Outcome.FORBIDDEN: Cluster.Status.FORBIDDEN,
    watching.Outcome.MISCONFIGURED: Cluster.Status.ERROR,
}


def slice_run(
    *,
    stream_id: int,
    reservation: str = "",
    options: SliceOptions | None = None,
    enqueue: Callable[[int, str, dict[str, Any]], None] | None = None,
) -> str:
    """Run one slice of a stream; returns what happened (an ``Outcome`` value or "busy").

    ``enqueue(stream_id, reservation, options)`` sends the successor; the task passes itself.
    """
    options = options or SliceOptions()
    owner = leases.new_owner()
    if not leases.lease_acquire(stream_id=stream_id, owner=owner, reservation=reservation):
        return "busy"
    # Machine-readable start and end lines: the lease tests check from the workers' logs that
    # no two slices of one stream ever overlapped.
    log.info("watch slice start stream=%s owner=%s at=%.3f", stream_id, owner, time.time())
    return _slice_run(stream_id, owner, options, enqueue)


def _slice_run(
    stream_id: int,
    owner: str,
    options: SliceOptions,
    enqueue: Callable[[int, str, dict[str, Any]], None] | None,
) -> str:
    try:
        stream = WatchStream.objects.select_related("cluster").get(pk=stream_id)
    except WatchStream.DoesNotExist:
        return "gone"
    cluster = stream.cluster
    if not cluster.enabled:
        leases.lease_release(stream_id=stream_id, owner=owner)
        return "disabled"
    resource_name = stream.resource
    try:
        resource = kube.resource_named(resource_name)
        api = kube.KubeApi(
            kube.new_api_client(
                source=cluster.source,
                kubeconfig=cluster.kubeconfig
                if cluster.source != Cluster.Source.IN_CLUSTER
                else None,
                context=cluster.context or None,
            )
        )
    except (kube.BadConfiguration, CredentialsUnreadable) as exc:
        _cluster_status(cluster.pk, Cluster.Status.ERROR, str(exc))
        WatchStream.objects.filter(pk=stream_id).update(last_error=str(exc), last_error_at=Now())
        leases.lease_release(stream_id=stream_id, owner=owner)
        return watching.Outcome.MISCONFIGURED.value

    stop = watching.StopSignal()
    with _running_lock:
        _running.add(stop)
    context = SliceContext(stream_id=stream_id, cluster_id=cluster.pk, owner=owner)
    try:
        result = watching.run_stream(
            api=api,
            resource=resource,
            namespaces=watching.NamespaceFilter(
                list(cluster.namespaces), list(cluster.exclude_namespaces)
            ),
            context=context,
            settings=watch_settings(options),
            stop=stop,
        )
    finally:
        # Logged before the lease is handed over, so a successor always starts after it.
        log.info("watch slice end stream=%s owner=%s at=%.3f", stream_id, owner, time.time())
        with _running_lock:
            _running.discard(stop)
        api.close()
    outcome = result.outcome
    log.info(
        "slice %s/%s ended: %s %s (%d events, %d bad lines, %d relists, %d reconnects)",
        cluster.name,
        resource_name,
        outcome.value,
        result.message,
        result.stats.events,
        result.stats.bad_lines,
        result.stats.relists,
        result.stats.reconnects,
    )
    blocked = {outcome.value: 1} if outcome in _BLOCKING else {}
    flushstats.observe_errors(
        cluster=cluster.name,
        resource=resource_name,
        counts={"reconnect": result.stats.reconnects, **blocked},
    )
    if outcome is watching.Outcome.LEASE_LOST:
        return outcome.value
    try:
        _finish(stream_id, cluster.pk, owner, result, context, options, enqueue)
    except DatabaseError:
        # The lease will expire and the supervisor restarts the stream from its checkpoint.
        log.exception("slice %s: could not record its end", stream_id)
    return outcome.value


def _finish(
    stream_id: int,
    cluster_id: int,
    owner: str,
    result: watching.StreamResult,
    context: SliceContext,
    options: SliceOptions,
    enqueue: Callable[[int, str, dict[str, Any]], None] | None,
) -> None:
    from django.db import connection

    # A flush may have failed on a dead connection just before the end.
    connection.close_if_unusable_or_obsolete()
    blocking = _BLOCKING.get(result.outcome)
    if blocking is not None:
        with transaction.atomic():
            _cluster_status(cluster_id, blocking, result.message)
            WatchStream.objects.filter(pk=stream_id).update(
                last_error=f"{result.outcome.value}: {result.message}"[:2000],
                last_error_at=Now(),
            )
            leases.lease_release(stream_id=stream_id, owner=owner)
        return
    try:
        context.heartbeat(result.stats)
    except (watching.LeaseLost, watching.StorageTrouble):
        return
    if enqueue is None:
        leases.lease_release(stream_id=stream_id, owner=owner)
        return
    reservation = leases.new_reservation()
    if not leases.lease_hand_over(
        stream_id=stream_id,
        owner=owner,
        reservation=reservation,
        seconds=options.reservation_seconds or leases.RESERVATION_SECONDS,
    ):
        return

    def send() -> None:
        try:
            enqueue(stream_id, reservation, options.as_dict())
        except Exception:
            # Broker down: free the stream; the supervisor enqueues when it can.
            log.exception("slice %s: could not enqueue its successor", stream_id)
            leases.lease_release(stream_id=stream_id, owner=reservation)

    transaction.on_commit(send)


def blocked_clusters_q(*, cooldown_seconds: float) -> Q:
    """Clusters the supervisor leaves alone: 401/403/bad config, within the cool-down."""
    from datetime import timedelta

    return Q(
        cluster__status__in=list(_BLOCKING.values()),
        cluster__status_at__gt=Now() - timedelta(seconds=cooldown_seconds),
    )
