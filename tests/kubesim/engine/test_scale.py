"""The scale scenario: many pods, a steady churn, one ticker."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from lifecycle_dash.kubesim.clock import SimClock
from lifecycle_dash.kubesim.engine import Simulation
from lifecycle_dash.kubesim.store import Store
from tests.kubesim.engine.support import validate


async def _scale(pods: int, churn: float, sim_seconds: float, speed: float):
    clock = SimClock(speed=speed)
    store = Store(clock)
    sim = Simulation(store, clock, scenario="scale", seed=3, pods=pods, churn=churn)
    changes: list[tuple[str, dict[str, Any]]] = []
    await sim.start()
    while not (sim.ctx.extra.get("scale") and sim.ctx.extra["scale"].loaded):
        await asyncio.sleep(0.05)
    unsubscribe = store.subscribe(lambda t, k, o: changes.append((t, o)) if k == "pods" else None)
    start = clock.now()
    await asyncio.sleep(sim_seconds / speed)
    elapsed = (clock.now() - start).total_seconds()
    unsubscribe()
    pending = sim.timeline.pending
    await sim.stop()
    return store, changes, elapsed, pending


def test_it_holds_the_pods_and_produces_the_requested_event_rate():
    store, changes, elapsed, pending = asyncio.run(_scale(3000, 400, 6, 3))
    assert store.count("pods") == 3000
    rate = len(changes) / elapsed
    assert rate == pytest.approx(400, rel=0.25)
    kinds = {t for t, _ in changes}
    assert kinds == {"ADDED", "MODIFIED", "DELETED"}
    # One ticker and a few housekeeping timers, never one per pod.
    assert pending < 20


def test_churned_pods_stay_schema_valid_and_namespaces_stay_under_3000_pods():
    store, changes, _, _ = asyncio.run(_scale(7000, 300, 3, 3))
    for _, pod in changes[:300]:
        validate(pod)
    per_namespace: dict[str, int] = {}
    for pod in store.list("pods"):
        ns = pod["metadata"]["namespace"]
        per_namespace[ns] = per_namespace.get(ns, 0) + 1
    assert max(per_namespace.values()) <= 3000
    restarted = [
        pod
        for t, pod in changes
        if t == "MODIFIED" and pod["status"]["containerStatuses"][0]["restartCount"] > 0
    ]
    assert restarted
    last = restarted[0]["status"]["containerStatuses"][0]
    assert last["lastState"]["terminated"]["containerID"] != last["containerID"]


def test_the_scale_scenario_refuses_more_than_the_cluster_limit():
    with pytest.raises(ValueError, match="150000"):
        asyncio.run(_scale(150_001, 1, 1, 1))
