from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ingest.watch.sim import Simulator


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
