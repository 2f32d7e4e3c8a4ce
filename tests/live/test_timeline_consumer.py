from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.utils import timezone

from lifecycle_dash.ingest.models import Cluster
from lifecycle_dash.live.groups import all_pods_group
from lifecycle_dash.live.routing import websocket_urlpatterns
from lifecycle_dash.web.views_pod import TimeWindow, render_live_fragments
from tests.web import timeline_data as data

SECTIONS = ("pod-header", "pod-lanes", "pod-waterfalls", "pod-events")


def communicator_for(path: str, user: object) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    communicator.scope["user"] = user
    return communicator


async def publish(cluster: str, message: dict[str, Any]) -> None:
    """As the ingest publishes: once, to the all-pods group."""
    await get_channel_layer().group_send(all_pods_group(), message)


def make_sigkilled_pod() -> tuple[Any, data.PodStory]:
    user = get_user_model().objects.create_user(username="sre")
    cluster = Cluster.objects.create(name="prod-eu", source=Cluster.Source.SIMULATOR)
    story = data.sigkill_story()
    data.ingest_sigkill_pod(cluster, story)
    return user, story


@pytest.mark.asyncio
async def test_anonymous_timeline_connections_are_refused() -> None:
    communicator = communicator_for("/ws/pods/some-uid/", AnonymousUser())
    connected, code = await communicator.connect()
    assert not connected
    assert code == 4401


@pytest.mark.asyncio
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
async def test_a_burst_of_changes_becomes_one_frame_with_every_fragment() -> None:
    user, story = await database_sync_to_async(make_sigkilled_pod)()
    communicator = communicator_for(f"/ws/pods/{story.uid}/", user)
    connected, _ = await communicator.connect()
    assert connected
    for _ in range(3):
        # As the ingest publishes: batches for the cluster, other pods' changes among them.
        await publish(
            "prod-eu", {"type": "pod.changed", "pods": [{"uid": "another"}, {"uid": story.uid}]}
        )
        await asyncio.sleep(0.02)
    frame = await communicator.receive_from(timeout=5)
    for section in SECTIONS:
        assert f'<section id="{section}"' in frame
    assert "SIGKILLed at the end of the grace period" in frame
    # Coalesced: the burst inside the window produced that one frame only.
    assert await communicator.receive_nothing(timeout=0.6)
    await communicator.disconnect()


@pytest.mark.asyncio
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
async def test_a_zoomed_timeline_keeps_its_window_in_live_frames() -> None:
    user, story = await database_sync_to_async(make_sigkilled_pod)()
    start = story.base.strftime("%Y-%m-%dT%H:%M:%SZ")
    communicator = communicator_for(f"/ws/pods/{story.uid}/?from={start}&to=now", user)
    connected, _ = await communicator.connect()
    assert connected
    await publish("prod-eu", {"type": "pod.changed", "pods": [{"uid": story.uid}]})
    frame = await communicator.receive_from(timeout=5)
    assert f'data-start="{start}"' in frame
    await communicator.disconnect()


@pytest.mark.asyncio
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
async def test_changes_of_the_clusters_other_pods_send_nothing() -> None:
    user, story = await database_sync_to_async(make_sigkilled_pod)()
    communicator = communicator_for(f"/ws/pods/{story.uid}/", user)
    connected, _ = await communicator.connect()
    assert connected
    await publish("prod-eu", {"type": "pod.changed", "pods": [{"uid": "another-pod"}]})
    assert await communicator.receive_nothing(timeout=0.6)
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_an_invalid_window_is_refused() -> None:
    user: object = object.__new__(type("U", (), {"is_authenticated": True}))
    communicator = communicator_for("/ws/pods/some-uid/?from=yesterday", user)
    connected, code = await communicator.connect()
    assert not connected
    assert code == 4400


@pytest.mark.django_db
def test_a_live_frame_costs_a_fixed_number_of_queries(django_assert_num_queries) -> None:
    _, story = make_sigkilled_pod()
    # Pod, transitions, occurrences, event versions, endpoint observations, gaps.
    with django_assert_num_queries(6):
        html = render_live_fragments(
            uid=story.uid, window=TimeWindow(None, None), now=timezone.now()
        )
    assert html is not None
    assert (
        render_live_fragments(uid="gone", window=TimeWindow(None, None), now=timezone.now()) is None
    )


@pytest.mark.django_db
def test_a_relative_zoom_is_kept_relative_in_the_websocket_url() -> None:
    user, story = make_sigkilled_pod()
    client = Client()
    client.force_login(user)
    html = client.get(f"/pods/{story.uid}/", {"from": "-15m"}).content.decode()
    assert f'ws-connect="/ws/pods/{story.uid}/?from=-15m"' in html
