from __future__ import annotations

import uuid

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from lifecycle_dash.live.consumers import DashboardConsumer


@pytest.mark.asyncio
@pytest.mark.integration
async def test_a_group_message_round_trips_through_redis() -> None:
    layer = get_channel_layer()
    assert type(layer).__module__.startswith("channels_redis")
    channel = await layer.new_channel()
    group = f"test.{uuid.uuid4().hex}"
    await layer.group_add(group, channel)
    await layer.group_send(group, {"type": "pod.changed", "uid": "abc"})
    message = await layer.receive(channel)
    assert message == {"type": "pod.changed", "uid": "abc"}
    await layer.group_discard(group, channel)


@pytest.mark.asyncio
async def test_anonymous_websocket_connections_are_refused() -> None:
    communicator = WebsocketCommunicator(DashboardConsumer.as_asgi(), "/ws/dashboard/")
    communicator.scope["user"] = AnonymousUser()
    connected, code = await communicator.connect()
    assert not connected
    assert code == 4401


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_open_dashboards_are_counted_for_metrics_and_refusals_are_not() -> None:
    from channels.db import database_sync_to_async
    from django.contrib.auth import get_user_model

    from lifecycle_dash.live.connections import open_websockets

    before = open_websockets().get("dashboard", 0)
    refused = WebsocketCommunicator(DashboardConsumer.as_asgi(), "/ws/dashboard/")
    refused.scope["user"] = AnonymousUser()
    assert not (await refused.connect())[0]
    user = await database_sync_to_async(get_user_model().objects.create_user)("viewer")
    communicator = WebsocketCommunicator(DashboardConsumer.as_asgi(), "/ws/dashboard/")
    communicator.scope["user"] = user
    assert (await communicator.connect())[0]
    assert open_websockets()["dashboard"] == before + 1
    await communicator.disconnect()
    assert open_websockets()["dashboard"] == before
