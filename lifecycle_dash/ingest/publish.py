"""``pod.changed`` messages to the Channels layer, after commit, coalesced per pod.

The processors hand the committed rows' messages to ``PodPublisher.submit``, which only puts
them in a dict keyed by pod uid and returns: ingest never waits for Redis, and a Redis outage
is logged, never raised. A daemon thread with its own event loop sends them:

* within a flush: one message per pod (the processor already keeps only the last row);
* across flushes: at most one message per pod per ``min_interval`` (250 ms). A message that
  arrives too early waits in the dict, where newer states overwrite it, and is sent when the
  interval has passed: the trailing message, so the final state always reaches the browser;
* when Redis is slower than ingest, the dict absorbs the difference: its size is bounded by
  the number of pods, and each pod's newest state wins.

The all-pods group receives one batch message per cluster per round (``pods``: up to
``_BATCH`` pods' fields), never one message per pod: each web process's hub (``live.hub``) is
its one member there and hands every batch to its dashboards and timelines, which pick what
concerns them. A group send is a few Redis round trips and about 0.1 ms of this
process's CPU; one per pod (2,000 a second under churn) took a third of a core from the watch
worker it runs in and could not keep pace, so the dashboards' batches queued behind seconds
of per-pod sends. Messages carry ids and the dashboard row's fields, not HTML: the live
module renders.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypedDict

from channels.layers import get_channel_layer

from lifecycle_dash.live.groups import all_pods_group

__all__ = ["PodChanged", "PodPublisher", "get_publisher", "pod_message"]

log = logging.getLogger(__name__)

MIN_INTERVAL_SECONDS = 0.25
# One round of sends is bounded so a huge backlog never starves the newest states.
_MAX_PER_ROUND = 2000
_CONCURRENCY = 16
# Pods per dashboard batch message: small enough for one Redis command, large enough that a
# churning cluster costs a few sends per round.
_BATCH = 200


class PodChanged(TypedDict):
    type: str  # "pod.changed"
    uid: str
    cluster: str
    namespace: str
    name: str
    status: str
    ready: str
    restarts: int
    deleted: bool


def pod_message(
    *,
    cluster: str,
    uid: str,
    namespace: str,
    name: str,
    status: str,
    ready: str,
    restarts: int,
    deleted: bool,
) -> dict[str, Any]:
    message: PodChanged = {
        "type": "pod.changed",
        "uid": uid,
        "cluster": cluster,
        "namespace": namespace,
        "name": name,
        "status": status,
        "ready": ready,
        "restarts": restarts,
        "deleted": deleted,
    }
    return dict(message)


class PodPublisher:
    def __init__(
        self, *, min_interval: float = MIN_INTERVAL_SECONDS, alias: str = "default"
    ) -> None:
        self.min_interval = min_interval
        self.alias = alias
        self.sent = 0
        self.failed = 0
        self._pending: dict[str, dict[str, Any]] = {}
        self._last_sent: dict[str, float] = {}
        self._wake = threading.Condition()
        self._stopping = False
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None

    def submit(self, messages: list[dict[str, Any]]) -> int:
        """Queue these messages (newest per pod wins); returns how many were queued."""
        with self._wake:
            for message in messages:
                self._pending[message["uid"]] = message
            self._idle.clear()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pod-publisher", daemon=True)
                self._thread.start()
            self._wake.notify()
        return len(messages)

    def wait_idle(self, timeout: float) -> bool:
        """Block until everything queued was sent (or dropped after an error)."""
        return self._idle.wait(timeout)

    def close(self, *, timeout: float = 5.0) -> None:
        self.wait_idle(timeout)
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    def _take_due(self) -> tuple[list[dict[str, Any]], float | None]:
        """Messages whose pod may be sent now, and the delay until the next one may."""
        now = time.monotonic()
        due: list[dict[str, Any]] = []
        wait: float | None = None
        for uid in list(self._pending):
            last = self._last_sent.get(uid)
            if last is None or now - last >= self.min_interval:
                due.append(self._pending.pop(uid))
                self._last_sent[uid] = now
                if len(due) >= _MAX_PER_ROUND:
                    break
            else:
                delay = self.min_interval - (now - last)
                wait = delay if wait is None else min(wait, delay)
        if len(self._last_sent) > 4 * max(len(self._pending), 1000):
            # Forget pods quiet for longer than the interval: they may be sent at once again.
            self._last_sent = {
                uid: at for uid, at in self._last_sent.items() if now - at < self.min_interval
            }
        return due, wait

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            while True:
                with self._wake:
                    due, wait = self._take_due()
                    while not due:
                        if not self._pending:
                            self._idle.set()
                            if self._stopping:
                                return
                        self._wake.wait(wait)
                        due, wait = self._take_due()
                try:
                    loop.run_until_complete(self._send(due))
                    self.sent += len(due)
                except Exception as exc:  # Redis down: the dashboard misses updates, ingest goes on
                    self.failed += len(due)
                    log.warning("ingest: publishing %d pod.changed failed: %s", len(due), exc)
        finally:
            loop.close()

    async def _send(self, messages: list[dict[str, Any]]) -> None:
        layer = get_channel_layer(self.alias)
        if layer is None:
            raise RuntimeError(f"no channel layer {self.alias!r} configured")
        # Bounded concurrency: channels_redis opens a connection per concurrent send.
        limit = asyncio.Semaphore(_CONCURRENCY)

        async def send(group: str, message: dict[str, Any]) -> None:
            async with limit:
                await layer.group_send(group, message)

        sends: list[Coroutine[Any, Any, None]] = []
        by_cluster: dict[str, list[dict[str, Any]]] = {}
        for message in messages:
            fields = {key: value for key, value in message.items() if key != "type"}
            by_cluster.setdefault(message["cluster"], []).append(fields)
        # A batch holds one cluster's pods: a page filtered by cluster skips others' at once.
        for pods in by_cluster.values():
            for start in range(0, len(pods), _BATCH):
                batch = {"type": "pod.changed", "pods": pods[start : start + _BATCH]}
                sends.append(send(all_pods_group(), batch))
        results = await asyncio.gather(*sends, return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]


_publisher: PodPublisher | None = None
_publisher_lock = threading.Lock()


def get_publisher() -> PodPublisher:
    """The process-wide publisher (one sending thread per worker process)."""
    global _publisher
    with _publisher_lock:
        if _publisher is None:
            _publisher = PodPublisher()
        return _publisher
