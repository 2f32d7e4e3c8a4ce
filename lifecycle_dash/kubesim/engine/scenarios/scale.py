"""The ``scale`` scenario: up to 150,000 running pods and a steady churn of pod events.

Pods are created already bound and Running (in chunks, so the API stays responsive while they
load), grouped like ReplicaSet pods (``svc-<n>-<hash>-<suffix>``, 50 per ReplicaSet, at most
3,000 per namespace, 100 per node: the upstream scalability thresholds). The kubelet,
scheduler and controllers ignore them: one ticker (every 0.2 simulated seconds, never a timer
per pod) applies ``churn`` pod events per second, chosen with the seeded RNG:

* readiness flips (a pod goes unready, and later ready again): 1 MODIFIED each;
* container restarts (restartCount+1, new containerID, lastState terminated): 1 MODIFIED;
* replacements (graceful deletion marker with grace 0, then DELETED, then the new pod's
  ADDED): 3 events.

The spec dict is shared by all pods of a ReplicaSet (the store treats objects as read-only),
which keeps 150,000 pods within a few GB.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from lifecycle_dash.kubesim.clock import format_time
from lifecycle_dash.kubesim.deletion import request_pod_deletion
from lifecycle_dash.kubesim.engine.ids import image_id, template_hash
from lifecycle_dash.kubesim.engine.nodes import Node

if TYPE_CHECKING:
    from lifecycle_dash.kubesim.engine.simulation import Simulation

MAX_PODS = 150_000
PER_NAMESPACE = 3_000
PER_SET = 50
PER_NODE = 100
CHUNK = 2_000
TICK = 0.2
IMAGE = "registry.example/scale/app:1.0"


def scale(sim: Simulation, params: dict[str, Any]) -> None:
    """``pods=N`` running pods (default 1,000, at most 150,000) across namespaces and nodes,
    and ``churn=R`` pod events per second (default 50): readiness flips, restarts and pod
    replacements picked by one ticker."""
    pods, churn = check_params(params)
    ScaleDriver(sim, pods, churn).start()


def check_params(params: dict[str, Any]) -> tuple[int, float]:
    pods = int(params.get("pods", 1000))
    churn = float(params.get("churn", 50))
    if not 0 <= pods <= MAX_PODS:
        raise ValueError(f"pods must be between 0 and {MAX_PODS} (the per-cluster limit)")
    if churn < 0:
        raise ValueError("churn must not be negative")
    return pods, churn


class ScaleDriver:
    def __init__(self, sim: Simulation, pods: int, churn: float) -> None:
        self.sim = sim
        self.ctx = sim.ctx
        self.total = pods
        self.churn = churn
        self.keys: list[tuple[str, str, int]] = []  # (namespace, name, set index)
        self.down: list[tuple[str, str]] = []
        self.budget = 0.0
        self.events = 0
        self.loaded = False
        self.specs: dict[int, dict[str, Any]] = {}
        self.nodes = [f"node-{i + 1}" for i in range(max(1, math.ceil(pods / PER_NODE)))]
        sim.ctx.extra["scale"] = self

    def start(self) -> None:
        for node in self.nodes:
            if node not in self.ctx.nodes:
                index = int(node.split("-")[1]) - 1
                self.ctx.nodes[node] = Node(name=node, index=index, max_pods=110)
        self._load(0)

    # ---- loading -----------------------------------------------------------------------------

    def _load(self, start: int) -> None:
        end = min(self.total, start + CHUNK)
        self.ctx.bulk = True
        try:
            for i in range(start, end):
                pod = self.ctx.store.create("pods", self._pod(i // PER_SET, i))
                meta = pod["metadata"]
                self.ctx.ignored.add(meta["uid"])
                self.keys.append((meta["namespace"], meta["name"], i // PER_SET))
        finally:
            self.ctx.bulk = False
        if end < self.total:
            self.ctx.timeline.after(0, lambda: self._load(end))
            return
        self.loaded = True
        # Loading takes real time; start the churn from the clock's present instead of
        # replaying the seconds spent loading as a burst.
        self.ctx.timeline.at(self.ctx.timeline.clock.now() + timedelta(seconds=TICK), self._tick)

    def _namespace(self, index: int) -> str:
        ns = f"scale-{index // (PER_NAMESPACE // PER_SET):03d}"
        self.sim.namespace(ns)
        return ns

    def _spec(self, set_index: int) -> dict[str, Any]:
        spec = self.specs.get(set_index)
        if spec is None:
            spec = {
                "containers": [
                    {
                        "name": "app",
                        "image": IMAGE,
                        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                    }
                ],
                "nodeName": self.nodes[set_index % len(self.nodes)],
            }
            self.specs[set_index] = spec
        return spec

    def _pod(self, set_index: int, serial: int) -> dict[str, Any]:
        ns = self._namespace(set_index)
        pod_hash = template_hash(f"scale-{set_index}")
        rs = f"svc-{set_index}-{pod_hash}"
        now = format_time(self.ctx.timeline.now())
        spec = self._spec(set_index)
        node = self.ctx.nodes[spec["nodeName"]]
        ip = f"10.{64 + node.index // 256}.{node.index % 256}.{2 + serial % 250}"
        return {
            "metadata": {
                "name": f"{rs}-{self.ctx.ids.suffix()}",
                "namespace": ns,
                "labels": {"app": f"svc-{set_index}", "pod-template-hash": pod_hash},
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "ReplicaSet",
                        "name": rs,
                        "uid": f"00000000-0000-4000-8000-{set_index:012d}",
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": spec,
            "status": {
                "phase": "Running",
                "conditions": [
                    _cond("PodReadyToStartContainers", True, now),
                    _cond("Initialized", True, now),
                    _cond("Ready", True, now),
                    _cond("ContainersReady", True, now),
                    _cond("PodScheduled", True, now),
                ],
                "hostIP": node.host_ip,
                "hostIPs": [{"ip": node.host_ip}],
                "podIP": ip,
                "podIPs": [{"ip": ip}],
                "startTime": now,
                "qosClass": "Burstable",
                "containerStatuses": [
                    {
                        "name": "app",
                        "image": "registry.example/scale/app:1.0",
                        "imageID": image_id(IMAGE),
                        "containerID": self.ctx.ids.container_id(),
                        "ready": True,
                        "started": True,
                        "restartCount": 0,
                        "state": {"running": {"startedAt": now}},
                        "lastState": {},
                    }
                ],
            },
        }

    # ---- churn -------------------------------------------------------------------------------

    def _tick(self) -> None:
        self.ctx.timeline.after(TICK, self._tick)
        if not self.keys:
            return
        self.budget += self.churn * TICK
        rng = self.ctx.rng
        while self.budget >= 1:
            roll = rng.random()
            if self.down and roll < 0.3:
                self.budget -= self._set_ready(*self.down.pop(rng.randrange(len(self.down))), True)
            elif roll < 0.6:
                ns, name, _ = self.keys[rng.randrange(len(self.keys))]
                self.budget -= self._set_ready(ns, name, False)
                self.down.append((ns, name))
            elif roll < 0.9:
                self.budget -= self._restart(rng.randrange(len(self.keys)))
            else:
                self.budget -= self._replace(rng.randrange(len(self.keys)))

    def _current(self, ns: str, name: str) -> dict[str, Any] | None:
        return self.ctx.store.get("pods", ns, name)

    def _write(self, pod: dict[str, Any], status: dict[str, Any]) -> int:
        new = dict(pod)
        new["metadata"] = dict(pod["metadata"])
        new["status"] = status
        self.ctx.store.update("pods", new)
        self.events += 1
        return 1

    def _set_ready(self, ns: str, name: str, ready: bool) -> int:
        pod = self._current(ns, name)
        if pod is None:
            return 1
        now = format_time(self.ctx.timeline.now())
        value = "True" if ready else "False"
        status = dict(pod["status"])
        status["conditions"] = [
            _cond(c["type"], ready, now)
            if c["type"] in ("Ready", "ContainersReady") and c["status"] != value
            else c
            for c in status["conditions"]
        ]
        status["containerStatuses"] = [{**cs, "ready": ready} for cs in status["containerStatuses"]]
        return self._write(pod, status)

    def _restart(self, index: int) -> int:
        ns, name, _ = self.keys[index]
        pod = self._current(ns, name)
        if pod is None:
            return 1
        now = format_time(self.ctx.timeline.now())
        status = dict(pod["status"])
        old = status["containerStatuses"][0]
        code = 137 if self.ctx.rng.random() < 0.3 else 1
        status["containerStatuses"] = [
            {
                **old,
                "containerID": self.ctx.ids.container_id(),
                "restartCount": old["restartCount"] + 1,
                "state": {"running": {"startedAt": now}},
                "lastState": {
                    "terminated": {
                        "exitCode": code,
                        "reason": "OOMKilled" if code == 137 else "Error",
                        "startedAt": old["state"].get("running", {}).get("startedAt", now),
                        "finishedAt": now,
                        "containerID": old["containerID"],
                    }
                },
            }
        ]
        self.ctx.truth.record("restart", pod, "app", exit_code=code)
        return self._write(pod, status)

    def _replace(self, index: int) -> int:
        ns, name, set_index = self.keys[index]
        old = self._current(ns, name)
        if old is not None:
            # grace 0: the deletion marker (MODIFIED) and the removal (DELETED).
            request_pod_deletion(self.ctx.store, ns, name, 0)
            self.ctx.ignored.discard(old["metadata"]["uid"])
        self.ctx.bulk = True
        try:
            pod = self.ctx.store.create("pods", self._pod(set_index, index))
        finally:
            self.ctx.bulk = False
        meta = pod["metadata"]
        self.ctx.ignored.add(meta["uid"])
        self.keys[index] = (meta["namespace"], meta["name"], set_index)
        self.events += 3
        return 3


def _cond(type_: str, status: bool, now: str) -> dict[str, Any]:
    return {
        "type": type_,
        "status": "True" if status else "False",
        "lastProbeTime": None,
        "lastTransitionTime": now,
    }
