"""Access for WebSocket connections: the viewer's scope at connect, and again periodically.

A connection computes ``access_scope`` when it opens and re-reads it (the user row too: a
deactivated user or a removed superuser flag counts) every ``RECHECK_SECONDS``. When the
scope changed, the connection is closed with ``SCOPE_CHANGED`` (1012, "service restart"),
which htmx's ws extension answers by reconnecting: the new connection is checked under the
new grants and starts with a full refresh, so rows the viewer may no longer see leave the
page; a timeline the viewer may no longer see is refused (``FORBIDDEN``). A revoked grant
thus stops a live view within ``RECHECK_SECONDS``, and a page load or API call at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model

from lifecycle_dash.access.scope import NOTHING, AccessScope
from lifecycle_dash.access.selectors import RECHECK_SECONDS, access_scope

__all__ = ["FORBIDDEN", "SCOPE_CHANGED", "connection_scope", "recheck_access", "stop_recheck"]

log = logging.getLogger(__name__)

# Close code refusing a connection the viewer may not hold (final: the browser stays away).
FORBIDDEN = 4403
# Close code after the viewer's grants changed: the browser reconnects under the new ones.
SCOPE_CHANGED = 1012


def _current_scope(user_pk: Any) -> AccessScope:
    user = get_user_model().objects.filter(pk=user_pk).first()
    return NOTHING if user is None else access_scope(user=user)


async def connection_scope(user: Any) -> AccessScope:
    # Not on the one sync thread: connects arriving together check their access side by side.
    scope: AccessScope = await database_sync_to_async(access_scope, thread_sensitive=False)(
        user=user
    )
    return scope


async def _recheck(consumer: Any, user_pk: Any, scope: AccessScope, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            current = await database_sync_to_async(_current_scope)(user_pk)
        except Exception:
            log.exception("re-reading a connection's access failed; checking again later")
            continue
        if current != scope:
            await consumer.close(code=SCOPE_CHANGED)
            return


def recheck_access(
    consumer: Any, *, user_pk: Any, scope: AccessScope, interval: float | None = None
) -> asyncio.Task[None]:
    """A task closing ``consumer`` once the viewer's scope differs from ``scope``."""
    every = RECHECK_SECONDS if interval is None else interval
    return asyncio.create_task(_recheck(consumer, user_pk, scope, every))


async def stop_recheck(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
