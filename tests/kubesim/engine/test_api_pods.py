"""Pods created and deleted through the API are played like scenario pods (scenario none)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from lifecycle_dash.kubesim.clock import SimClock
from lifecycle_dash.kubesim.deletion import request_pod_deletion
from lifecycle_dash.kubesim.engine import Simulation
from lifecycle_dash.kubesim.store import Store
from tests.kubesim.engine.support import container_status
from tests.support.virtual_time import run_in_virtual_time

MANIFEST = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "hello",
        "namespace": "default",
        "annotations": {
            "kubesim.lifecycle-dash.io/app.shutdown-seconds": "4",
            "kubesim.lifecycle-dash.io/app.shutdown-exit-code": "0",
        },
    },
    "spec": {
        "terminationGracePeriodSeconds": 20,
        "containers": [
            {
                "name": "app",
                "image": "nginx:1.27",
                "lifecycle": {"preStop": {"sleep": {"seconds": 3}}},
            }
        ],
    },
}


async def _play() -> tuple[Store, Simulation, list[dict[str, Any]]]:
    clock = SimClock(monotonic=asyncio.get_running_loop().time)
    store = Store(clock)
    sim = Simulation(store, clock, scenario="none", seed=1)
    history: list[tuple[str, dict[str, Any]]] = []
    store.subscribe(lambda t, k, o: history.append((t, o)) if k == "pods" else None)
    await sim.start()
    store.create("pods", MANIFEST)
    await asyncio.sleep(10)
    running = store.get("pods", "default", "hello")
    assert running is not None
    request_pod_deletion(store, "default", "hello")
    await asyncio.sleep(15)
    await sim.stop()
    return store, sim, [running, *[o for _, o in history]]


def test_a_pod_applied_through_the_api_is_scheduled_run_and_terminated():
    store, sim, (running, *history) = run_in_virtual_time(_play())
    assert running["status"]["phase"] == "Running"
    assert running["spec"]["nodeName"].startswith("node-")
    assert container_status(running, "app")["ready"] is True
    assert store.get("pods", "default", "hello") is None
    terminal = next(o for o in history if o["status"].get("phase") == "Succeeded")
    terminated = container_status(terminal, "app")["state"]["terminated"]
    assert terminated["exitCode"] == 0
    records = [(r["what"], r["offset"]) for r in sim.truth.records if r["pod"] == "hello"]
    whats = [w for w, _ in records]
    assert whats.index("prestop_start") < whats.index("prestop_end") < whats.index("sigterm")
    offsets = dict(records)
    assert offsets["sigterm"] - offsets["prestop_start"] == pytest.approx(3, abs=1e-5)
    assert offsets["exit"] - offsets["sigterm"] == pytest.approx(4, abs=1e-5)


async def _force_delete() -> tuple[Store, Simulation, list[tuple[str, dict[str, Any]]]]:
    clock = SimClock(monotonic=asyncio.get_running_loop().time)
    store = Store(clock)
    sim = Simulation(store, clock, scenario="none", seed=1)
    history: list[tuple[str, dict[str, Any]]] = []
    store.subscribe(lambda t, k, o: history.append((t, o)) if k == "pods" else None)
    await sim.start()
    manifest = {
        "metadata": {
            "name": "stubborn",
            "annotations": {"kubesim.lifecycle-dash.io/app.ignore-sigterm": "true"},
        },
        "spec": {"containers": [{"name": "app", "image": "acme/shell:1"}]},
    }
    store.create("pods", manifest)
    await asyncio.sleep(10)
    request_pod_deletion(store, "default", "stubborn", 0)
    await asyncio.sleep(10)
    await sim.stop()
    return store, sim, history


def test_a_force_deleted_pod_is_gone_at_once_but_still_killed_on_the_node():
    store, sim, history = run_in_virtual_time(_force_delete())
    assert store.get("pods", "default", "stubborn") is None
    assert [t for t, _ in history][-2:] == ["MODIFIED", "DELETED"]
    assert all(o["status"].get("phase") != "Failed" for _, o in history)
    records = {r["what"]: r["offset"] for r in sim.truth.records if r["pod"] == "stubborn"}
    assert "force_deleted" in records
    # Grace 0 becomes 1 s on the node, and SIGTERM still gets killContainer's 2 s floor.
    assert records["sigkill"] - records["sigterm"] == pytest.approx(2, abs=1e-5)
    assert records["sigterm"] == pytest.approx(records["termination_start"], abs=1e-5)
    assert records["force_deleted"] >= records["termination_start"]
