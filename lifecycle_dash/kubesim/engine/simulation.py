"""The scenario engine's entry point: wires the simulated components onto one store.

``Simulation(store, clock, scenario=..., seed=..., truth_path=..., **options)``; ``await
start()`` subscribes the controllers, scheduler, kubelet and endpoint controller to the store
(in that fixed order, which keeps runs reproducible) and plays the scenario from the current
simulated instant; ``await stop()`` cancels everything still scheduled and closes the truth log.

Options: the ``Options`` fields (``endpoint_delay``, ``node_monitor_grace``, ``nodes``,
``node_cpu``, ``event_ttl`` ...) tune the cluster; anything else goes to the scenario (e.g.
``pods`` and ``churn`` for ``scale``). Numbers may be given as strings (CLI ``key=value``).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lifecycle_dash.kubesim.clock import SimClock
from lifecycle_dash.kubesim.deletion import request_pod_deletion
from lifecycle_dash.kubesim.engine.context import Context, Options
from lifecycle_dash.kubesim.engine.controllers import Controllers
from lifecycle_dash.kubesim.engine.endpoints import EndpointController
from lifecycle_dash.kubesim.engine.ids import Ids
from lifecycle_dash.kubesim.engine.kubelet import Kubelet
from lifecycle_dash.kubesim.engine.nodecontroller import NodeController
from lifecycle_dash.kubesim.engine.nodes import Node, make_nodes
from lifecycle_dash.kubesim.engine.recorder import Recorder
from lifecycle_dash.kubesim.engine.scenarios import (
    BUILDERS,
    CHECKS,
    DEFAULT_OPTIONS,
    PARAMS,
    SCENARIOS,
)
from lifecycle_dash.kubesim.engine.scheduler import Scheduler
from lifecycle_dash.kubesim.engine.timeline import Timeline
from lifecycle_dash.kubesim.engine.truth import Truth
from lifecycle_dash.kubesim.store import Store

__all__ = ["SCENARIOS", "Simulation"]

_OPTION_FIELDS = {f.name: f for f in dataclasses.fields(Options)}


class Simulation:
    def __init__(
        self,
        store: Store,
        clock: SimClock,
        *,
        scenario: str = "demo",
        seed: int = 0,
        truth_path: Path | None = None,
        **options: Any,
    ) -> None:
        if scenario not in BUILDERS:
            known = ", ".join(sorted(SCENARIOS))
            raise ValueError(f"unknown scenario {scenario!r}; known: {known}")
        self.scenario = scenario
        self.seed = seed
        cluster_options = Options()
        self.params: dict[str, Any] = {}
        merged = {**DEFAULT_OPTIONS.get(scenario, {}), **options}
        for key, value in merged.items():
            key = key.replace("-", "_")
            if key in _OPTION_FIELDS:
                current = getattr(cluster_options, key)
                setattr(cluster_options, key, type(current)(value))
            else:
                self.params[key] = value
        unknown = set(self.params) - PARAMS.get(scenario, frozenset())
        if unknown:
            accepted = sorted(PARAMS.get(scenario, frozenset()) | set(_OPTION_FIELDS))
            raise ValueError(
                f"unknown option(s) {', '.join(sorted(unknown))} for scenario {scenario!r}; "
                f"accepted: {', '.join(accepted)}"
            )
        if scenario in CHECKS:
            CHECKS[scenario](self.params)
        self.store = store
        self.clock = clock
        self.timeline = Timeline(clock)
        rng = random.Random(seed)
        self.ctx = Context(
            store=store,
            timeline=self.timeline,
            rng=rng,
            ids=Ids(rng),
            recorder=Recorder(store, self.timeline, ttl=cluster_options.event_ttl),
            truth=Truth(self.timeline, truth_path),
            options=cluster_options,
        )
        self.controllers = Controllers(self.ctx)
        self.scheduler = Scheduler(self.ctx)
        self.kubelet = Kubelet(self.ctx)
        self.endpoints = EndpointController(self.ctx)
        self.node_controller = NodeController(self.ctx, self.kubelet, self.scheduler)
        self._unsubscribe: list[Callable[[], None]] = []
        # Fixed order: owners first, then scheduling, the kubelet, the endpoints.
        self._components = (self.controllers, self.scheduler, self.kubelet, self.endpoints)
        self.started = False

    @property
    def truth(self) -> Truth:
        return self.ctx.truth

    @property
    def nodes(self) -> dict[str, Node]:
        return self.ctx.nodes

    async def start(self) -> None:
        if self.started:
            return
        self.started = True
        for node in make_nodes(
            self.ctx.options.nodes,
            cpu=self.ctx.options.node_cpu,
            memory=self.ctx.options.node_memory,
        ):
            self.ctx.nodes[node.name] = node
        self._unsubscribe.append(self.store.subscribe(self._on_change))
        self.timeline.start()
        self.ctx.recorder.start()
        build = BUILDERS[self.scenario]
        self.timeline.at(self.timeline.origin, lambda: build(self, self.params))

    def _on_change(self, type_: str, kind: str, obj: dict[str, Any]) -> None:
        if kind != "pods" or self.ctx.bulk:
            return
        with self.timeline.instant():
            for component in self._components:
                component.on_change(type_, kind, obj)

    async def stop(self) -> None:
        self.timeline.stop()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        self.ctx.truth.close()
        self.started = False

    # ---- helpers for scenarios ---------------------------------------------------------------

    def at(self, seconds: float, action: Callable[[], object]) -> None:
        """Run ``action`` ``seconds`` after the start of the simulation."""

        def run() -> None:
            action()

        self.timeline.after(seconds - self.timeline.offset(self.timeline.now()), run)

    def namespace(self, name: str) -> None:
        if self.store.get("namespaces", None, name) is None:
            self.store.create("namespaces", {"metadata": {"name": name}})

    def create_pod(self, pod: dict[str, Any]) -> dict[str, Any]:
        self.namespace(pod["metadata"].get("namespace", "default"))
        return self.store.create("pods", pod)

    def delete_pod(self, namespace: str, name: str, grace: int | None = None) -> None:
        if self.store.get("pods", namespace, name) is not None:
            request_pod_deletion(self.store, namespace, name, grace)

    def evict(self, namespace: str, name: str, message: str | None = None) -> bool:
        pod = self.store.get("pods", namespace, name)
        if pod is None:
            return False
        return self.kubelet.evict(
            pod["metadata"]["uid"],
            message
            or "The node was low on resource: memory. Threshold quantity: 100Mi, available: "
            "52100Ki. ",
        )

    def lose_node(self, name: str) -> None:
        self.node_controller.lose(self.ctx.nodes[name])
