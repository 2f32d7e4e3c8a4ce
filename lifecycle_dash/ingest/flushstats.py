"""Flush (batch) latency and batch size per watch stream, and its watch failures by kind,
kept in Redis for /metrics.

A flush runs in a watch worker, but /metrics is served by the web process. Like the worker
heartbeats, the figures cross processes through Redis: per stream one hash with the counts of
two Prometheus histograms (flush duration and events per flush), their sums and the number of
flushes. The hash only ever grows, so the histograms are proper counters across worker
restarts; the web process turns the per-bucket counts into cumulative buckets at scrape time.

The flush itself only adds to an in-process accumulator (a few dict updates, no I/O). A
daemon thread adds what accumulated to Redis every ``PUSH_SECONDS`` in one pipelined round
trip, so a slow or absent Redis never slows ingest; what could not be pushed stays in the
accumulator (a handful of numbers per stream) and goes with the next push.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

__all__ = [
    "DURATION_BUCKETS",
    "EVENT_BUCKETS",
    "FlushHistograms",
    "observe_errors",
    "observe_flush",
    "push_now",
    "read_flush_stats",
]

log = logging.getLogger(__name__)

KEY_PREFIX = "lifecycle_dash:flush:"
_ERROR_PREFIX = "error:"
PUSH_SECONDS = 1.0
# A stream gone for this long (cluster removed) lets its figures expire.
TTL_SECONDS = 30 * 86400
# Upper bounds (seconds): a healthy flush of 1,000 events takes tens of milliseconds.
DURATION_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
EVENT_BUCKETS: tuple[float, ...] = (1, 10, 50, 100, 250, 500, 1000, 2500, 5000)


def _key(cluster: str, resource: str) -> str:
    return f"{KEY_PREFIX}{cluster}:{resource}"


def _bucket(value: float, bounds: Sequence[float]) -> int:
    for index, bound in enumerate(bounds):
        if value <= bound:
            return index
    return len(bounds)  # +Inf


@dataclass(slots=True)
class _Pending:
    fields: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, amount: float) -> None:
        self.fields[name] = self.fields.get(name, 0.0) + amount


class _Accumulator:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: dict[str, _Pending] = {}
        self.pid = 0
        self.wake = threading.Event()

    def _entry(self, key: str) -> _Pending:
        """``key``'s pending counts; call with the lock held."""
        if self.pid != os.getpid():
            # First use in this process (or a forked worker child): its own pusher.
            self.pid = os.getpid()
            self.pending = {}
            threading.Thread(target=self._run, name="flushstats", daemon=True).start()
        return self.pending.setdefault(key, _Pending())

    def observe(self, key: str, seconds: float, events: int) -> None:
        with self.lock:
            entry = self._entry(key)
            entry.add(f"d{_bucket(seconds, DURATION_BUCKETS)}", 1)
            entry.add(f"e{_bucket(events, EVENT_BUCKETS)}", 1)
            entry.add("count", 1)
            entry.add("seconds", seconds)
            entry.add("events", events)

    def count(self, key: str, counts: dict[str, int]) -> None:
        with self.lock:
            entry = self._entry(key)
            for name, amount in counts.items():
                if amount:
                    entry.add(name, amount)

    def _run(self) -> None:
        while True:
            self.wake.wait(PUSH_SECONDS)
            self.wake.clear()
            self.push()

    def push(self) -> bool:
        with self.lock:
            taken, self.pending = self.pending, {}
        if not taken:
            return True
        try:
            from django.conf import settings

            client = redis.Redis.from_url(
                settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2
            )
            # MULTI/EXEC: a scrape never sees a bucket counted without its sum and count.
            with client.pipeline(transaction=True) as pipe:
                for key, entry in taken.items():
                    for name, amount in entry.fields.items():
                        if name == "seconds":
                            pipe.hincrbyfloat(key, name, amount)
                        else:
                            pipe.hincrby(key, name, int(amount))
                    pipe.expire(key, TTL_SECONDS)
                pipe.execute()
            client.close()
        except redis.RedisError as exc:
            log.warning("ingest: could not record flush timings in Redis: %s", exc)
            with self.lock:
                for key, entry in taken.items():
                    merged = self.pending.setdefault(key, _Pending())
                    for name, amount in entry.fields.items():
                        merged.add(name, amount)
            return False
        return True


_accumulator = _Accumulator()
atexit.register(lambda: _accumulator.push() if _accumulator.pid == os.getpid() else None)


def observe_flush(*, cluster: str, resource: str, seconds: float, events: int) -> None:
    """Record one committed flush (called by the processors; never blocks on I/O)."""
    _accumulator.observe(_key(cluster, resource), seconds, events)


def observe_errors(*, cluster: str, resource: str, counts: dict[str, int]) -> None:
    """Add a slice's watch failures by kind (``reconnect``, ``unauthorized``, ...)."""
    _accumulator.count(
        _key(cluster, resource), {f"{_ERROR_PREFIX}{kind}": n for kind, n in counts.items()}
    )


def push_now() -> bool:
    """Send what accumulated in this process now (tests, shutdown); False if Redis failed."""
    return _accumulator.push()


@dataclass(frozen=True, slots=True)
class FlushHistograms:
    """One stream's figures, cumulative as Prometheus wants them: (upper bound, count)."""

    duration_buckets: list[tuple[str, float]]
    duration_sum: float
    event_buckets: list[tuple[str, float]]
    event_sum: float
    count: float
    errors: dict[str, float]


def _cumulative(
    raw: dict[str, float], prefix: str, bounds: Sequence[float]
) -> list[tuple[str, float]]:
    running = 0.0
    buckets = []
    for index, bound in enumerate([*bounds, float("inf")]):
        running += raw.get(f"{prefix}{index}", 0.0)
        buckets.append(("+Inf" if bound == float("inf") else repr(float(bound)), running))
    return buckets


def read_flush_stats(
    client: redis.Redis, streams: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], FlushHistograms]:
    """The figures of these (cluster, resource) streams, in one round trip; absent: no flush."""
    if not streams:
        return {}
    with client.pipeline(transaction=False) as pipe:
        for cluster, resource in streams:
            pipe.hgetall(_key(cluster, resource))
        answers: list[dict[Any, Any]] = pipe.execute()
    result = {}
    for stream, answer in zip(streams, answers, strict=True):
        if not answer:
            continue
        raw = {
            (k.decode() if isinstance(k, bytes) else str(k)): float(v) for k, v in answer.items()
        }
        result[stream] = FlushHistograms(
            duration_buckets=_cumulative(raw, "d", DURATION_BUCKETS),
            duration_sum=raw.get("seconds", 0.0),
            event_buckets=_cumulative(raw, "e", EVENT_BUCKETS),
            event_sum=raw.get("events", 0.0),
            count=raw.get("count", 0.0),
            errors={
                name.removeprefix(_ERROR_PREFIX): value
                for name, value in raw.items()
                if name.startswith(_ERROR_PREFIX)
            },
        )
    return result
