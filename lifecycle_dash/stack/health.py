"""The state of everything the product depends on, for /healthz and the status page."""

from __future__ import annotations

from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.db.utils import Error as DatabaseError

from lifecycle_dash.stack.heartbeat import live_workers

REQUIRED_QUEUES = ("watch", "default")


def _postgres() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"status": "ok"}
    except DatabaseError as exc:
        return {"status": "down", "error": str(exc).strip().splitlines()[0]}


def _redis() -> dict[str, Any]:
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2
        )
        client.ping()
        return {"status": "ok"}
    except redis.RedisError as exc:
        return {"status": "down", "error": str(exc)}


def _workers() -> dict[str, Any]:
    try:
        workers = live_workers(redis_url=settings.REDIS_URL)
    except redis.RedisError as exc:
        return {"status": "down", "error": str(exc), "queues": {}}
    by_queue: dict[str, list[str]] = {queue: [] for queue in REQUIRED_QUEUES}
    for worker in workers:
        for queue in worker["queues"]:
            by_queue.setdefault(queue, []).append(worker["hostname"])
    missing = [queue for queue in REQUIRED_QUEUES if not by_queue[queue]]
    report: dict[str, Any] = {"status": "down" if missing else "ok", "queues": by_queue}
    if missing:
        report["error"] = "no live worker consumes " + ", ".join(missing)
    return report


def _probe_default_queue(timeout: float) -> dict[str, Any]:
    from celery.exceptions import CeleryError

    from lifecycle_dash.stack.tasks import probe

    try:
        result = probe.apply_async(queue="default", expires=timeout).get(timeout=timeout)
    except (CeleryError, TimeoutError, redis.RedisError) as exc:
        return {"status": "down", "error": f"probe task not executed: {exc or type(exc).__name__}"}
    return {"status": "ok", "worker": result["worker"]}


# A stream in one of these states is not ingesting; "idle" (a quiet cluster) and "queued"
# (a slice waiting for a free worker) are not failures.
_STREAM_DOWN = {"down", "unauthorized", "forbidden", "error"}


def _streams() -> dict[str, Any]:
    from lifecycle_dash.ingest.health import stream_health

    try:
        streams = stream_health()
    except DatabaseError as exc:
        return {"status": "down", "error": str(exc).strip().splitlines()[0], "streams": []}
    down = [f"{s['cluster']}/{s['resource']}" for s in streams if s["status"] in _STREAM_DOWN]
    report: dict[str, Any] = {"status": "down" if down else "ok", "streams": streams}
    if down:
        report["error"] = "not ingesting: " + ", ".join(down)
    return report


def health_report(*, deep: bool = False) -> dict[str, Any]:
    """`deep` also sends a task through the default queue and waits for a worker to run it."""
    checks = {"postgres": _postgres(), "redis": _redis(), "celery": _workers()}
    if checks["postgres"]["status"] == "ok":
        checks["watch"] = _streams()
    if deep:
        checks["probe"] = _probe_default_queue(timeout=5.0)
    status = "ok" if all(check["status"] == "ok" for check in checks.values()) else "down"
    return {"status": status, **checks}


def web_health_report() -> dict[str, Any]:
    """What a web process needs to serve pages and WebSockets: PostgreSQL and Redis."""
    checks = {"postgres": _postgres(), "redis": _redis()}
    status = "ok" if all(check["status"] == "ok" for check in checks.values()) else "down"
    return {"status": status, **checks}
