"""What every simulated component shares: store, timeline, RNG, recorder, truth, nodes."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from lifecycle_dash.kubesim.engine.ids import Ids
from lifecycle_dash.kubesim.engine.nodes import Node
from lifecycle_dash.kubesim.engine.recorder import Recorder
from lifecycle_dash.kubesim.engine.timeline import Timeline
from lifecycle_dash.kubesim.engine.truth import Truth
from lifecycle_dash.kubesim.store import Store


@dataclass(slots=True)
class Options:
    # Seconds between a pod change and the EndpointSlice write (the controller's reaction).
    endpoint_delay: float = 0.5
    # node-monitor-grace-period: how long a silent node stays Ready.
    node_monitor_grace: float = 40.0
    # kubelet: seconds from seeing a bound pod to its first status write, and sandbox set-up.
    kubelet_delay: float = 0.1
    sandbox_seconds: float = 1.0
    # Seconds between a pod's termination status and the kubelet's final DELETE.
    cleanup_seconds: float = 0.5
    event_ttl: float = 3600.0
    nodes: int = 3
    node_cpu: float = 4.0
    node_memory: float = 16 * 1024.0**3


@dataclass(slots=True)
class Context:
    store: Store
    timeline: Timeline
    rng: random.Random
    ids: Ids
    recorder: Recorder
    truth: Truth
    options: Options
    nodes: dict[str, Node] = field(default_factory=dict)
    # Pods the engine does not play (the scale ticker drives them directly).
    ignored: set[str] = field(default_factory=set)
    bulk: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def pod(self, namespace: str, name: str, uid: str | None = None) -> dict[str, Any] | None:
        pod = self.store.get("pods", namespace, name)
        if pod is None or (uid is not None and pod["metadata"]["uid"] != uid):
            return None
        return pod
