"""Three personas on the live WebSockets, over the real Redis channel layer, fed by the real
ingest path (pod JSON -> processor -> commit -> ``pod.changed``)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from lifecycle_dash.access.models import AccessGrant
from lifecycle_dash.ingest.models import Cluster
from lifecycle_dash.live import access as live_access
from lifecycle_dash.live.routing import websocket_urlpatterns
from tests.lifecycle import podfactory as f
from tests.web.dashboard_factories import Feed

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def uid(n: int) -> str:
    return f"acce55e5-0000-4000-8000-{n:012d}"


@dataclass
class Live:
    ours: Feed  # the cluster the member's group is granted team-a-* on
    theirs: Feed  # another cluster: nothing of it is the member's
    admin: Any
    member: Any  # group grant: team-a-* on ``ours``
    roamer: Any  # user grant: team-a-* on every cluster
    outsider: Any
    grant: AccessGrant


def _live() -> Live:
    ours, theirs = Feed(), Feed()
    users = get_user_model().objects
    tag = uuid.uuid4().hex[:6]
    admin = users.create_superuser(f"root-{tag}", "root@example.com", "pw-root-123")
    member = users.create_user(f"ana-{tag}")
    roamer = users.create_user(f"rui-{tag}")
    outsider = users.create_user(f"oscar-{tag}")
    team = Group.objects.create(name=f"team-a-{tag}")
    member.groups.add(team)
    grant = AccessGrant.objects.create(
        group=team,
        cluster=Cluster.objects.get(name=ours.cluster_name),
        namespace_pattern="team-a-*",
    )
    AccessGrant.objects.create(user=roamer, namespace_pattern="team-a-*")
    return Live(ours, theirs, admin, member, roamer, outsider, grant)


@pytest.fixture
def live() -> Live:
    return _live()


async def dashboard(user: Any, query: str = "") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        URLRouter(websocket_urlpatterns), f"/ws/dashboard/?{query}"
    )
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    assert connected, code
    return communicator


async def timeline(user: Any, pod_uid: str) -> tuple[WebsocketCommunicator, bool, Any]:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/pods/{pod_uid}/")
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    return communicator, connected, code


async def frames(communicator: WebsocketCommunicator, seconds: float) -> str:
    """Everything received within ``seconds`` (joined)."""
    received: list[str] = []
    deadline = asyncio.get_running_loop().time() + seconds
    # Never receive_from with a timeout that may expire: that cancels the application.
    while (remaining := deadline - asyncio.get_running_loop().time()) > 0:
        if not await communicator.receive_nothing(timeout=min(remaining, 0.1)):
            received.append(await communicator.receive_from(timeout=5))
    return "".join(received)


async def frames_until(communicator: WebsocketCommunicator, needle: str, timeout: float = 5) -> str:
    received: list[str] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while needle not in "".join(received):
        remaining = deadline - asyncio.get_running_loop().time()
        assert remaining > 0, f"{needle!r} not received; got {received!r}"
        received.append(await communicator.receive_from(timeout=remaining))
    return "".join(received)


async def send(feed: Feed, n: int, name: str, namespace: str) -> None:
    pod = f.running_pod(uid=uid(n), name=name, namespace=namespace)
    await database_sync_to_async(feed.send)(("ADDED", pod))


@pytest.mark.asyncio
async def test_each_persona_receives_frames_only_about_its_namespaces(live: Live) -> None:
    admin = await dashboard(live.admin)
    member = await dashboard(live.member)
    roamer = await dashboard(live.roamer)
    outsider = await dashboard(live.outsider)
    for communicator in (admin, member, roamer, outsider):
        await communicator.receive_from(timeout=5)  # the page as it is

    # Forbidden changes first: if any reached a restricted viewer, it would come first.
    await send(live.ours, 1, "bravo-web-1", "team-b-pay")
    await send(live.theirs, 2, "stage-web-2", "team-a-web")
    await send(live.theirs, 3, "delta-web-3", "team-d-ops")
    await send(live.ours, 4, "alpha-web-4", "team-a-web")

    seen = await frames_until(admin, "alpha-web-4")
    seen += await frames(admin, 0.5)
    for name in ("bravo-web-1", "stage-web-2", "delta-web-3"):
        assert name in seen

    mine = await frames_until(member, "alpha-web-4")
    mine += await frames(member, 0.5)
    for name in ("bravo-web-1", "stage-web-2", "delta-web-3", "team-b-pay", "team-d-ops"):
        assert name not in mine

    # A grant on every cluster: team-a-* wherever it is, nothing else.
    roaming = await frames_until(roamer, "alpha-web-4")
    roaming += await frames_until(roamer, "stage-web-2") if "stage-web-2" not in roaming else ""
    roaming += await frames(roamer, 0.5)
    for name in ("bravo-web-1", "delta-web-3"):
        assert name not in roaming

    assert await outsider.receive_nothing(timeout=0.5)
    for communicator in (admin, member, roamer, outsider):
        await communicator.disconnect()


@pytest.mark.asyncio
async def test_a_forbidden_change_sends_no_frame_at_all(live: Live) -> None:
    member = await dashboard(live.member, "sort=age")
    await member.receive_from(timeout=5)
    await send(live.ours, 11, "bravo-web-11", "team-b-pay")
    await send(live.theirs, 12, "stage-web-12", "team-a-web")
    # Not even a counts frame: the messages are dropped before any query or render.
    assert await member.receive_nothing(timeout=1.0)
    await member.disconnect()


@pytest.mark.asyncio
async def test_the_first_frame_and_counts_are_scoped(live: Live) -> None:
    await send(live.ours, 21, "alpha-web-21", "team-a-web")
    await send(live.ours, 22, "bravo-web-22", "team-b-pay")
    member = await dashboard(live.member, f"cluster={live.ours.cluster_name}")
    first = await member.receive_from(timeout=5)
    assert "alpha-web-21" in first
    assert "bravo-web-22" not in first
    assert '<span class="chip-label">all</span> <span class="chip-n">1</span>' in first
    outsider = await dashboard(live.outsider)
    nothing = await outsider.receive_from(timeout=5)
    assert "alpha-web-21" not in nothing
    assert "You have not been granted access to any namespace yet" in nothing
    await member.disconnect()
    await outsider.disconnect()


@pytest.mark.asyncio
async def test_the_timeline_socket_refuses_a_pod_outside_the_scope(live: Live) -> None:
    await send(live.ours, 31, "alpha-web-31", "team-a-web")
    await send(live.ours, 32, "bravo-web-32", "team-b-pay")
    await send(live.theirs, 33, "stage-web-33", "team-a-web")
    expected = {
        "admin": (True, True, True),
        "member": (True, False, False),
        "roamer": (True, False, True),
        "outsider": (False, False, False),
    }
    for persona, wanted in expected.items():
        user = getattr(live, persona)
        for n, allowed in zip((31, 32, 33), wanted, strict=True):
            communicator, connected, code = await timeline(user, uid(n))
            assert connected is allowed, (persona, n)
            if connected:
                await communicator.disconnect()
            else:
                assert code == live_access.FORBIDDEN
    # An unknown uid is refused like a forbidden one, except for whoever sees everything.
    _, connected, code = await timeline(live.member, uid(99))
    assert (connected, code) == (False, live_access.FORBIDDEN)
    communicator, connected, _ = await timeline(live.admin, uid(99))
    assert connected
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_a_revoked_grant_closes_the_live_connections(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_access, "RECHECK_SECONDS", 0.2)
    await send(live.ours, 41, "alpha-web-41", "team-a-web")
    member = await dashboard(live.member)
    await member.receive_from(timeout=5)
    pod_socket, connected, _ = await timeline(live.member, uid(41))
    assert connected
    unchanged = await dashboard(live.admin)
    await unchanged.receive_from(timeout=5)

    await database_sync_to_async(live.grant.delete)()
    for communicator in (member, pod_socket):
        while True:
            output = await communicator.receive_output(timeout=3)
            if output["type"] == "websocket.close":
                break
        # "Service restart": htmx's ws extension reconnects by itself on this code.
        assert output["code"] == live_access.SCOPE_CHANGED
    # A viewer whose access did not change stays connected.
    assert await unchanged.receive_nothing(timeout=0.5)
    await unchanged.disconnect()

    # The browser's reconnects: the dashboard comes back empty, saying why; the pod is refused.
    again = await dashboard(live.member)
    first = await again.receive_from(timeout=5)
    assert "alpha-web-41" not in first
    assert "You have not been granted access to any namespace yet" in first
    await again.disconnect()
    _, connected, code = await timeline(live.member, uid(41))
    assert (connected, code) == (False, live_access.FORBIDDEN)
