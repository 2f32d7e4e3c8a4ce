from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.ingest.watch.sim import Simulator
from tests.support.processes import free_port, port_open, running, wait_until


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Simulator]:
    simulator = Simulator(tmp_path)
    yield simulator
    simulator.stop()


def make_cluster(sim: Simulator, *, name: str = "sim", token: str | None = None, **fields):
    """A Cluster row pointing at the simulator (optionally with a wrong token)."""
    import json

    from lifecycle_dash.ingest.models import Cluster

    config = json.loads(sim.kubeconfig)
    if token is not None:
        config["users"][0]["user"]["token"] = token
    cluster = Cluster(name=name, source=Cluster.Source.SIMULATOR, **fields)
    cluster.set_kubeconfig(json.dumps(config))
    cluster.save()
    return cluster


def redis_command(port: int) -> list[str]:
    return ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"]


@pytest.fixture
def watch_env(stack_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """The stack's environment with a Redis of the test's own: no other process on this
    machine consumes its "watch" queue, and the test may restart it."""
    port = free_port()
    env = {**stack_env, "REDIS_URL": f"redis://127.0.0.1:{port}/0", "TEST_REDIS_PORT": str(port)}
    with running(redis_command(port), env=env, name=f"watch-redis-{port}"):
        assert wait_until(lambda: port_open(port), timeout=10)
        yield env


def beat_command(interval: float, options: Mapping[str, object]) -> list[str]:
    """The supervisor every ``interval`` s in its own process (see ``beat.py``)."""
    import json
    import sys

    return [sys.executable, "-m", "tests.ingest.watch.beat", str(interval), json.dumps(options)]
