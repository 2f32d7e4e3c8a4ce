"""Node loss: the node lifecycle controller and the taint-eviction controller (§3.6).

When a node goes silent, nothing changes for ``node_monitor_grace`` seconds; then the node
controller marks every pod on it ``Ready=False`` (phase unchanged) with a ``NodeNotReady``
event, and the node gets the ``node.kubernetes.io/unreachable:NoExecute`` taint. The taint
manager deletes each pod once its toleration runs out (default 300 s from admission):
``TaintManagerEviction`` event, DisruptionTarget ``DeletionByTaintManager``, a graceful DELETE.
Nobody can confirm that deletion, so the pod stays terminating. The engine also sets
``status.reason: NodeLost`` (the legacy node-controller behaviour kubectl still renders as
``Unknown``; see the reference §1.2 on whether current releases write it).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from lifecycle_dash.kubesim.clock import format_time
from lifecycle_dash.kubesim.deletion import request_pod_deletion
from lifecycle_dash.kubesim.engine.context import Context
from lifecycle_dash.kubesim.engine.kubelet import Kubelet
from lifecycle_dash.kubesim.engine.nodes import Node
from lifecycle_dash.kubesim.engine.scheduler import Scheduler

UNREACHABLE = "node.kubernetes.io/unreachable"


class NodeController:
    def __init__(self, ctx: Context, kubelet: Kubelet, scheduler: Scheduler) -> None:
        self.ctx = ctx
        self.kubelet = kubelet
        self.scheduler = scheduler

    def lose(self, node: Node) -> None:
        node.lost = True
        self.kubelet.node_lost(node)
        self.ctx.timeline.after(self.ctx.options.node_monitor_grace, lambda: self._not_ready(node))

    def _not_ready(self, node: Node) -> None:
        node.ready = False
        self.scheduler.cluster_changed()
        now = format_time(self.ctx.timeline.now())
        for uid in sorted(node.pods):
            found = self.ctx.store.get_by_uid(uid)
            if found is None or found[0] != "pods":
                continue
            pod = found[1]
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            status = dict(pod.get("status") or {})
            conditions = []
            for condition in status.get("conditions") or []:
                if condition.get("type") == "Ready" and condition.get("status") != "False":
                    condition = {**condition, "status": "False", "lastTransitionTime": now}
                conditions.append(condition)
            status["conditions"] = conditions
            new = dict(pod)
            new["metadata"] = dict(pod["metadata"])
            new["status"] = status
            updated = self.ctx.store.update("pods", new)
            self.ctx.recorder.legacy(
                updated,
                type_="Warning",
                reason="NodeNotReady",
                message="Node is not ready",
                component="node-controller",
            )
            toleration = _toleration(pod)
            if toleration is not None:
                meta = pod["metadata"]
                self.ctx.timeline.after(
                    toleration, partial(self._evict, node, meta["namespace"], meta["name"], uid)
                )

    def _evict(self, node: Node, namespace: str, name: str, uid: str) -> None:
        pod = self.ctx.pod(namespace, name, uid)
        if pod is None or pod["metadata"].get("deletionTimestamp") or not node.lost:
            return
        self.ctx.recorder.legacy(
            pod,
            type_="Normal",
            reason="TaintManagerEviction",
            message=f"Marking for deletion Pod {namespace}/{name}",
            component="taint-eviction-controller",
        )
        status = dict(pod.get("status") or {})
        status["conditions"] = [
            *(c for c in status.get("conditions") or [] if c.get("type") != "DisruptionTarget"),
            {
                "type": "DisruptionTarget",
                "status": "True",
                "lastProbeTime": None,
                "lastTransitionTime": format_time(self.ctx.timeline.now()),
                "reason": "DeletionByTaintManager",
                "message": "Taint manager: deleting due to NoExecute taint",
            },
        ]
        status["reason"] = "NodeLost"
        status["message"] = f"Node {node.name} which was running pod {name} is unresponsive"
        new = dict(pod)
        new["metadata"] = dict(pod["metadata"])
        new["status"] = status
        self.ctx.store.update("pods", new)
        self.ctx.truth.record("taint_eviction", pod, None, node=node.name)
        request_pod_deletion(self.ctx.store, namespace, name)


def _toleration(pod: dict[str, Any]) -> float | None:
    """Seconds the pod tolerates the unreachable taint; None = forever."""
    for toleration in pod["spec"].get("tolerations") or []:
        if toleration.get("effect") not in (None, "", "NoExecute"):
            continue
        key = toleration.get("key")
        if key == UNREACHABLE or (key in (None, "") and toleration.get("operator") == "Exists"):
            seconds = toleration.get("tolerationSeconds")
            return None if seconds is None else float(max(0, seconds))
    return 0.0
