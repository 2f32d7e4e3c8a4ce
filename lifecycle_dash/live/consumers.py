"""WebSocket consumers. Anonymous connections are refused (close code 4401).

``DashboardConsumer`` serves one dashboard page (``/ws/dashboard/?<the page's filters>``):

* connect: parse the filter (invalid -> close 4400), register with the process's hub
  (``live.hub``: one channel-layer subscription per process, fanned out in memory), and send
  the current page and counts as one frame. That frame is also how a reconnecting browser
  catches up on what it missed, and how an open one does after the hub lost batches.
* ``pod.changed`` batches (``hub_changed``): messages carry ids and a few row fields, never
  HTML. Pods that cannot concern this page (a namespace/cluster/status that does not match,
  and not shown) are dropped in memory, and so are pods whose sort key (cluster/namespace/
  name, status or restarts, from the message) lies outside the page; the rest go to the
  process's rounds (``live.batching``): one query and one render per changed row for all
  dashboards of the process, at most one round per ``COALESCE_SECONDS``, and ONE frame of
  out-of-band swaps per connection.

Access: the viewer's scope (``live.access``) is part of the connection's filter, computed at
connect and re-checked every ``RECHECK_SECONDS`` (a change closes with 1012, on which the
browser reconnects under the new grants). A message about a pod outside the scope (other
clusters included: every batch reaches every connection) is dropped on its own fields
(cluster and namespace) before any query, and the re-read applies the scope again, so such a
pod is never read nor rendered for this connection.

Cheap per connection: no channel of its own, an in-memory prefilter per batch (computed once
for all the process's dashboards on the same page: same filter and bounds), a share of one
pod query per round and a status-count query at most every ``COUNTS_INTERVAL`` seconds per
filter per process.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from lifecycle_dash.live.access import connection_scope, recheck_access, stop_recheck
from lifecycle_dash.live.batching import COALESCE_SECONDS, rounds
from lifecycle_dash.live.connections import CountedConsumer
from lifecycle_dash.live.hub import Changes, HubMember
from lifecycle_dash.live.render import PageWindow, render_frame
from lifecycle_dash.web.filters import FilterError, PodFilter, parse_pod_filter

__all__ = ["COALESCE_SECONDS", "DashboardConsumer"]


def _may_concern(fields: Mapping[str, Any], pod_filter: PodFilter) -> bool:
    """False only when the message's own fields prove the pod fails the filter."""
    if fields.get("deleted") is True and not pod_filter.include_deleted:
        return False
    cluster, namespace = fields.get("cluster"), fields.get("namespace")
    if (
        not pod_filter.access.everything
        and isinstance(cluster, str)
        and isinstance(namespace, str)
        and not pod_filter.access.allows(cluster=cluster, namespace=namespace)
    ):
        return False
    for name, wanted in (
        ("cluster", pod_filter.cluster),
        ("namespace", pod_filter.namespace),
        ("status", pod_filter.status),
        ("phase", pod_filter.phase),
    ):
        value = fields.get(name)
        if wanted and isinstance(value, str) and value != wanted:
            return False
    if pod_filter.q:
        texts = [fields.get(k) for k in ("name", "namespace", "node")]
        if all(isinstance(t, str) for t in texts) and not any(
            pod_filter.q.lower() in str(t).lower() for t in texts
        ):
            return False
    return True


class DashboardConsumer(HubMember, CountedConsumer, AsyncWebsocketConsumer):  # type: ignore[misc]
    kind = "dashboard"
    rechecker: asyncio.Task[None] | None = None
    window: PageWindow | None = None
    counter: asyncio.Task[None] | None = None
    catching_up: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        try:
            pod_filter = parse_pod_filter(_QueryLists(query))
        except FilterError:
            await self.close(code=4400)
            return
        access = await connection_scope(user)
        pod_filter = pod_filter.with_access(access)
        self.window = PageWindow(pod_filter)
        # Join before reading the page: a change between the two is then re-read, not lost.
        await self.join_hub()
        await self.accept()
        self.rechecker = recheck_access(self, user_pk=user.pk, scope=access)
        self.count_open()
        # Off the process's one sync thread: the page reads of many connections arriving at
        # once run side by side instead of queueing the sessions, access checks and rounds
        # of every other connection behind them (daphne rejects a handshake after 5 s).
        frame = await database_sync_to_async(self._initial_frame, thread_sensitive=False)()
        await self.send(text_data=frame)

    def _initial_frame(self) -> str:
        assert self.window is not None
        now = datetime.now(UTC)
        ops = self.window.load(now=now)
        counts = self.window.counts(now=now, force=True)
        return render_frame(ops, counts=counts, pod_filter=self.window.pod_filter)

    async def disconnect(self, code: int) -> None:
        self.count_closed()
        await stop_recheck(self.rechecker)
        await self.leave_hub()
        rounds().discard(self)
        for task in (self.counter, self.catching_up):
            if task is not None:
                task.cancel()

    def hub_changed(self, changes: Changes) -> None:
        window = self.window
        if window is None:
            return
        # The unshown pods that may enter the page depend on the filter and the page's bounds
        # only: the process's dashboards on the same page compute them once per batch.
        key = window.range_key()
        entering: frozenset[str] | None = changes.memo.get(key)
        if entering is None:
            pod_filter = window.pod_filter
            entering = changes.memo[key] = frozenset(
                str(fields["uid"])
                for fields in changes.pods
                if _may_concern(fields, pod_filter) and window.may_enter(fields)
            )
        # A shown pod is re-read whatever its fields say (it may have left the page).
        changed = changes.uids
        wanted = {uid for uid in window.uids if uid in changed}
        wanted.update(entering)
        rounds().add(self, wanted)

    def hub_missed(self) -> None:
        if self.catching_up is None:
            self.catching_up = asyncio.create_task(self._catch_up())

    async def _catch_up(self) -> None:
        """The whole page again, as on a reconnect: batches were lost while the hub failed."""
        try:
            frame = await database_sync_to_async(self._initial_frame, thread_sensitive=False)()
            await self.send(text_data=frame)
        finally:
            self.catching_up = None

    async def send_frame(self, frame: str) -> None:
        await self.send(text_data=frame)

    def round_done(self) -> None:
        """After this connection's frame of a round: counts a throttled batch skipped are owed."""
        window = self.window
        if window is not None and window.counts_owed and self.counter is None:
            self.counter = asyncio.create_task(self._send_owed_counts())

    async def _send_owed_counts(self) -> None:
        """After a burst, the counts catch up once their interval has passed."""
        window = self.window
        if window is None:
            return
        try:
            while window.counts_owed and window is self.window:
                await asyncio.sleep(max(0.0, window.counts_due_at - time.monotonic()))
                if rounds().waiting(self):
                    return  # the next batch carries them
                frame = await database_sync_to_async(self._owed_counts_frame)()
                if frame:
                    await self.send(text_data=frame)
        finally:
            self.counter = None

    def _owed_counts_frame(self) -> str:
        assert self.window is not None
        return self.window.owed_counts_frame(now=datetime.now(UTC))


class _QueryLists(dict[str, list[str]]):
    """``parse_qs`` output with ``QueryDict``'s ``getlist`` (repeated parameters are errors)."""

    def getlist(self, name: str) -> list[str]:
        return self.get(name, [])
