"""A consumer daphne cancels (stuck past its close timeout) is uncounted and leaves its groups."""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

import psycopg
import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.db import connection

from lifecycle_dash.live.connections import open_websockets
from lifecycle_dash.live.consumers import DashboardConsumer
from lifecycle_dash.live.groups import all_pods_group

pytestmark = [pytest.mark.integration]


@pytest.fixture
def viewer(transactional_db: None) -> Any:
    return get_user_model().objects.create_user(f"viewer-{uuid.uuid4().hex[:6]}")


def _database_url() -> str:
    settings = connection.settings_dict
    return (
        f"host={settings['HOST'] or '127.0.0.1'} port={settings['PORT'] or 5432} "
        f"user={settings['USER']} dbname={settings['NAME']}"
        + (f" password={settings['PASSWORD']}" if settings["PASSWORD"] else "")
    )


def _stacks() -> str:
    """Every task of the loop with where it waits."""
    out = io.StringIO()
    for task in asyncio.all_tasks():
        out.write(f"\n{task!r}\n")
        task.print_stack(file=out)
    return out.getvalue()


async def _members(group: str) -> set[str]:
    layer: Any = get_channel_layer()
    key = layer._group_key(group)
    async with layer.connection(layer.consistent_hash(group)) as redis:
        return {m.decode() for m in await redis.zrange(key, 0, -1)}


@pytest.mark.asyncio
async def test_an_instance_cancelled_while_reading_its_page_is_uncounted_and_leaves_its_group(
    viewer: Any,
) -> None:
    before = open_websockets().get("dashboard", 0)
    members_before = await _members(all_pods_group())
    # A database too busy to answer: the page read waits on a lock held elsewhere.
    blocker = await psycopg.AsyncConnection.connect(_database_url())
    await blocker.execute("LOCK TABLE ingest_pod IN ACCESS EXCLUSIVE MODE")
    try:
        communicator = WebsocketCommunicator(DashboardConsumer.as_asgi(), "/ws/dashboard/")
        communicator.scope["user"] = viewer
        connected, _ = await communicator.connect(timeout=10)
        assert connected
        assert open_websockets()["dashboard"] == before + 1
        assert len(await _members(all_pods_group()) - members_before) == 1
        # The client is gone and the instance is still stuck in connect(): daphne cancels it
        # after --application-close-timeout, so disconnect() is never dispatched.
        communicator.future.cancel()
        # Bounded: a cleanup that hangs fails here, naming what it waits on, not at the
        # suite's timeout.
        await asyncio.wait([communicator.future], timeout=20)
        assert communicator.future.done(), _stacks()
        with pytest.raises(asyncio.CancelledError):
            await communicator.future
        assert open_websockets().get("dashboard", 0) == before
        assert await _members(all_pods_group()) == members_before, _stacks()
    finally:
        await blocker.rollback()
        await blocker.close()
