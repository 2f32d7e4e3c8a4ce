"""The process's hub: ONE channel-layer subscription for every live connection of the event
loop, fanned out in memory, and surviving a failing layer."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model

from lifecycle_dash.live import consumers
from lifecycle_dash.live import hub as hub_module
from lifecycle_dash.live.consumers import DashboardConsumer
from lifecycle_dash.live.groups import all_pods_group
from lifecycle_dash.live.hub import Changes, Hub, hub
from lifecycle_dash.live.render import PageWindow
from lifecycle_dash.live.routing import websocket_urlpatterns
from lifecycle_dash.web.filters import parse_pod_filter
from tests.lifecycle import podfactory as f
from tests.web.dashboard_factories import Feed

pytestmark = [pytest.mark.integration]


def uid(n: int) -> str:
    return f"0000b0b0-0000-4000-8000-{n:012d}"


@pytest.fixture
def viewer(transactional_db: None) -> Any:
    return get_user_model().objects.create_user(f"viewer-{uuid.uuid4().hex[:6]}")


async def _members(group: str) -> set[str]:
    layer: Any = get_channel_layer()
    async with layer.connection(layer.consistent_hash(group)) as redis:
        return {m.decode() for m in await redis.zrange(layer._group_key(group), 0, -1)}


async def _open(user: Any, path: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    communicator.scope["user"] = user
    connected, code = await communicator.connect(timeout=10)
    assert connected, code
    return communicator


async def _frame_with(communicator: WebsocketCommunicator, needle: str) -> str:
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        assert remaining > 0, f"{needle!r} not received"
        frame: str = await communicator.receive_from(timeout=remaining)
        if needle in frame:
            return frame


@pytest.mark.asyncio
async def test_a_batch_is_received_once_and_reaches_every_connection(
    viewer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = await database_sync_to_async(Feed)()
    await database_sync_to_async(feed.send)(
        ("ADDED", f.running_pod(uid=uid(1), name="web-1")),
        ("ADDED", f.running_pod(uid=uid(2), name="web-2")),
    )
    all_before = await _members(all_pods_group())
    # Every batch the hub takes from the layer about this test's cluster (other tests'
    # traffic may share the group).
    received: list[Mapping[str, Any]] = []
    dispatch = Hub._dispatch

    def counting(self: Hub, message: Mapping[str, Any]) -> None:
        if any(p.get("cluster") == feed.cluster_name for p in Changes(message).pods):
            received.append(message)
        dispatch(self, message)

    monkeypatch.setattr(Hub, "_dispatch", counting)

    wanted = [
        *[f"/ws/dashboard/?cluster={feed.cluster_name}" for _ in range(6)],
        *["/ws/dashboard/" for _ in range(6)],
        *[f"/ws/dashboard/?cluster={feed.cluster_name}&sort=restarts" for _ in range(4)],
    ]
    dashboards = [await _open(viewer, path) for path in wanted]
    for communicator in dashboards:
        await communicator.receive_from(timeout=10)  # the initial page
    elsewhere = await _open(viewer, f"/ws/dashboard/?cluster={feed.cluster_name}&namespace=x")
    await elsewhere.receive_from(timeout=10)
    timelines = [await _open(viewer, f"/ws/pods/{uid(1)}/") for _ in range(4)]
    others = [await _open(viewer, f"/ws/pods/{uid(2)}/") for _ in range(2)]

    # 23 connections, one member of the all-pods group (the hub's channel): the publisher's
    # batch is stored and received once for the process.
    assert len(await _members(all_pods_group()) - all_before) == 1
    assert hub().running
    assert len(hub().listeners) == len(dashboards) + 1 + len(timelines) + len(others)

    await database_sync_to_async(feed.send)(("MODIFIED", f.crashloop_pod(uid=uid(1), name="web-1")))
    for communicator in dashboards:
        frame = await _frame_with(communicator, "CrashLoopBackOff")
        assert f'id="pod-{uid(1)}"' in frame
    for communicator in timelines:
        assert 'id="pod-header"' in await communicator.receive_from(timeout=10)
    assert len(received) == 1
    for communicator in [elsewhere, *others]:
        assert await communicator.receive_nothing(timeout=0.3)

    for communicator in [*dashboards, elsewhere, *timelines, *others]:
        await communicator.disconnect()
    # The last one out stopped the hub and took its channel out of the group.
    assert not hub().running
    assert hub().listeners == {}
    assert await _members(all_pods_group()) == all_before


@pytest.mark.asyncio
async def test_open_dashboards_catch_up_after_the_hub_lost_batches(viewer: Any) -> None:
    feed = await database_sync_to_async(Feed)()
    communicator = await _open(viewer, f"/ws/dashboard/?cluster={feed.cluster_name}")
    assert "No pods match" in await communicator.receive_from(timeout=10)
    # A change published while the hub was not receiving (Redis restarting, say)...
    await database_sync_to_async(feed.send)(("ADDED", f.running_pod(uid=uid(3), name="a")))
    await _frame_with(communicator, f'id="pod-{uid(3)}"')
    # ...is caught up by a whole page once the hub is back.
    hub()._dispatch_missed()
    frame = await _frame_with(communicator, '<tbody id="pod-rows" hx-swap-oob="outerHTML">')
    assert f'id="pod-{uid(3)}"' in frame
    await communicator.disconnect()
    assert not hub().running


class _Recorder:
    def __init__(self) -> None:
        self.uids: list[str] = []
        self.missed = 0
        self.got = asyncio.Event()

    def hub_changed(self, changes: Changes) -> None:
        self.uids.extend(sorted(changes.uids))
        self.got.set()

    def hub_missed(self) -> None:
        self.missed += 1


class _Broken:
    def hub_changed(self, changes: Changes) -> None:
        raise RuntimeError("a connection's bug")

    def hub_missed(self) -> None:
        raise RuntimeError("a connection's bug")


class _FlakyLayer:
    """The real layer, whose receive fails ``failures`` times (Redis going away)."""

    def __init__(self, failures: int) -> None:
        self.layer: Any = get_channel_layer()
        self.failures = failures
        self.receives = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.layer, name)

    async def receive(self, channel: str) -> dict[str, Any]:
        self.receives += 1
        if self.failures:
            self.failures -= 1
            raise ConnectionError("Connection reset by peer")
        message: dict[str, Any] = await self.layer.receive(channel)
        return message


@pytest.mark.asyncio
async def test_the_hub_survives_a_failing_layer_and_keeps_delivering() -> None:
    layer = _FlakyLayer(failures=2)
    group = f"hubtest.{uuid.uuid4().hex[:8]}"
    subject = Hub(layer, group=group)
    recorder, broken = _Recorder(), _Broken()
    await subject.join(broken)
    await subject.join(recorder)
    # Joined again after backing off, and told the connections they may have missed batches.
    for _ in range(100):
        if recorder.missed:
            break
        await asyncio.sleep(0.05)
    assert subject.failures == 2
    assert recorder.missed == 1

    await layer.group_send(group, {"type": "pod.changed", "pods": [{"uid": "u-1"}]})
    await layer.group_send(group, {"type": "other.kind"})  # not a batch: ignored
    await layer.group_send(group, {"type": "pod.changed", "uid": "u-2", "cluster": "c"})
    await asyncio.wait_for(recorder.got.wait(), 5)
    for _ in range(100):
        if len(recorder.uids) == 2:
            break
        await asyncio.sleep(0.02)
    # A connection that raises costs the others nothing.
    assert recorder.uids == ["u-1", "u-2"]
    assert subject.received == 3

    await subject.leave(recorder)
    assert subject.running  # one listener left
    await subject.leave(broken)
    assert not subject.running
    assert await _members(group) == set()


@pytest.mark.asyncio
async def test_a_join_while_the_layer_is_down_fails_and_leaves_nothing_running() -> None:
    subject = Hub(_FlakyLayer(failures=10**6), group=f"hubtest.{uuid.uuid4().hex[:8]}")

    class Down(Exception):
        pass

    async def group_add(group: str, channel: str) -> None:
        raise Down("Redis is down")

    subject.layer.group_add = group_add
    recorder = _Recorder()
    with pytest.raises(Exception, match="could not be joined"):
        await subject.join(recorder, timeout=0.5)
    assert not subject.running
    assert subject.listeners == {}


class _Query(dict[str, list[str]]):
    def getlist(self, name: str) -> list[str]:
        return self.get(name, [])


def test_dashboards_on_the_same_page_share_one_prefilter_per_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    taken: dict[Any, set[str]] = {}

    class Rounds:
        def add(self, connection: Any, uids: set[str]) -> None:
            taken[connection] = set(uids)

    monkeypatch.setattr(consumers, "rounds", Rounds)
    calls = 0
    may_concern = consumers._may_concern

    def counted(fields: Mapping[str, Any], pod_filter: Any) -> bool:
        nonlocal calls
        calls += 1
        return may_concern(fields, pod_filter)

    monkeypatch.setattr(consumers, "_may_concern", counted)
    pages = [{}, {"namespace": ["ns-1"]}, {"sort": ["restarts"]}, {"sort": ["age"]}]
    dashboards: list[DashboardConsumer] = []
    for i in range(40):
        window = PageWindow(parse_pod_filter(_Query(pages[i % 4])))
        window.cluster_ids = {"c": 1}
        window.clusters_key = frozenset(window.cluster_ids.items())
        # Two pages per filter: the first, and one that shows other rows.
        first = i % 8 < 4
        names = range(0, 10) if first else range(10, 20)
        window.uids = [f"u{n}" for n in names]
        window.keys = [(1, f"ns-{n % 3}", f"pod-{n:03}") for n in names]
        window.upper = window.keys[-1]
        window.lower = None if first else (1, "ns-0", "pod-009")
        dashboard = DashboardConsumer()
        dashboard.window = window
        dashboards.append(dashboard)
    pods = [
        {
            "uid": f"u{n}",
            "cluster": "c",
            "namespace": f"ns-{n % 3}",
            "name": f"pod-{n:03}",
            "status": "Running",
            "restarts": n % 4,
            "deleted": n % 7 == 0,
        }
        for n in range(0, 40, 3)
    ]
    changes = Changes({"type": "pod.changed", "pods": pods})
    for dashboard in dashboards:
        dashboard.hub_changed(changes)

    # Eight distinct (filter, page) pairs among 40 dashboards: eight passes over the batch.
    assert calls == 8 * len(pods)
    # Each dashboard takes what it would have taken checking every pod on its own.
    for dashboard in dashboards:
        own = dashboard.window
        assert own is not None
        alone = {
            str(p["uid"])
            for p in pods
            if p["uid"] in own.uids or (may_concern(p, own.pod_filter) and own.may_show(p))
        }
        assert taken[dashboard] == alone
    assert any(taken.values())


class _SwallowingLayer(_FlakyLayer):
    """The real layer, whose receive answers its first cancellation with a message instead of
    raising CancelledError (as a library racing a reply against the cancel can)."""

    def __init__(self) -> None:
        super().__init__(failures=0)
        self.swallowed = 0

    async def receive(self, channel: str) -> dict[str, Any]:
        try:
            return await super().receive(channel)
        except asyncio.CancelledError:
            if self.swallowed:
                raise
            self.swallowed += 1
            return {"type": "pod.changed", "pods": [{"uid": "u-late"}]}


@pytest.mark.asyncio
async def test_a_hub_stops_even_when_the_layer_swallows_its_cancellation() -> None:
    layer = _SwallowingLayer()
    group = f"hubtest.{uuid.uuid4().hex[:8]}"
    subject = Hub(layer, group=group)
    recorder = _Recorder()
    await subject.join(recorder)
    await asyncio.sleep(0.05)  # the hub is inside receive()

    await asyncio.wait_for(subject.leave(recorder), 3)

    assert layer.swallowed == 1
    assert not subject.running
    assert layer.receives == 1  # it did not go back to receiving
    assert await _members(group) == set()


class _StuckLayer(_FlakyLayer):
    """The real layer, whose first receive does not end until released, cancelled or not (a
    Redis that stopped answering, under a library that shields its reads)."""

    def __init__(self) -> None:
        super().__init__(failures=0)
        self.release = asyncio.Event()

    async def receive(self, channel: str) -> dict[str, Any]:
        if self.receives:
            return await super().receive(channel)
        self.receives += 1
        while not self.release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await self.release.wait()
        raise ConnectionError("gone")


@pytest.mark.asyncio
async def test_leaving_a_stuck_hub_returns_and_the_next_join_takes_a_new_channel(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(hub_module, "STOP_TIMEOUT_SECONDS", 0.2)
    layer = _StuckLayer()
    group = f"hubtest.{uuid.uuid4().hex[:8]}"
    subject = Hub(layer, group=group)
    first = _Recorder()
    await subject.join(first)
    stuck_channel = subject.channel
    await asyncio.sleep(0.05)

    await asyncio.wait_for(subject.leave(first), 3)
    assert "did not stop" in caplog.text

    second = _Recorder()
    await subject.join(second)
    assert subject.channel not in (None, stuck_channel)
    assert await _members(group) == {stuck_channel, subject.channel}
    # Once the stuck receive ends, its task leaves with its own channel, not the new one.
    layer.release.set()
    for _ in range(100):
        if await _members(group) == {subject.channel}:
            break
        await asyncio.sleep(0.02)
    assert await _members(group) == {subject.channel}
    # ... and leaves the running task's readiness alone: a join still returns at once.
    third = _Recorder()
    await subject.join(third, timeout=1)
    await subject.leave(second)
    await subject.leave(third)
    assert await _members(group) == set()
