from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kubesim.schema import invalid_served
from tests.kubesim.simulator import RunningSimulator


def _validated(simulator: RunningSimulator) -> Iterator[RunningSimulator]:
    try:
        yield simulator
        problems = invalid_served(simulator.served)
    finally:
        simulator.close()
    assert problems == [], "served objects failing strict Kubernetes schema validation"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[RunningSimulator]:
    """A running simulator; at teardown every object it served must validate strictly."""
    yield from _validated(RunningSimulator(tmp_path))


@pytest.fixture
def fast_sim(tmp_path: Path) -> Iterator[RunningSimulator]:
    """The same, with simulated time running 60 times faster (for scenario runs)."""
    yield from _validated(RunningSimulator(tmp_path, speed=60.0))


@pytest.fixture
def kubectl_env(sim: RunningSimulator, tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    return {"KUBECONFIG": str(sim.kubeconfig), "HOME": str(home), "PATH": "/usr/bin:/bin"}
