"""Worker heartbeats in Redis, so /healthz can tell which queues have a live consumer.

A broadcast `inspect` would wait its full timeout on every health probe; a key per worker
with a short TTL answers in one round trip and expires by itself when a worker dies.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import redis
from celery import bootsteps

logger = logging.getLogger(__name__)

KEY_PREFIX = "lifecycle_dash:worker:"
INTERVAL_SECONDS = 5.0
TTL_SECONDS = 20


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)


def record_heartbeat(*, redis_url: str, hostname: str, queues: list[str]) -> None:
    payload = json.dumps({"hostname": hostname, "queues": sorted(queues), "at": time.time()})
    _client(redis_url).set(f"{KEY_PREFIX}{hostname}", payload, ex=TTL_SECONDS)


def live_workers(*, redis_url: str) -> list[dict[str, Any]]:
    client = _client(redis_url)
    keys = list(client.scan_iter(match=f"{KEY_PREFIX}*", count=100))
    if not keys:
        return []
    workers = []
    for raw in client.mget(keys):
        if raw is not None:
            workers.append(json.loads(raw))
    return sorted(workers, key=lambda worker: str(worker["hostname"]))


class Heartbeat(bootsteps.StartStopStep):
    requires = ("celery.worker.components:Timer",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        self._timer_ref: Any = None

    def start(self, worker: Any) -> None:
        self._beat(worker)
        self._timer_ref = worker.timer.call_repeatedly(INTERVAL_SECONDS, self._beat, (worker,))

    def stop(self, worker: Any) -> None:
        if self._timer_ref is not None:
            self._timer_ref.cancel()
        try:
            _client(worker.app.conf.broker_url).delete(f"{KEY_PREFIX}{worker.hostname}")
        except redis.RedisError:
            logger.warning("could not remove the heartbeat of %s", worker.hostname)

    def _beat(self, worker: Any) -> None:
        try:
            queues = list(worker.app.amqp.queues.consume_from or worker.app.amqp.queues)
            record_heartbeat(
                redis_url=worker.app.conf.broker_url, hostname=worker.hostname, queues=queues
            )
        except redis.RedisError as exc:
            # A missed beat shows up as a stale worker in /healthz; it must not kill the worker.
            logger.warning("heartbeat failed: %s", exc)
