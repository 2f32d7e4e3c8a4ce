"""kubesim's scenario engine: simulated scheduler, kubelet, endpoint and workload controllers,
event recorders, ground truth, and the named scenarios.

``Simulation(store, clock, scenario=..., seed=..., truth_path=..., **options)`` and
``SCENARIOS`` (name -> description). Pod behaviour annotations: docs/kubesim-annotations.md.
"""

from __future__ import annotations

from lifecycle_dash.kubesim.engine.scenarios import SCENARIOS
from lifecycle_dash.kubesim.engine.simulation import Simulation

__all__ = ["SCENARIOS", "Simulation"]
