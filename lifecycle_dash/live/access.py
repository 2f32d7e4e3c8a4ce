"""Access for WebSocket connections: the viewer's scope at connect, and again periodically.

A connection computes ``access_scope`` when it opens and re-reads it (the user row too: a
deactivated user or a removed superuser flag counts) every ``RECHECK_SECONDS``. When the
scope changed, the connection is closed with code 4403; the browser reconnects and the new
connection starts from a full refresh under the new scope. So a revoked grant stops a live
view within ``RECHECK_SECONDS``, and a page load or API call at once.
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

__all__ = ["FORBIDDEN", "connection_scope", "recheck_access", "stop_recheck"]

log = logging.getLogger(__name__)

# Close code of a connection the viewer may not (or no longer) hold.
FORBIDDEN = 4403


def _current_scope(user_pk: Any) -> AccessScope:
    user = get_user_model().objects.filter(pk=user_pk).first()
    return NOTHING if user is None else access_scope(user=user)


async def connection_scope(user: Any) -> AccessScope:
    scope: AccessScope = await database_sync_to_async(access_scope)(user=user)
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
            await consumer.close(code=FORBIDDEN)
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
