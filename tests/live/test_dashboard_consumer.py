"""The dashboard consumer over the real channel layer (Redis), fed by the real ingest path:
pod JSON -> processor -> one transaction -> ``pod.changed`` published after commit."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from lifecycle_dash.live import render
from lifecycle_dash.live.consumers import DashboardConsumer
from lifecycle_dash.live.render import PageWindow
from lifecycle_dash.web.filters import parse_pod_filter
from tests.lifecycle import podfactory as f
from tests.web.dashboard_factories import Feed

pytestmark = [pytest.mark.integration]


def uid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


async def connect(user: Any, query: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(DashboardConsumer.as_asgi(), f"/ws/dashboard/?{query}")
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    assert connected, code
    return communicator


async def frames_until(communicator: WebsocketCommunicator, needle: str, timeout: float = 5) -> str:
    """Frames received until one contains ``needle`` (all of them, joined)."""
    received: list[str] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        assert remaining > 0, f"{needle!r} not received; got {received!r}"
        frame = await communicator.receive_from(timeout=remaining)
        received.append(frame)
        if needle in frame:
            return "".join(received)


@pytest.fixture
def viewer(transactional_db: None) -> Any:
    return get_user_model().objects.create_user(f"viewer-{uuid.uuid4().hex[:6]}")


@pytest.mark.asyncio
async def test_anonymous_dashboards_are_refused_with_4401() -> None:
    communicator = WebsocketCommunicator(DashboardConsumer.as_asgi(), "/ws/dashboard/")
    communicator.scope["user"] = AnonymousUser()
    assert await communicator.connect() == (False, 4401)


@pytest.mark.asyncio
async def test_an_invalid_filter_closes_with_4400(viewer) -> None:
    communicator = WebsocketCommunicator(
        DashboardConsumer.as_asgi(), "/ws/dashboard/?selector=app%20in%20("
    )
    communicator.scope["user"] = viewer
    assert await communicator.connect() == (False, 4400)


@pytest.mark.asyncio
async def test_connecting_sends_the_current_page_and_counts(viewer) -> None:
    feed = await database_sync_to_async(Feed)()
    await database_sync_to_async(feed.send)(
        ("ADDED", f.running_pod(uid=uid(1), name="web-1")),
        ("ADDED", f.crashloop_pod(uid=uid(2), name="web-2")),
    )
    communicator = await connect(viewer, f"cluster={feed.cluster_name}")
    frame = await communicator.receive_from(timeout=5)
    # The whole tbody is replaced: how a reconnecting browser catches up.
    assert '<tbody id="pod-rows" hx-swap-oob="outerHTML">' in frame
    assert frame.index(f'id="pod-{uid(1)}"') < frame.index(f'id="pod-{uid(2)}"')
    assert '<nav id="counts"' in frame
    assert 'hx-swap-oob="true"' in frame
    assert re.search(r'CrashLoopBackOff</span> <span class="chip-n">1<', frame)
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_pods_appear_update_in_place_and_leave_live(viewer) -> None:
    feed = await database_sync_to_async(Feed)()
    web_b = f.running_pod(uid=uid(2), name="web-b")
    await database_sync_to_async(feed.send)(("ADDED", web_b))
    communicator = await connect(viewer, f"cluster={feed.cluster_name}")
    await communicator.receive_from(timeout=5)

    # A new pod that sorts first is inserted before the existing row, inside a <template>.
    web_a = f.pending_unscheduled_pod(uid=uid(1), name="web-a")
    await database_sync_to_async(feed.send)(("ADDED", web_a))
    frame = await frames_until(communicator, f'id="pod-{uid(1)}"')
    assert (
        f'<template><tbody hx-swap-oob="beforebegin:#pod-{uid(2)}"><tr id="pod-{uid(1)}"' in frame
    )

    # A change replaces the row in place.
    await database_sync_to_async(feed.send)(("MODIFIED", f.crashloop_pod(uid=uid(2), name="web-b")))
    frame = await frames_until(communicator, "CrashLoopBackOff")
    assert f'<template><tr id="pod-{uid(2)}" hx-swap-oob="outerHTML" class="pod sev-bad' in frame

    # Terminating, then deleted: the row shows Terminating, then leaves.
    terminating = f.terminating_pod(uid=uid(1), name="web-a", node="node-a-1")
    await database_sync_to_async(feed.send)(("MODIFIED", terminating))
    frame = await frames_until(communicator, "Terminating")
    await database_sync_to_async(feed.send)(("DELETED", f.evolve(terminating, lambda p: None)))
    frame = await frames_until(communicator, "delete")
    assert f'<template><tr id="pod-{uid(1)}" hx-swap-oob="delete"></tr></template>' in frame
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_deleted_pods_grey_out_when_the_page_shows_them(viewer) -> None:
    feed = await database_sync_to_async(Feed)()
    pod = f.running_pod(uid=uid(1), name="web-1")
    await database_sync_to_async(feed.send)(("ADDED", pod))
    communicator = await connect(viewer, f"cluster={feed.cluster_name}&deleted=1")
    await communicator.receive_from(timeout=5)
    await database_sync_to_async(feed.send)(("DELETED", f.evolve(pod, lambda p: None)))
    frame = await frames_until(communicator, "is-deleted")
    assert f'<tr id="pod-{uid(1)}" hx-swap-oob="outerHTML" class="pod sev-gone is-deleted"' in frame
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_a_burst_of_changes_is_coalesced_into_few_frames(viewer) -> None:
    feed = await database_sync_to_async(Feed)()
    communicator = await connect(viewer, f"cluster={feed.cluster_name}")
    assert "No pods match" in await communicator.receive_from(timeout=5)
    # 25 pods: the publisher sends each message to three groups at once, and more than ~100
    # concurrent sends exhaust the channel layer's Redis connections (reported to ingest).
    pods = [("ADDED", f.running_pod(uid=uid(i), name=f"web-{i:02}")) for i in range(25)]
    await database_sync_to_async(feed.send)(*pods)
    frames: list[str] = []
    while sum(len(re.findall(r'<tr id="pod-0000', x)) for x in frames) < 25:
        frames.append(await communicator.receive_from(timeout=15))
    # 25 messages, at most one frame per 100 ms: a few frames (the messages straddle windows,
    # more of them on a loaded machine), never one per message.
    assert len(frames) <= 8
    assert 'id="pod-empty" hx-swap-oob="delete"' in frames[0]
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_pods_outside_the_filter_send_nothing(viewer) -> None:
    feed = await database_sync_to_async(Feed)()
    communicator = await connect(viewer, f"cluster={feed.cluster_name}&namespace=other")
    await communicator.receive_from(timeout=5)
    await database_sync_to_async(feed.send)(("ADDED", f.running_pod(uid=uid(1), name="web-1")))
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_churn_beyond_a_full_page_costs_nothing(viewer) -> None:
    feed = await database_sync_to_async(Feed)()
    await database_sync_to_async(feed.send)(
        *[("ADDED", f.running_pod(uid=uid(i), name=f"web-{i:02}")) for i in range(12)]
    )
    communicator = await connect(viewer, f"cluster={feed.cluster_name}&limit=10")
    await communicator.receive_from(timeout=5)
    # web-11 sorts after the page's last row (web-09): dropped from the message alone.
    await database_sync_to_async(feed.send)(
        ("MODIFIED", f.crashloop_pod(uid=uid(11), name="web-11"))
    )
    assert await communicator.receive_nothing(timeout=0.5)
    # web-05 is on the page: updated in place.
    await database_sync_to_async(feed.send)(
        ("MODIFIED", f.crashloop_pod(uid=uid(5), name="web-05"))
    )
    frame = await frames_until(communicator, "CrashLoopBackOff")
    assert f'<tr id="pod-{uid(5)}" hx-swap-oob="outerHTML"' in frame
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_counts_follow_the_changes(viewer, monkeypatch) -> None:
    monkeypatch.setattr(render, "COUNTS_INTERVAL", 0.0)
    feed = await database_sync_to_async(Feed)()
    communicator = await connect(viewer, f"cluster={feed.cluster_name}")
    await communicator.receive_from(timeout=5)
    await database_sync_to_async(feed.send)(("ADDED", f.crashloop_pod(uid=uid(1), name="a-1")))
    frame = await frames_until(communicator, 'id="counts"')
    assert re.search(r'CrashLoopBackOff</span> <span class="chip-n">1<', frame)
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_counts_skipped_by_the_interval_arrive_when_it_ends(viewer, monkeypatch) -> None:
    monkeypatch.setattr(render, "COUNTS_INTERVAL", 1.0)
    feed = await database_sync_to_async(Feed)()
    communicator = await connect(viewer, f"cluster={feed.cluster_name}")
    await communicator.receive_from(timeout=5)
    await database_sync_to_async(feed.send)(("ADDED", f.crashloop_pod(uid=uid(1), name="a-1")))
    # Within the interval: the row comes at once, without counts ...
    first = await frames_until(communicator, f'id="pod-{uid(1)}"')
    assert 'id="counts"' not in first
    # ... and the counts follow on their own once it ends, with no further change.
    later = await frames_until(communicator, 'id="counts"', timeout=3)
    assert re.search(r'CrashLoopBackOff</span> <span class="chip-n">1<', later)
    await communicator.disconnect()


def test_a_batch_costs_one_query_and_counts_at_most_one_more(
    transactional_db, django_assert_num_queries
) -> None:
    feed = Feed()
    feed.send(*[("ADDED", f.running_pod(uid=uid(i), name=f"web-{i:02}")) for i in range(20)])
    window = PageWindow(parse_pod_filter({"cluster": feed.cluster_name}))
    now = datetime.now(UTC)
    with django_assert_num_queries(2):  # cluster ids, page
        window.load(now=now)
    window.counts(now=now, force=True)
    changed = {uid(i) for i in range(0, 20, 2)} | {uid(99)}
    with django_assert_num_queries(1):
        frame = window.batch(changed, now=now)
    assert frame.count('hx-swap-oob="outerHTML"') == 10
    # Due for this connection and not cached for the process: one GROUP BY more.
    window.counts_due_at = 0
    render._counts_cache.clear()
    render._counts_due.clear()
    with django_assert_num_queries(2):
        assert 'id="counts"' in window.batch(changed, now=now)
