from __future__ import annotations

import itertools
import time
import uuid
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from lifecycle_dash.ingest.processors import processor_for
from lifecycle_dash.ingest.publish import PodPublisher, pod_message
from lifecycle_dash.live.groups import all_pods_group
from tests.ingest.conftest import at
from tests.lifecycle import podfactory as f
from tests.support.processes import wait_until


def listen() -> str:
    """A channel in the group the web processes' hubs read, as one of them."""
    layer = get_channel_layer()
    channel: str = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(all_pods_group(), channel)
    return channel


def _about(message: dict[str, Any], cluster: str) -> bool:
    return any(pod.get("cluster") == cluster for pod in message.get("pods", ()))


def drain(channel: str, cluster: str, *, quiet: float = 1.0) -> list[dict[str, Any]]:
    """Every message about ``cluster`` on the channel until none arrives for ``quiet`` s."""
    import asyncio

    layer = get_channel_layer()

    async def collect() -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        while True:
            try:
                got.append(await asyncio.wait_for(layer.receive(channel), quiet))
            except TimeoutError:
                return [m for m in got if _about(m, cluster)]

    return async_to_sync(collect)()


def receive(
    channel: str, count: int, cluster: str, *, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """The next ``count`` messages about ``cluster`` on the channel, each awaited up to
    ``timeout`` (other tests' pods share the group)."""
    import asyncio

    layer = get_channel_layer()

    async def collect() -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        while len(got) < count:
            found = await asyncio.wait_for(layer.receive(channel), timeout)
            if _about(found, cluster):
                got.append(found)
        return got

    return async_to_sync(collect)()


def message(uid: str, restarts: int, cluster: str = "prod-eu") -> dict[str, Any]:
    return pod_message(
        cluster=cluster,
        uid=uid,
        namespace="shop",
        name="web-1",
        status="CrashLoopBackOff",
        ready="0/1",
        restarts=restarts,
        deleted=False,
    )


@pytest.mark.integration
def test_a_pod_changing_100_times_a_second_sends_a_few_messages_and_the_last_state() -> None:
    uid = str(uuid.uuid4())
    cluster = f"burst-{uid[:8]}"
    channel = listen()
    publisher = PodPublisher(min_interval=0.25)
    # Each state's hand-over, before and after ``submit``: a loaded machine stretches the
    # burst, so what is checked is the spacing of the sends against these instants, not a
    # count that assumes the burst took one second.
    submitted: list[tuple[float, float]] = []
    try:
        for restarts in range(100):
            before = time.monotonic()
            publisher.submit([message(uid, restarts, cluster)])
            submitted.append((before, time.monotonic()))
            if restarts == 0:
                # The first state of a quiet pod goes out at once.
                assert wait_until(lambda: publisher.sent == 1, timeout=30)
            time.sleep(0.01)
        assert publisher.wait_idle(30)
        assert publisher.failed == 0
        # One message per state sent (a single pod: one batch each), all in Redis by now.
        got = receive(channel, publisher.sent, cluster)
        assert drain(channel, cluster, quiet=0.5) == []
    finally:
        publisher.close()
    sent = [m["pods"][0]["restarts"] for m in got]
    assert all(len(m["pods"]) == 1 and m["type"] == "pod.changed" for m in got)
    assert sent[0] == 0  # the first state ...
    assert sent[-1] == 99  # ... and the trailing one: the last state always reaches the page
    assert sent == sorted(set(sent))
    # At most one per 250 ms: state b was still pending when b + 1 was handed over, and it
    # went out at least 250 ms after state a, which had been handed over before a went out.
    for a, b in itertools.pairwise(sent[:-1]):
        assert submitted[b + 1][1] - submitted[a][0] >= 0.25, (a, b)
    elapsed = submitted[-1][1] - submitted[0][0]
    assert 2 <= len(got) <= elapsed / 0.25 + 2, (len(got), elapsed)


@pytest.mark.integration
def test_publishing_failures_are_counted_not_raised(settings) -> None:
    settings.CHANNEL_LAYERS = {
        **settings.CHANNEL_LAYERS,
        "down": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        },
    }
    publisher = PodPublisher(alias="down")
    try:
        assert publisher.submit([message("x", 1)]) == 1
        assert publisher.wait_idle(5)
    finally:
        publisher.close()
    assert publisher.sent == 0
    assert publisher.failed == 1


@pytest.mark.integration
@pytest.mark.django_db
def test_a_flush_publishes_one_message_per_changed_pod_after_commit(stream_for) -> None:
    uid = str(uuid.uuid4())
    stream = stream_for("pods")
    channel = listen()
    publisher = PodPublisher()
    try:
        processor = processor_for(stream=stream, publisher=publisher)
        raw = f.running_pod(uid=uid, name="web-1", resource_version="1")
        for i in range(10):

            def restart(pod: dict[str, Any], count: int = i) -> None:
                pod["status"]["containerStatuses"][0]["restartCount"] = count

            raw = f.evolve(raw, restart)
            processor.handle(event_type="MODIFIED", obj=raw, raw_size=3000, received_at=at(i))
        processor.flush(resource_version=None)
        assert publisher.wait_idle(5)
        got = drain(channel, stream.cluster.name)
    finally:
        publisher.close()
    pods = [p for m in got for p in m["pods"] if p["uid"] == uid]
    assert [(p["uid"], p["restarts"], p["cluster"]) for p in pods] == [(uid, 9, "prod-eu")]


@pytest.mark.integration
def test_dashboards_get_one_batch_per_round_not_one_message_per_pod() -> None:
    cluster = f"batch-{uuid.uuid4().hex[:8]}"
    channel = listen()
    publisher = PodPublisher(min_interval=0.25)
    uids = [str(uuid.uuid4()) for _ in range(450)]
    try:
        publisher.submit([{**message(uid, 1), "cluster": cluster} for uid in uids])
        assert publisher.wait_idle(10)
        got = drain(channel, cluster)
    finally:
        publisher.close()
    # 450 pods in batches of at most 200: three messages, every pod exactly once.
    assert len(got) == 3
    assert all(m["type"] == "pod.changed" and len(m["pods"]) <= 200 for m in got)
    assert sorted(p["uid"] for m in got for p in m["pods"]) == sorted(uids)
