"""Prometheus `/metrics`: read at scrape time from the rows and keys that already exist.

A custom collector on its own registry, so nothing is kept in memory between scrapes except
the per-process WebSocket gauge, and every scrape costs a bounded number of round trips:
one query over WatchStream (one row per cluster and resource), one pipelined HGETALL for the
streams' flush histograms and watch failures (written by the watch workers,
``ingest.flushstats``), one pipelined LLEN over the queues (with Celery's priority
sub-queues) and one SCAN + MGET over the worker heartbeats.

For dashboards: ``rate(lifecycle_dash_ingest_events_total[1m])`` is events/s per stream,
``histogram_quantile(0.99, rate(lifecycle_dash_ingest_flush_duration_seconds_bucket[5m]))``
the batch latency.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import redis
from django.conf import settings
from django.db.utils import Error as DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from lifecycle_dash.ingest.flushstats import read_flush_stats
from lifecycle_dash.live.connections import open_websockets
from lifecycle_dash.stack.health import REQUIRED_QUEUES
from lifecycle_dash.stack.heartbeat import live_workers

logger = logging.getLogger(__name__)

PREFIX = "lifecycle_dash"

# Open WebSockets are counted by the consumers themselves (live.connections).


# kombu's Redis transport keeps a queue's prioritised messages in sibling lists
# ("watch\x06\x163", ...); the plain key alone would under-count a queue with priorities.
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)


def _queue_keys(queue: str) -> list[str]:
    return [queue, *(f"{queue}{_PRIORITY_SEPARATOR}{step}" for step in _PRIORITY_STEPS)]


# --- the collector ---------------------------------------------------------------------------

_STREAM_LABELS = ["cluster", "resource"]


class DashCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        streams: list[tuple[str, str]] = []
        yield from self._streams(streams)
        yield from self._flushes(streams)
        yield from self._websockets()
        yield from self._celery()

    def _streams(self, seen: list[tuple[str, str]]) -> Iterator[Metric]:
        from lifecycle_dash.ingest.health import stream_health

        up = GaugeMetricFamily(
            f"{PREFIX}_postgres_up", "1 if the metrics scrape could read PostgreSQL."
        )
        try:
            streams = stream_health()
        except DatabaseError as exc:
            logger.warning("metrics: cannot read watch streams: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up

        rate = GaugeMetricFamily(
            f"{PREFIX}_ingest_events_per_second",
            "Watch events per second per stream (moving average at the last flush).",
            labels=_STREAM_LABELS,
        )
        total = CounterMetricFamily(
            f"{PREFIX}_ingest_events",
            "Watch events committed per stream.",
            labels=_STREAM_LABELS,
        )
        lag = GaugeMetricFamily(
            f"{PREFIX}_ingest_lag_seconds",
            "Seconds since the newest committed watch event of the stream (absent: none yet).",
            labels=_STREAM_LABELS,
        )
        relists = CounterMetricFamily(
            f"{PREFIX}_ingest_relists",
            "Full relists per stream (410 Gone, first list).",
            labels=_STREAM_LABELS,
        )
        bad = CounterMetricFamily(
            f"{PREFIX}_ingest_bad_input",
            "Watch input rejected per stream, by kind.",
            labels=[*_STREAM_LABELS, "kind"],
        )
        status = GaugeMetricFamily(
            f"{PREFIX}_ingest_stream_status",
            "1 for the current status of each stream (ok, idle, queued, down, unauthorized, "
            "forbidden, error).",
            labels=[*_STREAM_LABELS, "status"],
        )
        last_error = GaugeMetricFamily(
            f"{PREFIX}_ingest_last_error_timestamp_seconds",
            "Unix time of the newest error of the stream (absent: none).",
            labels=_STREAM_LABELS,
        )
        for stream in streams:
            labels = [str(stream["cluster"]), str(stream["resource"])]
            seen.append((labels[0], labels[1]))
            rate.add_metric(labels, float(stream["events_per_second"] or 0.0))
            total.add_metric(labels, float(stream["events_total"]))
            relists.add_metric(labels, float(stream["relists_total"]))
            if stream["lag_seconds"] is not None:
                lag.add_metric(labels, float(stream["lag_seconds"]))
            for kind, count in sorted((stream["bad_input"] or {}).items()):
                bad.add_metric([*labels, str(kind)], float(count))
            status.add_metric([*labels, str(stream["status"])], 1)
            if stream["last_error_at"]:
                from datetime import datetime

                at = datetime.fromisoformat(str(stream["last_error_at"]))
                last_error.add_metric(labels, at.timestamp())
        yield from (rate, total, lag, relists, bad, status, last_error)

    def _flushes(self, streams: list[tuple[str, str]]) -> Iterator[Metric]:
        duration = HistogramMetricFamily(
            f"{PREFIX}_ingest_flush_duration_seconds",
            "Seconds per committed ingest batch (one transaction: rows, checkpoint, commit).",
            labels=_STREAM_LABELS,
        )
        size = HistogramMetricFamily(
            f"{PREFIX}_ingest_flush_events",
            "Watch events per committed ingest batch.",
            labels=_STREAM_LABELS,
        )
        errors = CounterMetricFamily(
            f"{PREFIX}_ingest_watch_errors",
            "Watch failures per stream by kind: reconnect (connection lost, API or database "
            "error; resumed from the checkpoint), unauthorized, forbidden, misconfigured.",
            labels=[*_STREAM_LABELS, "kind"],
        )
        try:
            client = redis.Redis.from_url(
                settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2
            )
            figures = read_flush_stats(client, streams)
        except redis.RedisError as exc:
            # lifecycle_dash_redis_up (below) says so; the rest of the scrape still answers.
            logger.warning("metrics: cannot read flush timings: %s", exc)
            return
        for (cluster, resource), stats in figures.items():
            if stats.count:
                duration.add_metric([cluster, resource], stats.duration_buckets, stats.duration_sum)
                size.add_metric([cluster, resource], stats.event_buckets, stats.event_sum)
            for kind, count in sorted(stats.errors.items()):
                errors.add_metric([cluster, resource, kind], count)
        yield from (duration, size, errors)

    def _websockets(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            f"{PREFIX}_websockets_open",
            "Open WebSocket connections in this web process, by consumer.",
            labels=["consumer"],
        )
        for consumer, count in sorted(open_websockets().items()):
            gauge.add_metric([consumer], count)
        yield gauge

    def _celery(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(f"{PREFIX}_redis_up", "1 if the metrics scrape could read Redis.")
        depth = GaugeMetricFamily(
            f"{PREFIX}_celery_queue_length",
            "Tasks waiting in the Redis broker, by queue.",
            labels=["queue"],
        )
        workers = GaugeMetricFamily(
            f"{PREFIX}_celery_workers",
            "Workers with a live heartbeat, by queue they consume.",
            labels=["queue"],
        )
        heartbeat = GaugeMetricFamily(
            f"{PREFIX}_celery_worker_heartbeat_timestamp_seconds",
            "Unix time of each live worker's newest heartbeat.",
            labels=["worker", "queue"],
        )
        try:
            client = redis.Redis.from_url(
                settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2
            )
            with client.pipeline(transaction=False) as pipe:
                for queue in REQUIRED_QUEUES:
                    for key in _queue_keys(queue):
                        pipe.llen(key)
                answers = iter(pipe.execute())
            lengths = [sum(next(answers) for _ in _queue_keys(q)) for q in REQUIRED_QUEUES]
            live = live_workers(redis_url=settings.REDIS_URL)
        except redis.RedisError as exc:
            logger.warning("metrics: cannot read Redis: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        for queue, length in zip(REQUIRED_QUEUES, lengths, strict=True):
            depth.add_metric([queue], float(length))
        by_queue: Counter[str] = Counter({queue: 0 for queue in REQUIRED_QUEUES})
        for worker in live:
            for queue in worker["queues"]:
                by_queue[queue] += 1
                heartbeat.add_metric([str(worker["hostname"]), str(queue)], float(worker["at"]))
        for queue, count in sorted(by_queue.items()):
            workers.add_metric([queue], count)
        yield from (up, depth, workers, heartbeat)


def render_metrics() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DashCollector())
    return generate_latest(registry)


# --- the view ----------------------------------------------------------------------------------


def _token_ok(request: HttpRequest) -> bool:
    expected: str = getattr(settings, "METRICS_TOKEN", "")
    if not expected:
        return False
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return hmac.compare_digest(token.strip().encode(), expected.encode())


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Staff session or `Authorization: Bearer $METRICS_TOKEN`; 401 without, 403 for others."""
    user: Any = getattr(request, "user", None)
    if not _token_ok(request):
        if user is None or not user.is_authenticated:
            response = HttpResponse("authentication required\n", status=401)
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            response["Content-Type"] = "text/plain; charset=utf-8"
            return response
        if not user.is_staff:
            return HttpResponse(
                "staff only\n", status=403, content_type="text/plain; charset=utf-8"
            )
    started = time.monotonic()
    body = render_metrics()
    logger.debug("metrics scrape took %.3f s", time.monotonic() - started)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
