"""Faults on demand, through the control endpoint a test harness or an operator would use."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import orjson
import pytest

from tests.kubesim.rawwatch import RawWatch, StreamCut
from tests.kubesim.simulator import TOKEN, make_pod


def fault(sim, name: str, token: str = TOKEN, **query: object) -> dict[str, Any]:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    request = urllib.request.Request(
        f"{sim.url}/kubesim/faults/{name}?{params}",
        method="POST",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, Any] = json.loads(response.read())
    return result


def wait_for_watches(sim, count: int) -> None:
    deadline = time.monotonic() + 5
    while sim.call(lambda: sim.server.watch_count) < count:
        assert time.monotonic() < deadline, "watch did not register"
        time.sleep(0.02)


def open_watch(sim, resource_version: str) -> RawWatch:
    stream = RawWatch(
        sim.url, f"/api/v1/pods?watch=1&resourceVersion={resource_version}&timeoutSeconds=30"
    )
    wait_for_watches(sim, 1)
    return stream


def test_drop_watches_cuts_open_streams_mid_chunk(sim):
    stream = open_watch(sim, str(sim.store.resource_version))
    sim.create_pod("web-1")
    assert orjson.loads(stream.expect_line())["type"] == "ADDED"
    assert fault(sim, "drop-watches") == {"fault": "drop-watches", "watches": 1}
    with pytest.raises((StreamCut, ConnectionError)):
        stream.next_line(timeout=5)


def test_compact_makes_older_resource_versions_expire(sim):
    sim.create_pod("web-1")
    old = str(sim.store.resource_version)
    sim.create_pod("web-2")
    fault(sim, "compact")
    stream = RawWatch(sim.url, f"/api/v1/pods?watch=1&resourceVersion={old}")
    event = orjson.loads(stream.expect_line())
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410
    assert stream.next_line() is None
    assert stream.status == 200


def test_stall_holds_events_back_without_closing(sim):
    stream = open_watch(sim, str(sim.store.resource_version))
    fault(sim, "stall-watches", seconds=1.5)
    started = time.monotonic()
    sim.create_pod("web-1")
    with pytest.raises(socket.timeout):
        stream.next_line(timeout=0.8)
    event = orjson.loads(stream.expect_line(timeout=5))
    assert event["object"]["metadata"]["name"] == "web-1"
    assert time.monotonic() - started >= 1.4


def test_malformed_line_arrives_on_open_watches(sim):
    stream = open_watch(sim, str(sim.store.resource_version))
    fault(sim, "malformed-watch-line")
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(stream.expect_line())
    sim.create_pod("web-1")
    assert orjson.loads(stream.expect_line())["type"] == "ADDED"


def test_restart_closes_everything_and_reopens_on_the_same_port_with_state(sim):
    sim.create_pod("web-1")
    stream = open_watch(sim, str(sim.store.resource_version))
    fault(sim, "restart", seconds=0.5)
    with pytest.raises((StreamCut, ConnectionError)):
        stream.next_line(timeout=5)
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(f"{sim.url}/healthz", timeout=2)
    deadline = time.monotonic() + 5
    while True:
        try:
            request = urllib.request.Request(
                f"{sim.url}/api/v1/namespaces/default/pods",
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
            with urllib.request.urlopen(request, timeout=2) as response:
                pods = json.loads(response.read())
            break
        except (urllib.error.URLError, ConnectionError):
            assert time.monotonic() < deadline, "server did not come back"
            time.sleep(0.05)
    assert [p["metadata"]["name"] for p in pods["items"]] == ["web-1"]


def test_fault_endpoint_needs_the_token(sim):
    with pytest.raises(urllib.error.HTTPError) as caught:
        fault(sim, "compact", token="wrong")
    assert caught.value.code == 401


def test_unknown_fault_is_404(sim):
    with pytest.raises(urllib.error.HTTPError) as caught:
        fault(sim, "meteor-strike")
    assert caught.value.code == 404


def test_a_watch_ends_cleanly_at_its_timeout(sim):
    stream = RawWatch(sim.url, "/api/v1/pods?watch=1&timeoutSeconds=1")
    started = time.monotonic()
    assert stream.next_line(timeout=5) is None
    assert 0.9 <= time.monotonic() - started < 3


def test_watching_one_pod_by_name_ignores_the_others(sim):
    rv = sim.store.resource_version
    stream = RawWatch(
        sim.url, f"/api/v1/namespaces/default/pods/web-2?watch=1&resourceVersion={rv}"
    )
    sim.create_pod("web-1")
    sim.create_pod("web-2")
    event = orjson.loads(stream.expect_line())
    assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "web-2")


def test_a_busy_watch_still_ends_at_its_timeout(sim):
    stop = threading.Event()

    async def flood() -> None:
        i = 0
        while not stop.is_set() and i < 50_000:
            for _ in range(5):
                sim.store.create("pods", make_pod(f"flood-{i}"))
                i += 1
            await asyncio.sleep(0.01)

    producer = threading.Thread(target=sim.run, args=(flood(),), daemon=True)
    stream = RawWatch(sim.url, "/api/v1/pods?watch=1&timeoutSeconds=1&allowWatchBookmarks=1")
    started = time.monotonic()
    producer.start()
    received = []
    try:
        while (line := stream.next_line(timeout=10)) is not None:
            received.append(orjson.loads(line))
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        producer.join(10)
    assert elapsed < 4
    added = [e for e in received if e["type"] == "ADDED"]
    assert added
    assert received[-1]["type"] == "BOOKMARK"
    # The closing bookmark never claims a resourceVersion beyond the events sent before it.
    last_rv = int(received[-1]["object"]["metadata"]["resourceVersion"])
    assert last_rv >= int(added[-1]["object"]["metadata"]["resourceVersion"])


def test_state_endpoint_reports_counts_and_watches(sim):
    sim.create_pod("web-1")
    stream = open_watch(sim, str(sim.store.resource_version))
    request = urllib.request.Request(
        f"{sim.url}/kubesim/state", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        state = json.loads(response.read())
    stream.close()
    assert state["objects"]["pods"] == 1
    assert state["objects"]["namespaces"] == 4
    assert state["watches"] == 1
    assert state["resourceVersion"] == str(sim.store.resource_version)
