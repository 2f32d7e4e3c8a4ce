"""The named scenarios: ``SCENARIOS`` (name -> help text) and ``BUILDERS`` (name -> builder).

A builder runs at the simulation's start instant with the ``Simulation`` and the scenario
parameters; it creates namespaces, workloads and pods and schedules later actions with
``sim.at``. ``DEFAULT_OPTIONS`` holds the cluster options a scenario needs (e.g. one small node
for ``preemption``); explicit options given to ``Simulation`` win.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lifecycle_dash.kubesim.engine.scenarios import behaviours
from lifecycle_dash.kubesim.engine.scenarios.demo import demo
from lifecycle_dash.kubesim.engine.scenarios.scale import check_params, scale

if TYPE_CHECKING:
    from lifecycle_dash.kubesim.engine.simulation import Simulation

Builder = Callable[["Simulation", dict[str, Any]], None]

BUILDERS: dict[str, Builder] = {
    "demo": demo,
    "scale": scale,
    "none": behaviours.none,
    "sigkill": behaviours.sigkill,
    "crashloop": behaviours.crashloop,
    "oom": behaviours.oom,
    "imagepull": behaviours.imagepull,
    "init": behaviours.init,
    "sidecar": behaviours.sidecar,
    "poststart": behaviours.poststart,
    "prestop": behaviours.prestop,
    "liveness": behaviours.liveness,
    "readiness": behaviours.readiness,
    "unschedulable": behaviours.unschedulable,
    "nodeloss": behaviours.nodeloss,
    "eviction": behaviours.eviction,
    "preemption": behaviours.preemption,
    "rollout": behaviours.rollout,
    "job": behaviours.job,
}

# Parameter checks run when the Simulation is built, so a bad value fails loudly up front.
CHECKS: dict[str, Callable[[dict[str, Any]], object]] = {"scale": check_params}

# The scenario parameters each builder reads; anything else is a typo worth reporting.
PARAMS: dict[str, frozenset[str]] = {
    "demo": frozenset({"rollout_every"}),
    "scale": frozenset({"pods", "churn"}),
    "sigkill": frozenset({"delete_at"}),
    "crashloop": frozenset({"crash_after"}),
    "sidecar": frozenset({"delete_at"}),
    "prestop": frozenset({"delete_at"}),
    "nodeloss": frozenset({"lose_at"}),
    "eviction": frozenset({"evict_at"}),
    "rollout": frozenset({"rollout_at"}),
}

DEFAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "preemption": {"nodes": 1, "node_cpu": 2.0},
    "nodeloss": {"nodes": 2},
    "prestop": {"endpoint_delay": 1.0},
}


def _summary(builder: Builder) -> str:
    return " ".join((inspect.getdoc(builder) or "").split())


SCENARIOS: dict[str, str] = {name: _summary(builder) for name, builder in BUILDERS.items()}
