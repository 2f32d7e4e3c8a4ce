"""Everything the server emits must be a valid Kubernetes object, including what the scenario
engine writes through the store: the ingest side and kubectl both rely on it.

The ``sim``/``fast_sim`` fixtures validate every served object strictly at teardown; these
tests make the server serve a wide range of objects, and check the check itself.
"""

from __future__ import annotations

import threading
import time

import orjson
import pytest

from lifecycle_dash.kubesim.engine import Simulation
from tests.kubesim.rawwatch import RawWatch, StreamCut
from tests.kubesim.schema import invalid_served
from tests.kubesim.simulator import make_pod

pytestmark = pytest.mark.slow

PATHS = ["/api/v1/pods", "/api/v1/events", "/apis/discovery.k8s.io/v1/endpointslices"]


def test_the_validator_rejects_what_a_real_server_would_not_serve():
    pod = make_pod("web-1")
    pod["metadata"]["uid"] = "u"
    pod["spec"]["containers"][0]["imagePullPolicy"] = 3
    pod["status"] = {"phase": "Running", "podIp": "10.0.0.1"}
    problems = invalid_served([("pods", pod)])
    assert any("imagePullPolicy" in p for p in problems)
    assert any("podIp" in p for p in problems)


def _drain(stream: RawWatch, counts: dict[str, int], key: str) -> None:
    try:
        while (line := stream.next_line(timeout=30)) is not None:
            event = orjson.loads(line)
            counts[key] = counts.get(key, 0) + 1
            assert event["type"] in ("ADDED", "MODIFIED", "DELETED"), event
    except (StreamCut, OSError):
        pass


@pytest.mark.parametrize("scenario", ["demo", "sigkill", "init", "nodeloss", "preemption", "job"])
def test_scenario_objects_validate_strictly(fast_sim, scenario):
    streams = [RawWatch(fast_sim.url, f"{path}?watch=1&timeoutSeconds=3") for path in PATHS]
    counts: dict[str, int] = {}
    readers = [
        threading.Thread(target=_drain, args=(stream, counts, path), daemon=True)
        for stream, path in zip(streams, PATHS, strict=True)
    ]
    for reader in readers:
        reader.start()
    simulation = fast_sim.call(
        lambda: Simulation(fast_sim.store, fast_sim.clock, scenario=scenario, seed=3)
    )
    fast_sim.run(simulation.start())
    try:
        time.sleep(2.5)  # about two and a half simulated minutes
    finally:
        fast_sim.run(simulation.stop())
    for reader in readers:
        reader.join(10)
    assert counts.get("/api/v1/pods", 0) > 0
    assert counts.get("/api/v1/events", 0) > 0
