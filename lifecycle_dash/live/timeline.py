"""The timeline WebSocket (``/ws/pods/<uid>/``): live header, lanes, waterfalls and events.

The ingest publishes ``pod.changed`` batches after each commit (one message for up to 200
pods, not one per pod: at thousands of pod events per second, a Redis send per pod cost the
watch worker more than its ingest). A timeline registers with the process's hub
(``live.hub``: one channel-layer subscription per process, each batch parsed once) and picks
its uid out of each batch's set of uids, which is cheap: one lookup per batch. Changes are
coalesced (one render per ``COALESCE_SECONDS`` window, always trailing, so the last state is
sent) and rendered with the same partials as the page (``views_pod.render_live_fragments``);
htmx's ws extension swaps each fragment by its id. The zoom window comes from the connect
URL's query string (``?from=...&to=...``) and is re-read at every render, so a relative window
(``-15m``) keeps sliding. Anonymous connections are refused (close code 4401), and so is a pod
outside the viewer's namespaces (4403, also for an unknown uid unless the viewer sees every
namespace: the answer must not tell which uids exist); the scope is re-checked while open
(a change closes with 1012, and the browser's reconnect is checked again). After the hub
lost batches (the channel layer failed), the timeline re-renders.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import timezone

from lifecycle_dash.access.scope import AccessScope
from lifecycle_dash.live.access import FORBIDDEN, connection_scope, recheck_access, stop_recheck
from lifecycle_dash.live.connections import CountedConsumer
from lifecycle_dash.live.hub import Changes, HubMember
from lifecycle_dash.web.selectors_pod import pod_get
from lifecycle_dash.web.views_pod import InvalidParameter, parse_window, render_live_fragments

__all__ = ["TimelineConsumer"]

COALESCE_SECONDS = 0.2


def _render(uid: str, params: dict[str, str]) -> str | None:
    now = timezone.now()
    try:
        window = parse_window(params, now=now)
    except InvalidParameter:
        return None
    return render_live_fragments(uid=uid, window=window, now=now)


def _may_watch(uid: str, access: AccessScope) -> bool:
    """A pod not stored yet only for a viewer who sees everything: the answer must not tell
    which uids exist."""
    pod = pod_get(uid=uid)
    if pod is None:
        return access.everything
    return access.allows(cluster_id=pod.cluster_id, namespace=pod.namespace)


class TimelineConsumer(HubMember, CountedConsumer, AsyncWebsocketConsumer):  # type: ignore[misc]
    kind = "timeline"
    uid: str = ""
    params: dict[str, str]
    _pending: asyncio.Task[None] | None = None
    rechecker: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.uid = str(self.scope["url_route"]["kwargs"]["uid"])
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        self.params = {k: v[0] for k, v in query.items() if k in ("from", "to") and v}
        try:
            parse_window(self.params, now=timezone.now())
        except InvalidParameter:
            await self.close(code=4400)
            return
        access = await connection_scope(user)
        if not await database_sync_to_async(_may_watch)(self.uid, access):
            await self.close(code=FORBIDDEN)
            return
        await self.join_hub()
        await self.accept()
        self.rechecker = recheck_access(self, user_pk=user.pk, scope=access)
        self.count_open()

    async def disconnect(self, code: int) -> None:
        self.count_closed()
        await stop_recheck(self.rechecker)
        if self._pending is not None:
            self._pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pending
        await self.leave_hub()

    def hub_changed(self, changes: Changes) -> None:
        if self.uid in changes.uids:
            self._schedule()

    def hub_missed(self) -> None:
        self._schedule()

    def _schedule(self) -> None:
        # Within the window, later changes ride on the render already scheduled.
        if self._pending is None or self._pending.done():
            self._pending = asyncio.create_task(self._render_later())

    async def _render_later(self) -> None:
        await asyncio.sleep(COALESCE_SECONDS)
        # A change arriving during the render schedules the next one (trailing edge).
        self._pending = None
        html = await database_sync_to_async(_render)(self.uid, self.params)
        if html:
            await self.send(text_data=html)
